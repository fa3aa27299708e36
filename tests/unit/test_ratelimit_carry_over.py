"""A reload builds new limiters: they go on from the old ones' counts instead of starting afresh."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from syncd.errors import QuotaExhaustedError
from syncd.ratelimit import planfix_limiter, planningpme_limiter
from tests.unit.test_ratelimit import FakeClock

MOSCOW = ZoneInfo("Europe/Moscow")


def test_the_days_count_survives_a_new_limiter() -> None:
    clock = FakeClock()
    old = planfix_limiter(1000, 100, 0.1, MOSCOW, clock)
    for _ in range(40):
        old.acquire()
    new = planfix_limiter(1000, 100, 0.1, MOSCOW, clock)
    new.acquire()  # e.g. the reload's own credential check
    new.carry_over(old)
    status = new.quota_status()
    assert status is not None and status.used_today == 41
    for _ in range(49):
        new.acquire()
    with pytest.raises(QuotaExhaustedError, match="90 of 100"):
        new.acquire()


def test_the_remotes_last_word_carries_over_too() -> None:
    clock = FakeClock()
    old = planfix_limiter(1000, 100, 0.0, MOSCOW, clock)
    old.acquire()
    old.observe_remaining(30)  # other clients used 69 more
    old.acquire()
    new = planfix_limiter(1000, 100, 0.0, MOSCOW, clock)
    new.carry_over(old)
    status = new.quota_status()
    assert status is not None and status.used_today == 71 and status.remote_remaining == 30


def test_yesterdays_count_does_not_carry_into_a_new_day() -> None:
    clock = FakeClock()
    old = planfix_limiter(1000, 100, 0.1, MOSCOW, clock)
    for _ in range(10):
        old.acquire()
    clock.sleep(24 * 3600)
    new = planfix_limiter(1000, 100, 0.1, MOSCOW, clock)
    new.carry_over(old)
    status = new.quota_status()
    assert status is not None and status.used_today == 0


def test_a_spent_hourly_budget_and_a_pause_stay_spent() -> None:
    clock = FakeClock()
    old = planningpme_limiter(3, clock)
    for _ in range(3):
        old.acquire()
    old.pause(600)
    new = planningpme_limiter(3, clock)
    new.carry_over(old)
    started = clock.monotonic()
    new.acquire()
    assert clock.monotonic() - started >= timedelta(hours=1).total_seconds()
