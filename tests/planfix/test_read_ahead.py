"""Reads before writes, batched: announced task updates read ``read_ahead`` tasks per getMulti, a
copy read ahead is used only while fresh, and a contact update can use the copy the cycle read."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from syncd.connectors.planfix import PlanfixConnectors
from syncd.errors import NotFoundError
from syncd.ratelimit import AccountLimiter, SlidingWindow
from tests.planfix.conftest import FakeClock, Planfix, connect, fast_limiter


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pf(planfix: Planfix, clock: FakeClock) -> Iterator[PlanfixConnectors]:
    connectors = connect(planfix, fast_limiter(clock))
    yield connectors
    connectors.close()


def _tasks(pf: PlanfixConnectors, n: int) -> list[str]:
    return [pf.tasks.create({"title": f"task {i}", "importance": "HIGH"}, None).key for i in range(n)]


def test_announced_updates_read_their_tasks_a_batch_at_a_time(
    planfix: Planfix, pf: PlanfixConnectors
) -> None:
    keys = _tasks(pf, 12)
    planfix.control("POST", "stats/reset")

    pf.tasks.expect_updates(keys)
    for i, key in enumerate(keys):
        pf.tasks.update(key, {"title": f"renamed {i}"})

    by_method = planfix.stats()["by_method"]
    assert by_method == {"task.getMulti": 4, "task.update": 12}, "3 tasks read per task.getMulti"
    titles = {str(t["id"]): t["title"] for t in planfix.records("tasks")}
    assert [titles[k] for k in keys] == [f"renamed {i}" for i in range(12)]
    assert {t["importance"] for t in planfix.records("tasks")} == {"HIGH"}, "unmapped fields kept"


def test_a_copy_read_ahead_is_not_used_once_stale(
    planfix: Planfix, pf: PlanfixConnectors, clock: FakeClock
) -> None:
    first, second = _tasks(pf, 2)
    pf.tasks.expect_updates([first, second])
    pf.tasks.update(first, {"title": "one"})
    people = connect(planfix)
    people.tasks.update(second, {"importance": "LOW"})  # someone edits it meanwhile
    clock.advance(pf.tasks.read_ahead_max_age + 1)
    planfix.control("POST", "stats/reset")

    pf.tasks.update(second, {"title": "two"})

    assert planfix.stats()["by_method"] == {"task.get": 1, "task.update": 1}
    task = next(t for t in planfix.records("tasks") if str(t["id"]) == second)
    assert (task["title"], task["importance"]) == ("two", "LOW"), "the other edit was not undone"
    people.close()


def test_the_copy_each_update_writes_back_is_measured_and_stays_young(
    start_planfix: Callable[..., Planfix],
) -> None:
    """At Planfix's pace (1 request/s here, on a fake clock) a written copy is at most ~3 s old."""
    clock = FakeClock()
    planfix = start_planfix(clock=clock)
    paced = connect(planfix, AccountLimiter("planfix", [SlidingWindow(1, 1.0)], None, clock))
    keys = _tasks(paced, 9)
    paced.tasks.expect_updates(keys)
    for i, key in enumerate(keys):
        paced.tasks.update(key, {"title": f"renamed {i}"})
    ages = paced.tasks.copy_ages
    assert ages.count == 9
    assert 0 < ages.max <= paced.tasks.read_ahead + 0.5, f"oldest copy written back: {ages.max:.2f} s"
    paced.close()


def test_without_announcement_each_update_reads_its_task(planfix: Planfix, pf: PlanfixConnectors) -> None:
    (key,) = _tasks(pf, 1)
    planfix.control("POST", "stats/reset")

    pf.tasks.update(key, {"title": "renamed"})

    assert planfix.stats()["by_method"] == {"task.get": 1, "task.update": 1}


def test_an_announced_task_that_is_gone_is_not_found(planfix: Planfix, pf: PlanfixConnectors) -> None:
    (key,) = _tasks(pf, 1)
    pf.tasks.expect_updates(["999999", key])

    with pytest.raises(NotFoundError):
        pf.tasks.update("999999", {"title": "x"})
    pf.tasks.update(key, {"title": "still works"})


def test_a_contact_update_uses_the_copy_the_cycle_read(planfix: Planfix, pf: PlanfixConnectors) -> None:
    contact = pf.contacts.create({"name": "Ana", "lastName": "López", "email": "ana@example.com"}, "K-1")
    current = pf.contacts.get(contact.key)
    assert current is not None
    planfix.control("POST", "stats/reset")

    updated = pf.contacts.update(contact.key, {"lastName": "García"}, current=current.data)
    pf.contacts.update(contact.key, {"email": "ana@example.com"}, current=current.data)  # no change

    assert planfix.stats()["by_method"] == {"contact.update": 1}
    assert updated.data["lastName"] == "García" and updated.data["customData"]["201"] == "K-1"
    stored = next(c for c in planfix.records("contacts") if str(c["id"]) == contact.key)
    assert (stored["name"], stored["lastName"]) == ("Ana", "García")


def test_a_contact_update_with_custom_data_reads_the_contact_first(
    planfix: Planfix, pf: PlanfixConnectors
) -> None:
    contact = pf.contacts.create({"name": "Ana", "email": "ana@example.com"}, "K-1")
    current = pf.contacts.get(contact.key)
    assert current is not None
    planfix.control("POST", "stats/reset")

    pf.contacts.update(contact.key, {"customData": {"202": "C-9"}}, current=current.data)

    assert planfix.stats()["by_method"] == {"contact.get": 1, "contact.update": 1}
