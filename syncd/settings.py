"""The configuration file: one TOML file, validated with pydantic.

Unknown keys and wrong types are errors that name the key path (``planfix.requests_per_second``),
because a typo in a sync tool's config must never be silently ignored. Secrets come, in this order,
from the file itself, from a ``*_file`` next to the key (relative to the config file), from an
environment variable, or from ``$CREDENTIALS_DIRECTORY`` (systemd ``LoadCredential=``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator

from syncd.connectors.http import DEFAULT_MAX_REPLY_BYTES, DEFAULT_MAX_RETRY_AFTER_S
from syncd.connectors.planningpme import assumptions as pme
from syncd.errors import ConfigError
from syncd.logs import mask_url_userinfo

CONFIG_ENV = "SYNCD_CONFIG"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds from ``"90s"``, ``"15m"``, ``"1h30m"``, ``"24h"`` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '60s', '15m' or '24h'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        parts = _DURATION.findall(text)
        if not parts or _DURATION.sub("", text).strip():
            raise ValueError(f"{value!r} is not a duration; write e.g. '60s', '15m', '1h30m' or '24h'")
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    else:
        raise ValueError("expected a duration such as '60s', '15m' or '24h'")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


def is_loopback_host(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: the only hosts plain http may reach."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint_url(url: str) -> str:
    """Reject URLs that would send credentials in clear text to another host, and URLs that carry
    credentials themselves (``user:pass@``): those would be copied into every error message and
    log line that names the URL, and syncd's credentials have their own keys."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ValueError(
            f"{mask_url_userinfo(url)!r} has a user name or password in it (user:pass@); remove it "
            "and give the credentials in their own keys (or *_file, or the environment)"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(
            f"{url!r} uses plain http to a non-loopback host; use https:// "
            "(plain http is allowed only for 127.0.0.0/8 and ::1, e.g. the emulators)"
        )
    return url


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as 'Europe/Moscow'") from exc
    return name


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class PlanfixSettings(_Section):
    url: str = "https://api.planfix.com/xml/"
    account: str = Field(min_length=1)
    api_key: SecretStr | None = None
    token: SecretStr | None = None
    login: str | None = None
    password: SecretStr | None = None
    timezone: str = "Europe/Moscow"
    requests_per_second: float = Field(default=1.0, gt=0, le=50)
    daily_quota: int = Field(default=20000, gt=0)
    quota_reserve: float = Field(default=0.10, ge=0, lt=1)
    timeout: float = Field(default=30.0, gt=0)

    _url = field_validator("url")(classmethod(lambda cls, v: check_endpoint_url(v)))
    _tz = field_validator("timezone")(classmethod(lambda cls, v: _check_zone(v)))


class PlanningPmeSettings(_Section):
    url: str = "https://api.planningpme.com"
    brand: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    app_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    assertion: SecretStr | None = None
    timezone: str = "Europe/Madrid"
    requests_per_hour: int = Field(default=2000, gt=0)
    language: str = "en"
    timeout: float = Field(default=30.0, gt=0)
    max_retry_after: float = Field(default=DEFAULT_MAX_RETRY_AFTER_S, gt=0, le=DEFAULT_MAX_RETRY_AFTER_S)
    """The longest pause one ``Retry-After`` may impose; longer requests are cut to it."""
    max_reply_bytes: int = Field(default=DEFAULT_MAX_REPLY_BYTES, ge=64 * 1024, le=1024**3)
    """The largest reply body read; a larger one is refused as a protocol fault."""
    # The assumptions about the API (see syncd/connectors/planningpme/assumptions.py).
    events_path: str = pme.EVENTS_PATH
    event_list_path: str = pme.EVENT_LIST_PATH
    customers_path: str = pme.CUSTOMERS_PATH
    history_path: str = pme.HISTORY_PATH
    api_description_path: str = pme.API_DESCRIPTION_PATH
    """Where `syncd check` looks for the account's machine-readable API description ("" = nowhere)."""
    """Empty: the account has no history; every cycle reads the events and customers in full."""
    event_list_body: dict[str, Any] = Field(default_factory=lambda: dict(pme.EVENT_LIST_BODY))
    event_date_fields: list[str] = Field(default_factory=lambda: list(pme.EVENT_DATE_FIELDS))
    date_format: pme.DateFormat = pme.DATE_FORMAT
    history_types: dict[str, pme.HistoryTarget] = Field(default_factory=lambda: dict(pme.HISTORY_TYPES))
    history_ops: dict[str, pme.HistoryEffect] = Field(default_factory=lambda: dict(pme.HISTORY_OPS))

    _url = field_validator("url")(classmethod(lambda cls, v: check_endpoint_url(v)))
    _tz = field_validator("timezone")(classmethod(lambda cls, v: _check_zone(v)))
    _pause = field_validator("max_retry_after", mode="before")(classmethod(lambda cls, v: parse_duration(v)))
    _paths = field_validator("events_path", "event_list_path", "customers_path")(
        classmethod(lambda cls, v: pme.check_path(v))
    )
    _history = field_validator("history_path", "api_description_path")(
        classmethod(lambda cls, v: pme.check_path(v, allow_empty=True))
    )
    _body = field_validator("event_list_body", mode="before")(
        classmethod(lambda cls, v: pme.check_list_body(v))
    )


class StateSettings(_Section):
    path: Path = Path("state.db")
    keep_history: float = 90 * 86400.0
    """Seconds the audit log, cycle history and processed pushes are kept (``"90d"``); the
    daemon prunes older rows. Rows still needed (open intents, queued failures) stay regardless."""

    _keep = field_validator("keep_history", mode="before")(classmethod(lambda cls, v: parse_duration(v)))

    @field_validator("keep_history")
    @classmethod
    def _keep_a_minute(cls, value: float) -> float:
        # Less than a day is for tests (the soak keeps minutes); a service keeps weeks.
        if value < 60.0:
            raise ValueError("keep at least a minute of history ('1m'); the default is '90d'")
        return value


class SyncSettings(_Section):
    mappings: list[str] = Field(default_factory=lambda: ["default:tasks", "default:contacts"])
    max_delete: int = Field(default=50, ge=0)
    max_delete_percent: float = Field(default=10, ge=0, le=100)
    max_attempts: int = Field(default=8, ge=1)
    retry_backoff: float = 60.0
    retry_backoff_cap: float = 6 * 3600.0

    _backoff = field_validator("retry_backoff", "retry_backoff_cap", mode="before")(
        classmethod(lambda cls, v: parse_duration(v))
    )


class ScheduleSettings(_Section):
    tasks_every: float = 60.0
    contacts_every: float = 900.0
    full_scan_every: float = 86400.0
    jitter: float = 5.0

    _durations = field_validator("tasks_every", "contacts_every", "full_scan_every", mode="before")(
        classmethod(lambda cls, v: parse_duration(v))
    )


MIN_PUSH_TOKEN_CHARS = 24


class PushSettings(_Section):
    enabled: bool = False
    allow_remote: bool = False
    """A non-loopback ``listen`` must be asked for: the endpoint speaks plain HTTP."""
    listen: str = "127.0.0.1:8088"
    token: SecretStr | None = None
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    max_contacts: int = Field(default=1000, gt=0)
    lists: list[str] = Field(default_factory=list)
    delete_means_delete: bool = False
    debounce: float = 5.0
    """Pushes within this delay are handled by one push-triggered cycle."""
    max_connections: int = Field(default=100, gt=0, le=10_000)
    max_requests: int = Field(default=16, gt=0, le=1000)
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive: float = 5.0

    _durations = field_validator("debounce", "header_timeout", "body_timeout", "keep_alive", mode="before")(
        classmethod(lambda cls, v: parse_duration(v))
    )

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str, info: ValidationInfo) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not HOST:PORT, e.g. '127.0.0.1:8088'")
        if not info.data.get("allow_remote") and not is_loopback_host(host.strip("[]")):
            raise ValueError(
                f"{value!r} is not a loopback address; the endpoint speaks plain HTTP, so keep it on "
                "127.0.0.1 behind an HTTPS proxy, or set push.allow_remote = true to expose it"
            )
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        # Planfix sends the token in every request body: a short one could be guessed online.
        if value is not None and len(value.get_secret_value()) < MIN_PUSH_TOKEN_CHARS:
            raise ValueError(
                f"too short: at least {MIN_PUSH_TOKEN_CHARS} characters are required; make one with "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"


class Settings(_Section):
    planfix: PlanfixSettings
    planningpme: PlanningPmeSettings
    state: StateSettings = Field(default_factory=StateSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)

    def secret_values(self) -> list[str]:
        """Every secret in the config, for the log redactor."""
        found = [
            self.planfix.api_key,
            self.planfix.token,
            self.planfix.password,
            self.planningpme.app_key,
            self.planningpme.password,
            self.planningpme.assertion,
            self.push.token,
        ]
        return [s.get_secret_value() for s in found if s is not None]


@dataclass(frozen=True)
class _SecretSource:
    section: str
    key: str
    env: str


_SECRETS = (
    _SecretSource("planfix", "api_key", "SYNCD_PLANFIX_API_KEY"),
    _SecretSource("planfix", "token", "SYNCD_PLANFIX_TOKEN"),
    _SecretSource("planfix", "password", "SYNCD_PLANFIX_PASSWORD"),
    _SecretSource("planningpme", "app_key", "SYNCD_PLANNINGPME_APP_KEY"),
    _SecretSource("planningpme", "password", "SYNCD_PLANNINGPME_PASSWORD"),
    _SecretSource("planningpme", "assertion", "SYNCD_PLANNINGPME_ASSERTION"),
    _SecretSource("push", "token", "SYNCD_PUSH_TOKEN"),
)


def _read_secret_file(path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read secret file {str(path)!r}: {exc.strerror}") from exc


def _resolve_secrets(raw: dict[str, Any], base: Path, env: Mapping[str, str]) -> None:
    """Fill secrets in ``raw`` from ``*_file`` keys, the environment or the credentials directory."""
    creds_dir = env.get("CREDENTIALS_DIRECTORY")
    for source in _SECRETS:
        section = raw.get(source.section)
        if section is None:
            if source.section == "push":
                continue
            section = raw.setdefault(source.section, {})
        if not isinstance(section, dict):
            continue  # pydantic reports the wrong type with its path
        file_key = f"{source.key}_file"
        where = f"{source.section}.{file_key}"
        if file_key in section:
            if source.key in section:
                raise ConfigError(f"{source.section}: give either {source.key} or {file_key}, not both")
            file_value = section.pop(file_key)
            if not isinstance(file_value, str):
                raise ConfigError(f"{where}: expected a file path (string)")
            section[source.key] = _read_secret_file(base / file_value, where)
            continue
        if source.key in section:
            continue
        if env.get(source.env):
            section[source.key] = env[source.env]
            continue
        if creds_dir:
            candidate = Path(creds_dir) / f"{source.section}_{source.key}"
            if candidate.is_file():
                section[source.key] = _read_secret_file(candidate, f"$CREDENTIALS_DIRECTORY/{candidate.name}")


def _format_validation_error(exc: ValidationError, path: Path) -> str:
    lines = [f"{path}: invalid configuration:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see README 'Configure')"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def _check_credentials(settings: Settings, path: Path) -> None:
    missing: list[str] = []
    pf = settings.planfix
    if pf.api_key is None:
        # Legacy login/password calls carry the API key too (HTTP Basic "apiKey:").
        missing.append("planfix.api_key (or api_key_file, SYNCD_PLANFIX_API_KEY)")
    if pf.api_key is not None and pf.token is None and pf.password is None:
        missing.append("planfix.token (or token_file, SYNCD_PLANFIX_TOKEN)")
    if pf.login is not None and pf.password is None:
        missing.append("planfix.password (or password_file, SYNCD_PLANFIX_PASSWORD)")
    pme = settings.planningpme
    if pme.app_key is None:
        missing.append("planningpme.app_key (or app_key_file, SYNCD_PLANNINGPME_APP_KEY)")
    if pme.assertion is None:
        if pme.username is None:
            missing.append("planningpme.username")
        if pme.password is None:
            missing.append("planningpme.password (or password_file, SYNCD_PLANNINGPME_PASSWORD)")
    if settings.push.enabled and settings.push.token is None:
        missing.append("push.token (or token_file, SYNCD_PUSH_TOKEN)")
    if missing:
        raise ConfigError(f"{path}: missing secrets: " + "; ".join(missing))


def parse_settings(text: str, path: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Validate config ``text`` as if read from ``path`` (relative paths resolve next to it)."""
    environ = os.environ if env is None else env
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    base = path.parent
    _resolve_secrets(raw, base, environ)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, path)) from None
    _check_credentials(settings, path)
    state_path = settings.state.path if settings.state.path.is_absolute() else base / settings.state.path
    return settings.model_copy(update={"state": settings.state.model_copy(update={"path": state_path})})


def resolve_config_path(cli_value: str | None, env: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    value = cli_value or environ.get(CONFIG_ENV)
    if not value:
        raise ConfigError(f"no configuration file: pass --config PATH or set {CONFIG_ENV}")
    return Path(value)


def load_settings(path: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the config file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration file: {exc}") from None
    return parse_settings(text, path.resolve(), env)
