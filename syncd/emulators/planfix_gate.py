"""The emulated account limits: requests per second and the daily quota with its coarse header.

Above the per-second rate the real service's behaviour is undocumented, so the emulator either
rejects (HTTP 429 with ``Retry-After: 1``; not 0007, which the pages define as the *daily* limit)
or delays the request. The daily quota counts every request that passes the
rate gate; ``X-RateLimit-Remaining`` reports a snapshot refreshed only every ``refresh`` seconds,
like the real header (about every ten minutes).
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo

from syncd.ratelimit import Clock, SlidingWindow

OverRate = Literal["reject", "delay"]
OVER_RATE_MODES: tuple[OverRate, ...] = ("reject", "delay")


def _window(rate: float) -> SlidingWindow | None:
    if rate <= 0:
        return None
    if rate >= 1:
        return SlidingWindow(round(rate), 1.0)
    return SlidingWindow(1, 1.0 / rate)


class RateGate:
    """At most ``rate`` requests in any second (0 = unlimited)."""

    def __init__(self, rate: float, over: OverRate, clock: Clock) -> None:
        self.rate = rate
        self.over = over
        self._clock = clock
        self._window = _window(rate)

    def admit(self) -> float | None:
        """Seconds the request must wait (0.0 = go now), or None when it is rejected.

        In delay mode the slot is reserved at once, so requests waiting together keep their order.
        """
        if self._window is None:
            return 0.0
        now = self._clock.monotonic()
        wait = self._window.wait_time(now)
        if wait > 0 and self.over == "reject":
            return None
        self._window.record(now + wait)
        return wait


class QuotaCounter:
    """Requests per day of the account's zone (0 = unlimited)."""

    def __init__(self, limit: int, refresh: float, zone: ZoneInfo, clock: Clock) -> None:
        self.limit = limit
        self.refresh = refresh
        self._zone = zone
        self._clock = clock
        self._day = clock.now().astimezone(zone).date()
        self.used = 0
        self._snapshot = limit
        self._snapshot_at: float | None = None

    def _roll(self) -> None:
        day = self._clock.now().astimezone(self._zone).date()
        if day != self._day:
            self._day = day
            self.used = 0
            self._snapshot_at = None

    def take(self) -> bool:
        """Count one request; False when the day's quota was already used up."""
        if self.limit <= 0:
            return True
        self._roll()
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def header(self) -> str | None:
        """The ``X-RateLimit-Remaining`` value: a snapshot, refreshed every ``refresh`` seconds."""
        if self.limit <= 0:
            return None
        now = self._clock.monotonic()
        if self._snapshot_at is None or now - self._snapshot_at >= self.refresh:
            self._snapshot = max(0, self.limit - self.used)
            self._snapshot_at = now
        return str(self._snapshot)
