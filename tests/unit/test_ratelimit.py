from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.errors import QuotaExhaustedError
from syncd.ratelimit import AccountLimiter, DailyQuota, SlidingWindow, per_second_window, planfix_limiter


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0
        self.wall = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        self.wall += timedelta(seconds=max(0.0, seconds))

    def now(self) -> datetime:
        return self.wall


@settings(max_examples=60, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 2.0, 20.0, 40.0]),
    gaps=st.lists(st.floats(min_value=0, max_value=0.7), min_size=5, max_size=80),
)
def test_never_more_than_the_limit_in_any_window(rate: float, gaps: list[float]) -> None:
    clock = FakeClock()
    limiter = AccountLimiter("x", [per_second_window(rate)], None, clock)
    sent: list[float] = []
    for gap in gaps:
        clock.sleep(gap)
        limiter.acquire()
        sent.append(clock.monotonic())
    window = 1.0 if rate >= 1 else 1.0 / rate
    limit = round(rate) if rate >= 1 else 1
    for i, start in enumerate(sent):
        in_window = [t for t in sent[i:] if t < start + window]
        assert len(in_window) <= limit


def test_hourly_budget_blocks_until_the_window_frees() -> None:
    clock = FakeClock()
    limiter = AccountLimiter("pme", [SlidingWindow(3, 3600.0)], None, clock)
    for _ in range(3):
        limiter.acquire()
    start = clock.monotonic()
    limiter.acquire()
    assert clock.monotonic() - start == pytest.approx(3600.0)


def test_quota_reserve_stops_writes_but_lets_essential_reads_through() -> None:
    clock = FakeClock()
    limiter = planfix_limiter(1000.0, 100, 0.10, ZoneInfo("Europe/Moscow"), clock)
    for _ in range(90):
        limiter.acquire("write")
    with pytest.raises(QuotaExhaustedError, match="10 kept in reserve"):
        limiter.acquire("write")
    with pytest.raises(QuotaExhaustedError):
        limiter.acquire("read")
    for _ in range(5):
        limiter.acquire("essential")
    with pytest.raises(QuotaExhaustedError):
        limiter.acquire("essential")
    status = limiter.quota_status()
    assert status is not None and status.in_reserve and status.used_today == 95


def test_quota_resets_at_midnight_in_the_account_zone() -> None:
    zone = ZoneInfo("Europe/Moscow")
    now = datetime(2026, 11, 23, 20, 59, tzinfo=UTC)  # 23:59 in Moscow
    quota = DailyQuota(10, 0.5, zone, now)
    for _ in range(5):
        quota.record(now)
    with pytest.raises(QuotaExhaustedError):
        quota.check("write", now)
    quota.check("write", now + timedelta(minutes=2))


def test_remote_hint_counts_other_clients_usage() -> None:
    zone = ZoneInfo("UTC")
    now = datetime(2026, 11, 23, 10, tzinfo=UTC)
    quota = DailyQuota(100, 0.1, zone, now)
    quota.observe_remote(remaining=12, now=now)  # others used 88
    quota.record(now)
    quota.record(now)
    with pytest.raises(QuotaExhaustedError):
        quota.check("write", now)


def test_pause_holds_every_request() -> None:
    clock = FakeClock()
    limiter = AccountLimiter("x", [per_second_window(100.0)], None, clock)
    limiter.pause(30)
    start = clock.monotonic()
    limiter.acquire()
    assert clock.monotonic() - start == pytest.approx(30)
