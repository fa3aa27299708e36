from __future__ import annotations

from pathlib import Path

import pytest

from syncd.errors import ConfigError
from syncd.settings import load_settings, parse_duration, parse_settings
from tests.config_text import REMOTES

GOOD = f"""{REMOTES}
[state]
path = "state.db"

[schedule]
tasks_every = "60s"
contacts_every = "15m"
full_scan_every = "24h"
"""


def parse(text: str, tmp_path: Path, env: dict[str, str] | None = None):
    return parse_settings(text, tmp_path / "syncd.toml", env or {})


def test_good_config_loads_with_defaults(tmp_path: Path) -> None:
    s = parse(GOOD, tmp_path)
    assert s.planfix.requests_per_second == 1.0
    assert s.planfix.daily_quota == 20000
    assert s.schedule.contacts_every == 900.0
    assert s.schedule.full_scan_every == 86400.0
    assert s.state.path == tmp_path / "state.db"
    assert s.sync.mappings == ["default:tasks", "default:contacts"]


def test_unknown_key_names_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse(GOOD.replace('account = "demo"', 'account = "demo"\nacount = "x"'), tmp_path)
    assert "planfix.acount: unknown key" in str(err.value)


def test_wrong_type_names_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse(GOOD + '\n[sync]\nmax_delete = "lots"\n', tmp_path)
    assert "sync.max_delete" in str(err.value)


def test_bad_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse("[planfix\n", tmp_path)


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="plain http to a non-loopback host"):
        parse(GOOD.replace("http://127.0.0.1:8701/xml/", "http://planfix.example.com/xml/"), tmp_path)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://admin:hunter22@127.0.0.1:8701/xml/", "planfix.url"),
        ("https://hunter22@planfix.example.com/xml/", "planfix.url"),
        ("https://admin:p@ss-hunter22@api.example.com", "planningpme.url"),
    ],
)
def test_a_url_with_user_info_is_refused_without_echoing_it(tmp_path: Path, url: str, key: str) -> None:
    before = "http://127.0.0.1:8701/xml/" if key == "planfix.url" else "http://127.0.0.1:8702"
    with pytest.raises(ConfigError) as caught:
        parse(GOOD.replace(before, url), tmp_path)
    message = str(caught.value)
    assert key in message and "user name or password" in message
    assert "hunter22" not in message and "admin" not in message


@pytest.mark.parametrize("key", ["max_retry_after", "max_reply_bytes"])
def test_transport_limits_have_defaults_and_can_be_set(tmp_path: Path, key: str) -> None:
    default = parse(GOOD, tmp_path).planningpme
    assert (default.max_retry_after, default.max_reply_bytes) == (3600.0, 32 * 1024 * 1024)
    value = '"10m"' if key == "max_retry_after" else "1048576"
    tuned = parse(GOOD.replace('password = "demo"', f'password = "demo"\n{key} = {value}'), tmp_path)
    assert getattr(tuned.planningpme, key) == (600.0 if key == "max_retry_after" else 1024 * 1024)


def test_secrets_from_env_file_and_credentials_dir(tmp_path: Path) -> None:
    text = (
        GOOD.replace('api_key = "demo-key"\n', 'api_key_file = "pf.key"\n')
        .replace('token = "demo-token"\n', "")
        .replace('password = "demo"\n', "")
        .replace('app_key = "demo-appkey"\n', "")
    )
    (tmp_path / "pf.key").write_text("key-from-file\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "planningpme_password").write_text("pw-from-creds")
    env = {
        "SYNCD_PLANFIX_TOKEN": "tok-from-env",
        "SYNCD_PLANNINGPME_APP_KEY": "ak",
        "CREDENTIALS_DIRECTORY": str(creds),
    }
    s = parse(text, tmp_path, env)
    assert s.planfix.api_key is not None and s.planfix.api_key.get_secret_value() == "key-from-file"
    assert s.planfix.token is not None and s.planfix.token.get_secret_value() == "tok-from-env"
    assert s.planningpme.password is not None and s.planningpme.password.get_secret_value() == "pw-from-creds"
    assert "tok-from-env" not in repr(s)


def test_missing_secret_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SYNCD_PLANFIX_TOKEN"):
        parse(GOOD.replace('token = "demo-token"\n', ""), tmp_path)


def test_bad_time_zone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown time zone"):
        parse(GOOD.replace('brand = "demo"', 'brand = "demo"\ntimezone = "Mars/Olympus"'), tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60), ("15m", 900), ("1h30m", 5400), (45, 45), ("24h", 86400)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-5s", "10 parsecs", True, 0])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
