"""The HTTP layer both clients share: rate limiting, request counting, retries with jitter.

Only transient faults are retried. A non-idempotent request (a create) is retried only when it
certainly never reached the server (connection refused) or the server explicitly refused it; after
an ambiguous failure (timeout or connection dropped after sending) the error goes up, and the
applier resolves the create by looking up its marker, so a retry can never make a duplicate.

What a remote sends is bounded here, for both clients at once: a ``Retry-After`` longer than
``TransportLimits.max_retry_after`` is cut to it (one reply of ``1e12`` must not pause an account
for good), and a reply body is read as a stream and refused past ``max_reply_bytes`` (a runaway
server must not fill the memory of a service that runs for years).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
import structlog

from syncd.connectors.base import RequestCounter
from syncd.errors import (
    ProtocolError,
    QuotaExhaustedError,
    RateLimitedError,
    TransientError,
    UnreachableError,
)
from syncd.ratelimit import AccountLimiter, Priority

T = TypeVar("T")

log = structlog.get_logger(__name__)

DEFAULT_MAX_RETRY_AFTER_S = 3600.0
"""The longest pause a remote may impose with one ``Retry-After``: an hour, which stays under the
daemon's two hours after which a cycle without progress counts as stuck."""
DEFAULT_MAX_REPLY_BYTES = 32 * 1024 * 1024
"""The largest reply body read: far above a 100-record page (~100 KB) of either system."""

# Headers that described the body as it came over the wire, not the decoded bytes kept here.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True)
class TransportLimits:
    """Bounds on what one reply may make us do or hold."""

    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER_S
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES

    def cap_retry_after(self, seconds: float | None) -> float | None:
        """``seconds`` bounded to ``[0, max_retry_after]``; None stays None (the remote said nothing)."""
        if seconds is None or math.isnan(seconds):
            return None
        return min(max(0.0, seconds), self.max_retry_after)


def parse_retry_after(raw: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date (RFC 9110).

    None when absent or unreadable. Not capped: ``HttpTransport`` caps every ``retry_after`` it
    sees, whichever client read it, so the cap cannot be forgotten in one of them.
    """
    if raw is None:
        return None
    text = raw.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, for transient faults only."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.base * (2**attempt)))


class HttpTransport:
    """An httpx client behind an account's limiter, with the retry rules above."""

    def __init__(
        self,
        system: str,
        client: httpx.Client,
        limiter: AccountLimiter,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        limits: TransportLimits | None = None,
    ) -> None:
        self.system = system
        self.client = client
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.limits = limits or TransportLimits()
        self.counter = RequestCounter()
        self._rng = rng or random.Random()

    def close(self) -> None:
        self.client.close()

    def call(
        self,
        label: str,
        build: Callable[[], httpx.Request],
        interpret: Callable[[httpx.Response], T],
        *,
        priority: Priority = "read",
        idempotent: bool = True,
    ) -> T:
        """Send the request ``build`` makes and return ``interpret(response)``.

        ``interpret`` raises from the exception tree for error replies; ``TransientError`` ones are
        retried here (``RateLimitedError`` also pauses the whole account for ``retry_after``,
        capped to ``limits.max_retry_after`` on the error itself, so callers see the capped value).
        """
        attempt = 0
        while True:
            try:
                return self._once(label, build, interpret, priority, idempotent)
            except QuotaExhaustedError:
                raise  # nothing to gain before the quota resets: the caller stops for the day
            except TransientError as exc:
                if isinstance(exc, RateLimitedError):
                    self._cap_retry_after(label, exc)
                attempt += 1
                sure_not_applied = exc.code is not None or (
                    isinstance(exc, UnreachableError) and exc.not_sent
                )
                retryable = idempotent or sure_not_applied
                if attempt >= self.retry.attempts or not retryable:
                    raise
                wait = self.retry.delay(attempt, self._rng)
                if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
                    self.limiter.pause(exc.retry_after)
                    wait = 0.0
                log.warning(
                    "remote.retry",
                    system=self.system,
                    request=label,
                    attempt=attempt,
                    error=str(exc),
                    wait_s=round(wait, 3),
                )
                self.limiter.clock.sleep(wait)

    def _once(
        self,
        label: str,
        build: Callable[[], httpx.Request],
        interpret: Callable[[httpx.Response], T],
        priority: Priority,
        idempotent: bool,
    ) -> T:
        self.limiter.acquire(priority)
        self.counter.add(label)
        request = build()
        try:
            response = self.client.send(request, stream=True)
            try:
                body = self._read_body(label, response)
            finally:
                response.close()
        except httpx.ConnectError as exc:
            raise UnreachableError(
                f"cannot connect to {request.url.host}: {exc}", system=self.system, not_sent=True
            ) from None
        except httpx.TimeoutException:
            raise UnreachableError(f"{label}: no answer in time", system=self.system) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise UnreachableError(f"{label}: connection dropped ({exc})", system=self.system) from None
        except httpx.HTTPError as exc:
            raise UnreachableError(f"{label}: {type(exc).__name__}: {exc}", system=self.system) from None
        return interpret(_with_body(response, request, body))

    def _cap_retry_after(self, label: str, exc: RateLimitedError) -> None:
        asked = exc.retry_after
        exc.retry_after = self.limits.cap_retry_after(asked)
        if asked is not None and exc.retry_after != asked:
            log.warning(
                "remote.retry_after_capped",
                system=self.system,
                request=label,
                asked_s=asked,
                capped_s=exc.retry_after,
                note="the remote asked for a longer pause than max_retry_after allows",
            )

    def _read_body(self, label: str, response: httpx.Response) -> bytes:
        """The decoded body, read chunk by chunk and refused as soon as it passes the limit (the
        declared length is checked first, so an honest oversized reply is not even read)."""
        limit = self.limits.max_reply_bytes
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(label, f"it announces {int(declared)} bytes")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise self._too_large(label, "it ran past that")
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, label: str, how: str) -> ProtocolError:
        return ProtocolError(
            f"{label}: the reply is larger than the limit of {self.limits.max_reply_bytes} bytes "
            f"({how}); refused",
            system=self.system,
        )


def _with_body(response: httpx.Response, request: httpx.Request, body: bytes) -> httpx.Response:
    """A complete response holding ``body`` (already decoded), for the clients' ``interpret``."""
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    extensions = {k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")}
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=request, extensions=extensions
    )
