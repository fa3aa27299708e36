"""The PlanningPME REST client: token, ``X-APPKEY``, JSON decoding, errors mapped into the tree.

Requests go through the shared ``HttpTransport`` (limiter, counting, retries of transient faults).
This module adds what is PlanningPME's own:

* a bearer token from ``POST /{brand}/token`` (password grant, or the jwt-bearer grant with the
  account's assertion), renewed shortly before it expires and once after a 401 on a data call;
* the error mapping: 400/422 → ``RecordError`` with the server's message, 404 → ``NotFoundError``,
  401/403 → ``AuthError``, 429 → ``RateLimitedError(retry_after)``, 5xx → ``ServerError``, a body
  that is not JSON (or nested too deep for the parser) → ``ProtocolError``, each naming the endpoint.

A 5xx answer to a create carries no ``code`` unless it is 503 ("not processed"), because after a
500 the server may have written the record: the transport must not retry it blindly (the applier
resolves the create by its marker instead). 429 and 503 carry their status, so they are retried.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import structlog

from syncd.connectors.base import QuotaHint
from syncd.connectors.http import HttpTransport, TransportLimits, parse_retry_after
from syncd.connectors.planningpme.assumptions import CONFIG_PATH
from syncd.connectors.planningpme.enums import EnumNames
from syncd.errors import (
    AuthError,
    ConfigError,
    FatalRemoteError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    RecordError,
    RemoteError,
    ServerError,
)
from syncd.ratelimit import AccountLimiter, Clock, Priority
from syncd.settings import PlanningPmeSettings, check_endpoint_url

SYSTEM = "planningpme"
TOKEN_LABEL = "POST /token"  # noqa: S105 - a request label, not a secret
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REFRESH_MARGIN = 300.0
"""Renew a token this many seconds before it expires (at most a tenth of its lifetime)."""

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Token:
    value: str = field(repr=False)
    refresh_at: float


def _quote(key: str) -> str:
    return quote(str(key), safe="")


def path_of(base: str, key: str | None = None) -> str:
    """``api/do`` or ``api/do/{key}`` with the key safely escaped (``base`` is a configured path)."""
    return base if key is None else f"{base}/{_quote(key)}"


def _server_message(response: httpx.Response) -> str:
    """The server's own words from an error body, whatever shape it has."""
    try:
        body = json.loads(response.content)
        if isinstance(body, Mapping):
            for name in ("message", "Message", "error_description", "error"):
                value = body.get(name)
                if isinstance(value, str) and value:
                    return value
        return json.dumps(body, ensure_ascii=False)[:200]
    except (ValueError, UnicodeDecodeError, RecursionError):
        text = response.text.strip()
        return text[:200] if text else response.reason_phrase


def decode_json(response: httpx.Response, label: str) -> Any:
    """The JSON body of a success reply; None for an empty one; ProtocolError when unreadable.

    A reply nested deeper than the parser's recursion limit is a protocol fault like any other
    unreadable reply (Python's parser raises ``RecursionError`` for it, which would otherwise end
    the process with a traceback).
    """
    if response.status_code == 204 or not response.content.strip():
        return None
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{label}: the reply is not valid JSON ({exc})", system=SYSTEM) from None
    except RecursionError:
        raise ProtocolError(f"{label}: the reply is JSON nested too deep to read", system=SYSTEM) from None


class PlanningPmeClient:
    """One PlanningPME account. Thread-safe: connectors of both entities share one client."""

    def __init__(
        self,
        settings: PlanningPmeSettings,
        limiter: AccountLimiter,
        *,
        transport: httpx.BaseTransport | None = None,
        http: HttpTransport | None = None,
    ) -> None:
        try:
            check_endpoint_url(settings.url)
        except ValueError as exc:
            raise ConfigError(f"planningpme.url: {exc}") from None
        if settings.app_key is None:
            raise ConfigError("planningpme.app_key is missing (or app_key_file, SYNCD_PLANNINGPME_APP_KEY)")
        if settings.assertion is None and (settings.username is None or settings.password is None):
            raise ConfigError("planningpme: give username and password, or assertion")
        self._settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.base_url = f"{settings.url.rstrip('/')}/{settings.brand}/"
        if http is None:
            http = HttpTransport(
                SYSTEM,
                httpx.Client(timeout=settings.timeout, transport=transport),
                limiter,
                limits=TransportLimits(settings.max_retry_after, settings.max_reply_bytes),
            )
        self._http = http
        self._token: _Token | None = None
        self._token_lock = threading.Lock()
        self._local = threading.local()
        self._quota = QuotaHint()
        self._enums: EnumNames | None = None
        self._enums_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PlanningPmeClient({self.base_url!r})"

    # Public helpers -----------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self._http.limiter.clock

    def now(self) -> datetime:
        """The current moment in the account's time zone (aware)."""
        return self.clock.now().astimezone(self.zone)

    @property
    def settings(self) -> PlanningPmeSettings:
        return self._settings

    def enum_names(self) -> EnumNames:
        """The account's enum numbers, read once from ``/api/config`` when first needed; the
        fallback numbering when the config cannot be read (the reason is logged)."""
        with self._enums_lock:
            if self._enums is None:
                label = f"GET /{CONFIG_PATH}"
                try:
                    self._enums = EnumNames.from_config(self.request("GET", label, CONFIG_PATH))
                except RemoteError as exc:
                    if is_giving_up(exc):
                        raise
                    log.warning(
                        "planningpme.config_unreadable", error=str(exc), using="fallback enum numbers"
                    )
                    self._enums = EnumNames.fallback()
            return self._enums

    def sent_by_this_thread(self) -> int:
        """HTTP requests this thread has sent through this client (retries and tokens included)."""
        return int(getattr(self._local, "sent", 0))

    def quota_hint(self) -> QuotaHint:
        return self._quota

    def close(self) -> None:
        self._http.close()

    # Requests -----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        label: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool = True,
        priority: Priority = "read",
    ) -> Any:
        """Send one API call and return its decoded JSON. ``label`` names it in errors and counts
        (``"GET /api/do/{key}"``). After a 401 the token is renewed and the call sent once more."""
        for attempt in (1, 2):
            token = self._bearer()
            headers = {"Authorization": f"Bearer {token.value}"}
            try:
                return self._http.call(
                    label,
                    self._builder(method, path, params=params, body=body, headers=headers),
                    lambda response: self._interpret(response, label, idempotent),
                    priority=priority,
                    idempotent=idempotent,
                )
            except AuthError as exc:
                if exc.code != "401":
                    raise
                self._forget(token)
                if attempt == 2:
                    raise AuthError(
                        f"{label}: refused with 401 even with a fresh token; check that the user "
                        "of planningpme.username / planningpme.assertion may use the API",
                        system=SYSTEM,
                        code="401",
                    ) from None
                log.info("planningpme.token_rejected", request=label)
        raise AssertionError("unreachable")  # pragma: no cover

    def _builder(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Callable[[], httpx.Request]:
        def build() -> httpx.Request:
            self._local.sent = self.sent_by_this_thread() + 1
            return self._http.client.build_request(
                method,
                self.base_url + path,
                params=dict(params) if params else None,
                json=body,
                data=dict(form) if form else None,
                headers={**self._common_headers(), **(headers or {})},
            )

        return build

    def _common_headers(self) -> dict[str, str]:
        app_key = self._settings.app_key
        return {
            "X-APPKEY": app_key.get_secret_value() if app_key is not None else "",
            "Accept": "application/json",
            "Accept-Language": self._settings.language,
        }

    def _interpret(self, response: httpx.Response, label: str, idempotent: bool) -> Any:
        self._observe_quota(response)
        status = response.status_code
        if 200 <= status < 300:
            return decode_json(response, label)
        detail = f"{label}: {_server_message(response)}"
        code = str(status)
        if status in (400, 409, 422):
            raise RecordError(detail, system=SYSTEM, code=code)
        if status == 404:
            raise NotFoundError(detail, system=SYSTEM, code=code)
        if status in (401, 403):
            raise AuthError(detail, system=SYSTEM, code=code)
        if status == 429:
            retry = parse_retry_after(response.headers.get("retry-after"), self.clock.now())
            raise RateLimitedError(detail, system=SYSTEM, code=code, retry_after=retry)
        if status >= 500:
            refused = status == 503 or idempotent
            raise ServerError(f"{detail} (HTTP {status})", system=SYSTEM, code=code if refused else None)
        if 400 <= status < 500:
            raise RecordError(detail, system=SYSTEM, code=code)
        raise ProtocolError(f"{label}: unexpected HTTP {status}", system=SYSTEM, code=code)

    def _observe_quota(self, response: httpx.Response) -> None:
        """PlanningPME documents no quota header; if a gateway sends the usual one, keep it."""
        raw = response.headers.get("x-ratelimit-remaining")
        if raw is not None and raw.strip().isdigit():
            self._quota = QuotaHint(remaining=int(raw), observed_at=self.clock.now())
            self._http.limiter.observe_remaining(int(raw))

    # The token ----------------------------------------------------------------------------------

    def _bearer(self) -> _Token:
        with self._token_lock:
            token = self._token
            if token is None or self.clock.monotonic() >= token.refresh_at:
                token = self._fetch_token()
                self._token = token
            return token

    def _forget(self, token: _Token) -> None:
        with self._token_lock:
            if self._token is token:
                self._token = None

    def _grant(self) -> tuple[dict[str, str], str]:
        """The form of the configured grant, and the settings to blame when it is refused."""
        s = self._settings
        if s.assertion is not None:
            form = {"grant_type": JWT_BEARER, "assertion": s.assertion.get_secret_value()}
            return form, "planningpme.assertion"
        password = s.password.get_secret_value() if s.password is not None else ""
        form = {"grant_type": "password", "username": s.username or "", "password": password}
        return form, "planningpme.username / planningpme.password"

    def _fetch_token(self) -> _Token:
        form, blame = self._grant()
        started = self.clock.monotonic()

        def interpret(response: httpx.Response) -> Any:
            status = response.status_code
            if status == 400:
                raise AuthError(
                    f"{TOKEN_LABEL}: the credentials were refused ({_server_message(response)}); "
                    f"check {blame}",
                    system=SYSTEM,
                    code="invalid_grant",
                )
            if status in (401, 403):
                raise AuthError(
                    f"{TOKEN_LABEL}: the application key was refused ({_server_message(response)}); "
                    "check planningpme.app_key",
                    system=SYSTEM,
                    code=str(status),
                )
            if status == 404:
                raise FatalRemoteError(
                    f"{TOKEN_LABEL}: {self.base_url} does not exist; check planningpme.url and "
                    "planningpme.brand",
                    system=SYSTEM,
                    code="404",
                )
            return self._interpret(response, TOKEN_LABEL, idempotent=True)

        reply = self._http.call(
            TOKEN_LABEL,
            self._builder("POST", "token", form=form),
            interpret,
            priority="essential",
        )
        value = reply.get("access_token") if isinstance(reply, Mapping) else None
        lifetime = reply.get("expires_in") if isinstance(reply, Mapping) else None
        if not isinstance(value, str) or not value:
            raise ProtocolError(f"{TOKEN_LABEL}: the reply has no access_token", system=SYSTEM)
        try:
            seconds = max(0.0, float(lifetime)) if lifetime is not None else REFRESH_MARGIN * 10
        except (TypeError, ValueError):
            raise ProtocolError(f"{TOKEN_LABEL}: expires_in is not a number", system=SYSTEM) from None
        log.info("planningpme.token", expires_in=seconds)
        return _Token(value, started + seconds - min(REFRESH_MARGIN, seconds / 10))


def is_giving_up(exc: RemoteError) -> bool:
    """Errors after which reading on is pointless: the credentials or the account are unusable."""
    return isinstance(exc, AuthError | FatalRemoteError)
