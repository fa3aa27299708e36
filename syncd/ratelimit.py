"""Client-side rate limiting: spacing per second, budgets per window, the daily quota and its reserve.

One ``AccountLimiter`` exists per remote account in a process and is shared by every job and
thread that talks to that account, so the limits hold for the account as a whole. Time comes from
an injectable ``Clock`` so tests never sleep for real.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from syncd.errors import QuotaExhaustedError

MAX_SLEEP_STEP_S = 5.0
"""A long wait (an hourly budget) is slept in steps, re-checking the limits in between."""

Priority = Literal["write", "read", "essential"]
"""``essential`` reads may use part of the reserve; ``write`` and ``read`` stop at the reserve."""


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def now(self) -> datetime:
        return datetime.now(UTC)


class SlidingWindow:
    """At most ``limit`` events in any interval of ``window`` seconds (an exact log of times)."""

    def __init__(self, limit: int, window: float, guard: float = 0.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window + guard
        self._times: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        """Seconds to wait before one more event is allowed at ``now``."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self._times[0] + self.window - now

    def record(self, now: float) -> None:
        self._times.append(now)

    def carry_over(self, previous: SlidingWindow) -> None:
        """Count the events of the window this one replaces (a reload): an hourly budget spent
        just before a reload is still spent after it."""
        self._times = deque(sorted([*previous._times, *self._times]))


def per_second_window(requests_per_second: float, guard_fraction: float = 0.03) -> SlidingWindow:
    """A window that keeps ``requests_per_second`` with a small guard against clock skew and latency."""
    if requests_per_second >= 1:
        limit, window = round(requests_per_second), 1.0
    else:
        limit, window = 1, 1.0 / requests_per_second
    return SlidingWindow(limit, window, guard=window * guard_fraction)


@dataclass
class QuotaStatus:
    """A snapshot for reports and ``syncd status``."""

    used_today: int
    limit: int
    usable: int
    remote_remaining: int | None
    in_reserve: bool


class DailyQuota:
    """Counts today's requests and keeps a reserve of the quota for people's own scripts.

    Our own count is exact for this process; the remote's ``X-RateLimit-Remaining`` is coarse
    (refreshed every ~10 minutes) but sees other clients too, so the stricter of the two wins.
    The day rolls over at midnight in the remote account's time zone.
    """

    def __init__(self, limit: int, reserve: float, zone: ZoneInfo, now: datetime) -> None:
        self.limit = limit
        self.reserve = reserve
        self.zone = zone
        self._day = now.astimezone(zone).date()
        self._used = 0
        self._remote_remaining: int | None = None
        self._remote_used_baseline = 0

    @property
    def usable(self) -> int:
        """Requests syncd may make in a day; the rest is the reserve."""
        return int(self.limit * (1 - self.reserve))

    def _roll(self, now: datetime) -> None:
        day = now.astimezone(self.zone).date()
        if day != self._day:
            self._day = day
            self._used = 0
            self._remote_remaining = None
            self._remote_used_baseline = 0

    def _effective_used(self) -> int:
        if self._remote_remaining is None:
            return self._used
        remote_used = self.limit - self._remote_remaining + (self._used - self._remote_used_baseline)
        return max(self._used, remote_used)

    def check(self, priority: Priority, now: datetime) -> None:
        """Raise ``QuotaExhaustedError`` when a request of ``priority`` may not be made now."""
        self._roll(now)
        used = self._effective_used()
        ceiling = self.usable if priority != "essential" else self.usable + (self.limit - self.usable) // 2
        if used >= ceiling:
            tomorrow = datetime.combine(self._day + timedelta(days=1), datetime.min.time(), self.zone)
            raise QuotaExhaustedError(
                f"daily quota reached: {used} of {self.limit} requests used, "
                f"{self.limit - self.usable} kept in reserve; "
                f"resuming after the reset at {tomorrow.isoformat()}",
                retry_after=max(0.0, (tomorrow - now).total_seconds()),
            )

    def record(self, now: datetime) -> None:
        self._roll(now)
        self._used += 1

    def carry_over(self, previous: DailyQuota, now: datetime) -> None:
        """Take over today's count of the quota this one replaces (a reload of the same account),
        so a reload cannot hand syncd a second day's worth of requests."""
        previous._roll(now)
        self._roll(now)
        if previous._day != self._day:
            return
        self._used += previous._used
        if self._remote_remaining is None:
            self._remote_remaining = previous._remote_remaining
            self._remote_used_baseline = previous._remote_used_baseline
        else:
            self._remote_used_baseline += previous._used

    def observe_remote(self, remaining: int, now: datetime) -> None:
        self._roll(now)
        self._remote_remaining = remaining
        self._remote_used_baseline = self._used

    def status(self, now: datetime) -> QuotaStatus:
        self._roll(now)
        used = self._effective_used()
        return QuotaStatus(used, self.limit, self.usable, self._remote_remaining, used >= self.usable)


class AccountLimiter:
    """All limits of one remote account, shared by every thread that talks to it."""

    def __init__(
        self,
        system: str,
        windows: list[SlidingWindow],
        quota: DailyQuota | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.system = system
        self.clock: Clock = clock or SystemClock()
        self._windows = windows
        self._quota = quota
        self._lock = threading.Lock()
        self._paused_until = 0.0

    def acquire(self, priority: Priority = "read") -> None:
        """Block until one request may be sent; raise ``QuotaExhaustedError`` past the quota.

        The wait happens outside the lock, so a thread waiting for a long window never blocks
        another thread's quota check, and waits are taken in short steps (``MAX_SLEEP_STEP_S``)."""
        while True:
            with self._lock:
                if self._quota is not None:
                    try:
                        self._quota.check(priority, self.clock.now())
                    except QuotaExhaustedError as exc:
                        exc.system = self.system
                        raise
                now = self.clock.monotonic()
                wait = max([self._paused_until - now] + [w.wait_time(now) for w in self._windows])
                if wait <= 0:
                    for window in self._windows:
                        window.record(now)
                    if self._quota is not None:
                        self._quota.record(self.clock.now())
                    return
            self.clock.sleep(min(wait, MAX_SLEEP_STEP_S))

    def pause(self, seconds: float) -> None:
        """Hold every request of this account for ``seconds`` (Retry-After, error 0007)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock.monotonic() + seconds)

    def carry_over(self, previous: AccountLimiter) -> None:
        """Continue where ``previous`` (the same account's limiter before a reload) stopped: its
        daily count, its spent windows and any pause the remote asked for. Windows carry over only
        when the new configuration has the same kinds of windows."""
        with previous._lock, self._lock:
            if self._quota is not None and previous._quota is not None:
                self._quota.carry_over(previous._quota, self.clock.now())
            if len(self._windows) == len(previous._windows):
                for mine, theirs in zip(self._windows, previous._windows, strict=True):
                    mine.carry_over(theirs)
            self._paused_until = max(self._paused_until, previous._paused_until)

    def observe_remaining(self, remaining: int) -> None:
        if self._quota is not None:
            with self._lock:
                self._quota.observe_remote(remaining, self.clock.now())

    def quota_status(self) -> QuotaStatus | None:
        if self._quota is None:
            return None
        with self._lock:
            return self._quota.status(self.clock.now())


def planfix_limiter(
    requests_per_second: float,
    daily_quota: int,
    reserve: float,
    zone: ZoneInfo,
    clock: Clock | None = None,
) -> AccountLimiter:
    clk = clock or SystemClock()
    return AccountLimiter(
        "planfix",
        [per_second_window(requests_per_second)],
        DailyQuota(daily_quota, reserve, zone, clk.now()),
        clk,
    )


def planningpme_limiter(requests_per_hour: int, clock: Clock | None = None) -> AccountLimiter:
    return AccountLimiter("planningpme", [SlidingWindow(requests_per_hour, 3600.0, guard=1.0)], None, clock)
