"""The failure queue: exponential backoff without jitter, parking after N tries, unparking."""

from __future__ import annotations

from datetime import timedelta

import pytest

from state.backoff import retry_delay
from state.rows import FailureRow
from state.store import Store
from state.store.failures import MAX_ERROR_CHARS
from tests.state.conftest import NOW


def fail(
    store: Store, key: str = "123", *, minutes: int = 0, error: str = "planfix: invalid (code 0007)"
) -> FailureRow:
    return store.record_failure(
        "tasks",
        "planfix",
        key,
        "update",
        error,
        NOW + timedelta(minutes=minutes),
        max_attempts=4,
        backoff_base_s=60.0,
        backoff_cap_s=150.0,
    )


def test_retry_delay_doubles_from_the_base_up_to_the_cap() -> None:
    delays = [retry_delay(n, base_s=60, cap_s=150).total_seconds() for n in range(1, 6)]
    assert delays == [60, 120, 150, 150, 150]
    assert retry_delay(10_000, base_s=1, cap_s=3600) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("attempts", "base", "cap"),
    [(0, 1.0, 2.0), (1, 0.0, 2.0), (1, 3.0, 2.0)],
    ids=["attempts", "base", "cap"],
)
def test_retry_delay_rejects_nonsense(attempts: int, base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        retry_delay(attempts, base_s=base, cap_s=cap)


def test_each_failure_waits_longer_and_the_last_one_parks_the_record(store: Store) -> None:
    rows = [fail(store) for _ in range(4)]

    assert [r.attempts for r in rows] == [1, 2, 3, 4]
    assert [r.next_retry_at for r in rows] == [
        NOW + timedelta(seconds=60),
        NOW + timedelta(seconds=120),
        NOW + timedelta(seconds=150),
        None,
    ]
    assert [r.parked for r in rows] == [False, False, False, True]
    assert store.failures("tasks") == [rows[-1]]


def test_the_row_keeps_the_first_failure_time_and_the_latest_error(store: Store) -> None:
    fail(store, error="first")
    row = fail(store, minutes=5, error="second")

    assert (row.first_failed_at, row.last_failed_at, row.last_error) == (
        NOW,
        NOW + timedelta(minutes=5),
        "second",
    )


def test_a_huge_error_message_is_cut(store: Store) -> None:
    assert len(fail(store, error="x" * 100_000).last_error) == MAX_ERROR_CHARS


def test_a_record_backs_off_until_its_retry_time(store: Store) -> None:
    fail(store)

    assert store.is_backing_off("tasks", "planfix", "123", NOW + timedelta(seconds=59))
    assert not store.is_backing_off("tasks", "planfix", "123", NOW + timedelta(seconds=60))
    assert not store.is_backing_off("tasks", "planfix", "999", NOW)
    assert store.due_failures(NOW + timedelta(seconds=59)) == []
    assert [f.key for f in store.due_failures(NOW + timedelta(seconds=60), "tasks")] == ["123"]
    assert store.due_failures(NOW + timedelta(seconds=60), "contacts") == []


def test_a_parked_record_is_never_due_until_unparked(store: Store) -> None:
    for _ in range(4):
        fail(store)
    far_future = NOW + timedelta(days=365)

    assert store.is_backing_off("tasks", "planfix", "123", far_future)
    assert store.due_failures(far_future) == []

    assert store.unpark("tasks", "planfix", "123") is True
    assert store.unpark("tasks", "planfix", "123") is False
    assert not store.is_backing_off("tasks", "planfix", "123", NOW)
    assert [f.key for f in store.due_failures(NOW)] == ["123"]
    assert fail(store).attempts == 1  # a fresh set of attempts


def test_a_success_clears_the_failure(store: Store) -> None:
    fail(store)

    assert store.clear_failure("tasks", "planfix", "123") is True
    assert store.clear_failure("tasks", "planfix", "123") is False
    assert store.failure("tasks", "planfix", "123") is None
    assert store.failures() == []


def test_failures_are_per_pair_side_and_key(store: Store) -> None:
    fail(store, "1")
    fail(store, "2")
    store.record_failure(
        "contacts",
        "planningpme",
        "1",
        "create",
        "boom",
        NOW,
        max_attempts=4,
        backoff_base_s=60.0,
        backoff_cap_s=150.0,
    )

    assert {(f.pair, f.side, f.key) for f in store.failures()} == {
        ("tasks", "planfix", "1"),
        ("tasks", "planfix", "2"),
        ("contacts", "planningpme", "1"),
    }
    assert [f.key for f in store.failures("contacts")] == ["1"]


def test_max_attempts_below_one_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        store.record_failure(
            "tasks", "planfix", "1", "update", "boom", NOW, max_attempts=0, backoff_base_s=1, backoff_cap_s=1
        )
