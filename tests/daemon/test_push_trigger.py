"""Pushes bring the contact mappings forward, cheaply: a burst within ``push.debounce`` runs one
push-only cycle, which reads just the pushed contacts by key instead of listing every contact; a
push that arrives while that cycle runs gets a follow-up; and a push-only cycle that fails leaves
the queue for the next cycle. Real HTTP to the emulators and to the push endpoint; the scheduler's
clock moves only when the test says so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from syncd.push.endpoint import PushServer, create_push_app
from syncd.runtime import Remotes
from syncd.service.daemon import Daemon
from syncd.service.push_trigger import PUSH_JOB
from syncd.settings import PushSettings
from tests.daemon.conftest import DaemonFactory, Event, FakeClock, ManualScheduler, named, wait_until
from tests.e2e.conftest import World

TOKEN = "a-push-token-for-the-daemon-tests"
ACCOUNT_SIZE = 150
"""Planfix contacts already there: listing them takes two pages."""


class Endpoint:
    """The push endpoint wired to a daemon, and a Planfix that pushes contacts to it."""

    def __init__(self, daemon: Daemon, clock: FakeClock, world: World) -> None:
        app = create_push_app(
            daemon.store, PushSettings(enabled=True, token=TOKEN), daemon.contact_changed, clock.now
        )
        self.server = PushServer(app, "127.0.0.1:0")
        self.world = world
        self.list_id = ""

    def send(self, action: str, data: dict[str, Any]) -> dict[str, Any]:
        body = {"action": action, "authToken": TOKEN, "data": data}
        reply: dict[str, Any] = httpx.post(self.server.base_url, json=body, timeout=30).json()
        assert "error" not in reply, reply
        return reply

    def push_contact(self, key: str, email: str) -> None:
        if not self.list_id:
            self.list_id = self.send("createList", {"listName": "Customers to plan"})["listId"]
        contact = {"id": int(key), "email": email, "firstName": "Pushed", "lastName": key}
        self.send("updateContact", {"listId": self.list_id, "action": "add", "contact": contact})


@contextmanager
def endpoint(daemon: Daemon, clock: FakeClock, world: World) -> Iterator[Endpoint]:
    ep = Endpoint(daemon, clock, world)
    with ep.server:
        yield ep


def new_contacts(world: World, count: int) -> list[tuple[str, str]]:
    """Contacts made in Planfix after the last scan: (key, email)."""
    remotes: Remotes = world.remotes()
    try:
        made = []
        for n in range(count):
            email = f"pushed{n}@example.com"
            record = remotes.by_entity["contact"].create(
                {"name": "Pushed", "lastName": f"P{n}", "email": email}, None
            )
            made.append((record.key, email))
        return made
    finally:
        remotes.close()


def customers_with(world: World, email: str) -> list[dict[str, Any]]:
    return [c for c in world.records("customers") if c.get("email") == email]


def push_cycles(logs: list[Event]) -> list[Event]:
    return named(logs, "cycle.started", pushed_only=True)


@pytest.fixture
def started(
    world: World, make_daemon: DaemonFactory, sched_clock: FakeClock, manual: ManualScheduler
) -> Daemon:
    """A daemon whose start-up pass has synced an account of ``ACCOUNT_SIZE`` contacts."""
    world.pf("POST", "seed", {"tasks": 0, "contacts": ACCOUNT_SIZE, "seed": 7})
    daemon = make_daemon(world, now=sched_clock.now, scheduler_factory=lambda: manual)
    daemon.start_scheduler()
    manual.tick()  # the start-up pass
    return daemon


def test_a_burst_of_pushes_runs_one_cycle_that_reads_only_the_pushed_contacts(
    world: World, started: Daemon, sched_clock: FakeClock, manual: ManualScheduler, logs: list[Event]
) -> None:
    made = new_contacts(world, 3)
    with endpoint(started, sched_clock, world) as ep:
        world.reset_stats()
        for key, email in made:  # three requests, as Planfix sends them one by one
            ep.push_contact(key, email)
        manual.tick()
        sched_clock.advance(started.settings.push.debounce - 0.5)
        manual.tick()
        assert push_cycles(logs) == [], "the burst waits for the debounce delay"
        sched_clock.advance(1)
        manual.tick()

    (cycle,) = push_cycles(logs)
    assert cycle["pair"] == "contacts"
    for _, email in made:
        assert len(customers_with(world, email)) == 1
    assert started.store.pending_pushed_changes() == []
    planfix = world.pf("GET", "stats")["by_method"]
    # Proportional to what was pushed, not to the account: no listing, one read per contact.
    assert planfix.get("contact.getList", 0) == 0
    assert planfix["contact.get"] == len(made)
    assert sum(planfix.values()) <= 2 * len(made)  # the reads, and the markers written back
    assert [job for job in manual.get_jobs() if job.name == PUSH_JOB] == [], "nothing more to do"


def test_a_push_during_the_push_cycle_gets_a_follow_up_cycle(
    world: World,
    started: Daemon,
    sched_clock: FakeClock,
    manual: ManualScheduler,
    logs: list[Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (first, second) = new_contacts(world, 2)
    with endpoint(started, sched_clock, world) as ep:
        run_pair = started.run_pair

        def push_arrives_meanwhile(name: str, full: bool, pushed_only: bool = False) -> None:
            run_pair(name, full, pushed_only)
            if not customers_with(world, second[1]) and len(push_cycles(logs)) == 1:
                ep.push_contact(*second)  # after this cycle read the queue, before it returned

        monkeypatch.setattr(started, "run_pair", push_arrives_meanwhile)
        ep.push_contact(*first)
        sched_clock.advance(started.settings.push.debounce)
        manual.tick()
        assert len(customers_with(world, first[1])) == 1
        assert customers_with(world, second[1]) == []
        assert [c.contact_id for c in started.store.pending_pushed_changes()] == [second[0]]
        sched_clock.advance(started.settings.push.debounce)
        manual.tick()

    assert len(push_cycles(logs)) == 2
    assert len(customers_with(world, second[1])) == 1
    assert started.store.pending_pushed_changes() == []


def test_a_failed_push_cycle_loses_nothing(
    world: World, started: Daemon, sched_clock: FakeClock, manual: ManualScheduler, logs: list[Event]
) -> None:
    ((key, email),) = new_contacts(world, 1)
    with endpoint(started, sched_clock, world) as ep:
        world.pme("POST", "faults", {"error_rate": 1.0})
        ep.push_contact(key, email)
        sched_clock.advance(started.settings.push.debounce)
        manual.tick()
        assert len(push_cycles(logs)) == 1
        assert named(logs, "cycle.failed", pair="contacts")
        assert [c.contact_id for c in started.store.pending_pushed_changes()] == [key]
        world.pme("POST", "faults", {})
        sched_clock.advance(3600)  # the scheduled contact cycle, the safety net
        manual.tick()

    assert len(customers_with(world, email)) == 1
    assert started.store.pending_pushed_changes() == []


def test_a_push_while_a_scheduled_cycle_runs_is_synced_right_after_it(
    world: World, make_daemon: DaemonFactory, sched_clock: FakeClock, logs: list[Event]
) -> None:
    """The scheduled contact cycle has read the queue and is busy writing when the push arrives;
    the push-triggered cycle waits for it and then runs (the push used to bring the running job
    forward, and that second instance was dropped: the contact waited for the next interval)."""
    world.pf("POST", "seed", {"tasks": 0, "contacts": 5, "seed": 8})
    sched = ManualScheduler(threaded=True)
    daemon = make_daemon(world, now=sched_clock.now, scheduler_factory=lambda: sched)
    try:
        daemon.start_scheduler()
        sched.tick()  # the start-up pass, in a worker thread
        wait_until(lambda: len(named(logs, "cycle.done")) == 2, what="the start-up pass")
        batch = new_contacts(world, 10)  # work for the scheduled cycle: ten slow creates
        world.reset_stats()
        world.pme("POST", "faults", {"latency_ms": 200})
        with endpoint(daemon, sched_clock, world) as ep:
            sched_clock.advance(3600)
            sched.tick()  # the scheduled incremental cycles start
            wait_until(lambda: world.pme("GET", "stats")["writes"] > 0, what="the scheduled cycle's writes")
            late = {"name": "Late", "lastName": "Comer", "email": "late@example.com"}
            pushed = world.create("contact", late)
            ep.push_contact(pushed.key, "late@example.com")
            assert "contacts" in daemon.running_since, "the push must arrive while the cycle runs"
            sched_clock.advance(daemon.settings.push.debounce)
            sched.tick()
            wait_until(
                lambda: bool(customers_with(world, "late@example.com")), what="the pushed contact", timeout=30
            )
            wait_until(lambda: not daemon.running_since, what="every cycle to end")
        world.pme("POST", "faults", {})
        assert len(customers_with(world, "late@example.com")) == 1
        assert all(len(customers_with(world, email)) == 1 for _, email in batch)
        assert daemon.store.pending_pushed_changes() == []
        contacts = [
            (e["event"], e.get("pushed_only"))
            for e in logs
            if e["event"] in ("cycle.started", "cycle.done") and e["pair"] == "contacts"
        ]
        assert [c for c in contacts if c[0] == "cycle.started"] == [
            ("cycle.started", False),  # start-up
            ("cycle.started", False),  # scheduled
            ("cycle.started", True),  # push-triggered, once the scheduled one was done
        ]
        assert contacts[-2:] == [("cycle.started", True), ("cycle.done", None)]
    finally:
        sched.shutdown(wait=True)
