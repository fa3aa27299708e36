"""The HTTP layer both clients share: rate limiting, request counting, retries with jitter.

Only transient faults are retried. A non-idempotent request (a create) is retried only when it
certainly never reached the server (connection refused) or the server explicitly refused it; after
an ambiguous failure (timeout or connection dropped after sending) the error goes up, and the
applier resolves the create by looking up its marker, so a retry can never make a duplicate.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
import structlog

from syncd.connectors.base import RequestCounter
from syncd.errors import QuotaExhaustedError, RateLimitedError, TransientError, UnreachableError
from syncd.ratelimit import AccountLimiter, Priority

T = TypeVar("T")

log = structlog.get_logger(__name__)


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
    ) -> None:
        self.system = system
        self.client = client
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
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
        retried here (``RateLimitedError`` also pauses the whole account for ``retry_after``).
        """
        attempt = 0
        while True:
            try:
                return self._once(label, build, interpret, priority, idempotent)
            except QuotaExhaustedError:
                raise  # nothing to gain before the quota resets: the caller stops for the day
            except TransientError as exc:
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
            response = self.client.send(request)
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
        return interpret(response)
