"""The Planfix API client: one method call in, the ``<response>`` element (or an exception) out.

Authentication is the API key + token as HTTP Basic auth when a token is configured, else the
legacy ``auth.login`` session: its ``sid`` goes into every body, and every request, ``auth.login``
included, still carries HTTP Basic ``base64(apiKey + ":")``
(``ПланФикс_API__Авторизация_по_логину_и_паролю.md``).
An expired session (0005) is renewed once per call. Every write carries ``<silent>1</silent>`` at
the request root (``XML_API_v1.md``: allowed on any request; without it a change notifies people
and is written into the record's history). Every request goes through the shared
``HttpTransport`` (account limiter, request counter, retries of transient faults); writes ask the
limiter with priority ``write``. A 0007 reply is the *daily* request limit: the whole account is
paused until the quota day turns in the account's zone (no retry after a second — that would only
burn what is left of the day). ``X-RateLimit-Remaining`` feeds the limiter's quota estimate
whenever the remote's value changes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import structlog

from syncd.connectors.base import QuotaHint, RequestCounter
from syncd.connectors.http import HttpTransport, RetryPolicy
from syncd.connectors.planfix.codes import (
    DAILY_LIMIT,
    REQUEST_BUG_CODES,
    SESSION_EXPIRED,
    error_for_code,
    error_for_status,
)
from syncd.connectors.planfix.xml import Element, Param, build_request, parse_reply, request_shape
from syncd.errors import AuthError, ConfigError, QuotaExhaustedError
from syncd.ratelimit import AccountLimiter
from syncd.settings import PlanfixSettings

log = structlog.get_logger(__name__)

SYSTEM = "planfix"


class PlanfixClient:
    """Calls Planfix XML API methods for one account. Thread-safe; share one per account."""

    def __init__(
        self,
        settings: PlanfixSettings,
        limiter: AccountLimiter,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._url = settings.url
        self._account = settings.account
        self._zone = ZoneInfo(settings.timezone)
        if settings.api_key is None:
            raise ConfigError("planfix: api_key is required (with token, or with login and password)")
        api_key = settings.api_key.get_secret_value()
        if settings.token is not None:
            auth = httpx.BasicAuth(api_key, settings.token.get_secret_value())
            self._login: tuple[str, str] | None = None
        elif settings.login is not None and settings.password is not None:
            # Legacy mode: the API key with an empty password, besides the sid in the body.
            auth = httpx.BasicAuth(api_key, "")
            self._login = (settings.login, settings.password.get_secret_value())
        else:
            raise ConfigError("planfix: give api_key and token, or api_key, login and password")
        http = httpx.Client(
            auth=auth,
            transport=transport,
            timeout=settings.timeout,
            headers={"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml"},
        )
        self._transport = HttpTransport(SYSTEM, http, limiter, retry)
        self._sid: str | None = None
        self._session_lock = threading.Lock()
        self._hint = QuotaHint()
        self._last_remaining: str | None = None

    @property
    def limiter(self) -> AccountLimiter:
        return self._transport.limiter

    @property
    def counter(self) -> RequestCounter:
        return self._transport.counter

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def close(self) -> None:
        self._transport.close()

    def __repr__(self) -> str:
        mode = "session" if self._login else "token"
        return f"PlanfixClient(url={self._url!r}, account={self._account!r}, auth={mode})"

    def quota_hint(self) -> QuotaHint:
        return self._hint

    def call(
        self, method: str, params: Sequence[Param] = (), *, write: bool = False, idempotent: bool = True
    ) -> Element:
        """Call ``method`` and return the ``<response>`` element of an ``ok`` reply."""
        login = self._login
        if login is None:
            return self._send(method, params, write=write, idempotent=idempotent)
        sid = self._session(login)
        try:
            return self._send(method, params, write=write, idempotent=idempotent, sid=sid)
        except AuthError as exc:
            if exc.code != SESSION_EXPIRED:
                raise
        log.info("planfix.session_expired", method=method)
        renewed = self._session(login, expired=sid)
        return self._send(method, params, write=write, idempotent=idempotent, sid=renewed)

    def _session(self, login: tuple[str, str], expired: str | None = None) -> str:
        """The current sid; a new one when there is none yet or ``expired`` is the current one."""
        with self._session_lock:
            if self._sid is None or self._sid == expired:
                user, password = login
                reply = self._send("auth.login", [("login", user), ("password", password)], sid=None)
                sid = (reply.findtext("sid") or "").strip()
                if not sid:
                    raise AuthError("auth.login: the reply carries no session id", system=SYSTEM)
                self._sid = sid
            return self._sid

    def _send(
        self,
        method: str,
        params: Sequence[Param],
        *,
        write: bool = False,
        idempotent: bool = True,
        sid: str | None = None,
    ) -> Element:
        def build() -> httpx.Request:
            body = build_request(method, self._account, params, sid=sid, silent=write)
            return self._transport.client.build_request("POST", self._url, content=body)

        def interpret(response: httpx.Response) -> Element:
            return self._interpret(method, params, response)

        return self._transport.call(
            method, build, interpret, priority="write" if write else "read", idempotent=idempotent
        )

    def _interpret(self, method: str, params: Sequence[Param], response: httpx.Response) -> Element:
        remaining = response.headers.get("X-RateLimit-Remaining")
        self._observe_remaining(remaining)
        if response.status_code != 200:
            raise error_for_status(
                response.status_code,
                self._url,
                method=method,
                retry_after=_retry_after(response),
                location=response.headers.get("Location"),
            )
        reply = parse_reply(response.content, method=method)
        if reply.ok:
            return reply.root
        code = reply.code or ""
        if code == DAILY_LIMIT:
            raise self._daily_limit_reached(method)
        if code in REQUEST_BUG_CODES:
            log.error(
                "planfix.request_rejected",
                method=method,
                code=code,
                message=reply.message,
                request_shape=request_shape(params),
            )
        raise error_for_code(code, reply.message, method=method)

    def _daily_limit_reached(self, method: str) -> QuotaExhaustedError:
        """0007 is the daily limit: pause the account until midnight in its zone, when the day turns."""
        local = self.limiter.clock.now().astimezone(self._zone)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), self._zone)
        wait = max(1.0, (midnight - local).total_seconds())
        self.limiter.observe_remaining(0)
        self.limiter.pause(wait)
        log.error("planfix.daily_quota_exhausted", method=method, resumes_at=midnight.isoformat())
        return QuotaExhaustedError(
            f"{method}: Planfix says the daily request limit is used up (0007); "
            f"syncd makes no Planfix request until {midnight.isoformat()}",
            system=SYSTEM,
            code=DAILY_LIMIT,
            retry_after=wait,
        )

    def _observe_remaining(self, header: str | None) -> None:
        # The header is refreshed only every ~10 minutes: feeding the same stale value again
        # would hide our own requests made since, so only a new value is passed on.
        if header is None or header == self._last_remaining:
            return
        try:
            remaining = int(header.strip())
        except ValueError:
            return
        self._last_remaining = header
        self.limiter.observe_remaining(remaining)
        self._hint = QuotaHint(remaining=remaining, observed_at=self.limiter.clock.now())


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
