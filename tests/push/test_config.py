"""The ``[push]`` section as an admin writes it: a plain-HTTP endpoint stays on loopback unless
asked, the token is long enough to resist guessing, and the limits read as durations."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.errors import ConfigError
from syncd.settings import Settings, parse_settings
from tests.config_text import REMOTES

BASE = f"""{REMOTES}
[push]
enabled = true
"""
GOOD_TOKEN = "a-push-token-of-24-chars"


def load(tmp_path: Path, push: str, env: dict[str, str] | None = None) -> Settings:
    return parse_settings(BASE + push, tmp_path / "syncd.toml", env or {})


@pytest.mark.parametrize("listen", ["0.0.0.0:8088", "192.0.2.10:8088", "[::]:8088", "sync.example.com:80"])
def test_a_non_loopback_listen_is_refused_without_allow_remote(tmp_path: Path, listen: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f'listen = "{listen}"\ntoken = "{GOOD_TOKEN}"\n')
    message = str(err.value)
    assert f"push.listen: Value error, '{listen}' is not a loopback address" in message
    assert "push.allow_remote = true" in message


def test_a_non_loopback_listen_is_taken_when_allow_remote_says_so(tmp_path: Path) -> None:
    settings = load(tmp_path, f'listen = "0.0.0.0:8088"\nallow_remote = true\ntoken = "{GOOD_TOKEN}"\n')
    assert settings.push.listen == "0.0.0.0:8088"
    assert settings.push.allow_remote is True


@pytest.mark.parametrize("listen", ["127.0.0.1:8088", "127.0.0.2:9000", "[::1]:8088", "localhost:8088"])
def test_loopback_listens_need_no_key(tmp_path: Path, listen: str) -> None:
    assert load(tmp_path, f'listen = "{listen}"\ntoken = "{GOOD_TOKEN}"\n').push.listen == listen


@pytest.mark.parametrize("token", ["", "tiny-Secret-9", GOOD_TOKEN[:-1]])
def test_a_short_token_is_refused_naming_push_token(tmp_path: Path, token: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, f'token = "{token}"\n')
    assert "push.token: Value error, too short: at least 24 characters are required" in str(err.value)
    if token:
        assert token not in str(err.value).replace("push.token", "")


def test_a_short_token_from_the_environment_is_refused_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"push\.token: Value error, too short"):
        load(tmp_path, "", env={"SYNCD_PUSH_TOKEN": "tiny-secret"})


def test_a_24_character_token_is_enough(tmp_path: Path) -> None:
    settings = load(tmp_path, f'token = "{GOOD_TOKEN}"\n')
    assert settings.push.token is not None
    assert settings.push.token.get_secret_value() == GOOD_TOKEN


def test_limits_and_debounce_have_defaults_and_read_as_durations(tmp_path: Path) -> None:
    defaults = load(tmp_path, f'token = "{GOOD_TOKEN}"\n').push
    assert (defaults.debounce, defaults.header_timeout, defaults.body_timeout, defaults.keep_alive) == (
        5.0,
        10.0,
        30.0,
        5.0,
    )
    assert (defaults.max_connections, defaults.max_requests) == (100, 16)
    custom = load(
        tmp_path,
        f'token = "{GOOD_TOKEN}"\ndebounce = "2s"\nheader_timeout = "1500ms"\nbody_timeout = "1m"\n'
        "keep_alive = 3\nmax_connections = 10\nmax_requests = 4\n",
    ).push
    assert (custom.debounce, custom.header_timeout, custom.body_timeout, custom.keep_alive) == (
        2.0,
        1.5,
        60.0,
        3.0,
    )
    assert (custom.max_connections, custom.max_requests) == (10, 4)


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ('debounce = "soon"', "push.debounce"),
        ('header_timeout = "0s"', "push.header_timeout"),
        ("max_connections = 0", "push.max_connections"),
        ("max_requests = -1", "push.max_requests"),
    ],
)
def test_a_bad_limit_names_its_key(tmp_path: Path, line: str, where: str) -> None:
    with pytest.raises(ConfigError, match=rf"{where}: "):
        load(tmp_path, f'token = "{GOOD_TOKEN}"\n{line}\n')
