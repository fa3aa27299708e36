"""One bad record never stops the others (property 10): it goes to the failure queue with
exponential backoff, the run's exit code is 1, after ``max_attempts`` it is parked and shown by
`syncd status`, and once fixed it syncs."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from state.store import Store
from syncd.connectors.http import RetryPolicy
from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import (
    Tap,
    cli,
    fault,
    links,
    planningpme,
    planningpme_call,
    set_sync,
    state,
    state_path,
    sync_through,
)
from tests.e2e.scenarios.people import People

TOO_LONG = "Revisión completa de la instalación " * 8
"""A title Planfix takes and PlanningPME refuses (an event label has at most 255 characters)."""
BACKOFF = 0.05


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, rng: 0.0)
    yield


def event_creates(world: World) -> int:
    return int(world.pme("GET", "stats")["by_method"].get("POST /api/do", 0))


def wait_for_retry(attempts: int) -> None:
    """Until the record's retry is due (the n-th failure waits backoff * 2**(n-1))."""
    time.sleep(BACKOFF * 2 ** (attempts - 1) + 0.02)


def test_a_record_the_target_refuses_does_not_stop_the_others(world: World, people: People) -> None:
    set_sync(world, retry_backoff='"1h"')
    bad = people.add_task(TOO_LONG)
    good = [people.add_task("Boiler inspection"), people.add_task("Network cabling")]

    code, report = cli(world, "run", "--once")

    assert code == 1
    assert set(links(world, "tasks")) == set(good)
    assert sorted(e["label"] for e in planningpme(world, "events").values()) == [
        "Boiler inspection",
        "Network cabling",
    ]
    assert "[failed]" in report and "label" in report
    with state(world) as store:
        [failure] = store.failures()
    assert (failure.side, failure.key, failure.operation, failure.attempts) == ("planfix", bad, "create", 1)
    assert failure.next_retry_at == failure.last_failed_at + timedelta(hours=1)
    assert "255" in failure.last_error

    world.reset_stats()
    code, _ = cli(world, "run", "--once")

    assert code == 0, "a record waiting for its retry is not a new failure"
    assert event_creates(world) == 0, "not tried again before its backoff is over"
    with state(world) as store:
        assert store.failures()[0].attempts == 1


def test_a_record_fixed_before_its_retry_syncs(world: World, people: People) -> None:
    set_sync(world, retry_backoff=f'"{BACKOFF}s"')
    bad = people.add_task(TOO_LONG)
    world.sync()
    people.edit_task(bad, title="Revisión completa de la instalación")
    wait_for_retry(1)

    [_contacts, tasks] = world.sync()

    assert tasks.failed == 0
    event = links(world, "tasks")[bad]
    assert planningpme(world, "events")[event]["label"] == "Revisión completa de la instalación"
    with state(world) as store:
        assert store.failures() == []


def test_a_record_failing_again_and_again_is_parked_and_shown(world: World, people: People) -> None:
    set_sync(world, retry_backoff=f'"{BACKOFF}s"', max_attempts="3")
    bad = people.add_task(TOO_LONG)
    failures = []
    for attempt in (1, 2, 3):
        [_contacts, tasks] = world.sync()
        assert tasks.failed == 1
        with state(world) as store:
            [row] = store.failures()
        failures.append(row)
        wait_for_retry(attempt)

    assert [f.attempts for f in failures] == [1, 2, 3]
    assert [f.next_retry_at - f.last_failed_at for f in failures[:2] if f.next_retry_at] == [
        timedelta(seconds=BACKOFF),
        timedelta(seconds=2 * BACKOFF),
    ], "exponential backoff"
    assert failures[2].parked and failures[2].next_retry_at is None
    code, text = cli(world, "status", "--json")
    status = json.loads(text)
    assert code == 0
    assert (status["parked"], status["failures"]) == (1, 0)
    assert [(f["key"], f["parked"]) for f in status["failing_records"]] == [(bad, True)]
    assert f'"key": "{bad}"' in cli(world, "status")[1]

    world.reset_stats()
    world.sync()
    assert event_creates(world) == 0, "a parked record is not tried again"

    people.edit_task(bad, title="Revisión completa")
    with Store.open(state_path(world)) as store:  # the admin gives it another chance
        assert store.unpark("tasks", "planfix", bad)
    [_contacts, tasks] = world.sync()

    assert tasks.failed == 0
    assert planningpme(world, "events")[links(world, "tasks")[bad]]["label"] == "Revisión completa"
    with state(world) as store:
        assert store.failures() == []


def test_a_write_that_fails_for_one_record_leaves_the_others_synced(world: World, people: People) -> None:
    set_sync(world, retry_backoff=f'"{BACKOFF}s"')
    tasks = [people.add_task("Boiler inspection"), people.add_task("Network cabling")]
    world.sync()
    events = [links(world, "tasks")[t] for t in tasks]
    for task in tasks:
        people.edit_task(task, description="<p>Moved to the afternoon</p>")
    tap = Tap()
    down = fault(world, "planningpme", fail_next=RetryPolicy().attempts, error=503)
    tap.before(planningpme_call(f"PUT /api/do/{events[0]}"), down)

    [_contacts, result] = sync_through(world, {"planningpme": tap})

    assert not tap.rules
    assert result.failed == 1
    descriptions = {k: e["description"] for k, e in planningpme(world, "events").items()}
    assert descriptions[events[1]] == "Moved to the afternoon"
    assert descriptions[events[0]] == "Created by hand in Planfix"
    wait_for_retry(1)
    [_contacts, result] = world.sync()
    assert result.failed == 0
    assert planningpme(world, "events")[events[0]]["description"] == "Moved to the afternoon"
    with state(world) as store:
        assert store.failures() == []
