"""The daemon's cycles against both emulators over real HTTP: the per-pair lock, the shared
account limiters, the quota reserve, and recovery after an outage (controllable clock)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from state.store import Store
from syncd.emulators.common import EmulatorServer
from syncd.emulators.planfix import PlanfixEmulatorConfig, create_app
from syncd.service.backoff import BACKOFF_CAP_S, backoff
from tests.daemon.conftest import (
    DaemonFactory,
    Event,
    FakeClock,
    named,
    planfix_server,
    planningpme_server,
    wait_until,
)
from tests.e2e.conftest import World


def in_threads(*calls: tuple[object, ...]) -> None:
    """Run ``(function, *args)`` calls side by side and wait for all of them."""
    threads = [threading.Thread(target=c[0], args=c[1:]) for c in calls]  # type: ignore[arg-type]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive()


MARKER_FIELD = {"tasks": "101", "contacts": "201", "events": "PLANFIX_ID", "customers": "PLANFIX_ID"}


def marker(kind: str, record: dict) -> str | None:
    """The other system's key stored on ``record`` (records as the control API lists them)."""
    if kind in ("events", "customers"):
        value = (record.get("fields") or {}).get("PLANFIX_ID")
        return str(value) if value else None
    for item in record.get("customData") or []:
        if item["field"]["id"] == MARKER_FIELD[kind] and item.get("value"):
            return str(item["value"])
    return None


def assert_no_duplicates(world: World) -> None:
    for kind in MARKER_FIELD:
        seen = Counter(m for r in world.records(kind) if (m := marker(kind, r)))
        assert not [m for m, n in seen.items() if n > 1], f"duplicate {kind}: {seen}"


def test_cycles_of_the_same_pair_never_overlap(
    world: World, make_daemon: DaemonFactory, logs: list[Event]
) -> None:
    world.pf("POST", "seed", {"tasks": 6, "contacts": 4, "seed": 3})
    world.pme("POST", "faults", {"latency_ms": 40})  # every PlanningPME call is slow
    daemon = make_daemon(world)
    first = threading.Thread(target=daemon.run_pair, args=("tasks", False))
    first.start()
    wait_until(lambda: bool(named(logs, "cycle.started", pair="tasks")), what="the first cycle")
    second = threading.Thread(target=daemon.run_pair, args=("tasks", True))
    second.start()  # falls due while the first cycle is still reading or writing
    first.join(120)
    second.join(120)
    sequence = [(e["event"], e.get("full")) for e in logs if e["event"] in ("cycle.started", "cycle.done")]
    assert sequence == [
        ("cycle.started", False),
        ("cycle.done", False),
        ("cycle.started", True),
        ("cycle.done", True),
    ]


def test_both_pairs_together_stay_under_the_planfix_rate(
    world_with: Callable[..., World], make_daemon: DaemonFactory, logs: list[Event]
) -> None:
    """The emulator rejects (HTTP 429) anything above 20 requests/s; the daemon runs both pairs at
    once, and their requests share one account limiter, so no request is ever rejected."""
    w = world_with(planfix_server(rate=20, over_rate="reject"), planningpme_server())
    w.pf("POST", "seed", {"tasks": 6, "contacts": 4, "seed": 5})
    w.pme("POST", "seed", {"events": 12, "customers": 36, "seed": 6})
    daemon = make_daemon(w, pf_rate=20)
    in_threads((daemon.run_pair, "contacts", False), (daemon.run_pair, "tasks", False))
    # Without the shared limiter the two pairs send twice the rate: dozens of 429s. With it, at most
    # a stray one, when the machine delays one request and not the next (arrival times jitter).
    assert len([e for e in named(logs, "remote.retry") if e.get("system") == "planfix"]) <= 2
    assert all(h.failures_in_a_row == 0 for h in daemon.health.values()), daemon.status_line()
    assert w.pf("GET", "stats")["total"] > 40, "enough requests to hit the limit without the limiter"
    assert w.pf("GET", "stats")["writes"] > 0


@pytest.mark.parametrize(
    ("side", "fault", "reply_event"),
    [
        ("planfix", {"fail_next": 2, "error": 429}, "remote.retry"),
        ("planningpme", {"fail_next": 2, "error": 429}, "remote.retry"),
    ],
)
def test_rate_limit_replies_pause_the_account_then_the_cycle_goes_on(
    world: World,
    make_daemon: DaemonFactory,
    logs: list[Event],
    side: str,
    fault: dict,
    reply_event: str,
) -> None:
    world.pf("POST", "seed", {"contacts": 3, "seed": 2})
    world.pme("POST", "seed", {"customers": 2, "seed": 3})
    clock = FakeClock()
    daemon = make_daemon(world, clock=clock)
    (world.pf if side == "planfix" else world.pme)("POST", "faults", fault)
    daemon.run_pair("contacts", False)
    assert daemon.health["contacts"].failures_in_a_row == 0, daemon.status_line()
    assert len(named(logs, reply_event)) >= 2
    # 429 rests the account for its Retry-After (1 s): the limiter waited that long on its clock
    # before the next request. (Planfix documents no per-second reply; 0007 is its daily limit.)
    assert any(s >= 0.99 for s in clock.slept), clock.slept
    assert len(world.records("customers")) == len(world.records("contacts")) == 5
    assert_no_duplicates(world)


def _next_midnight(now: datetime, zone: str) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), ZoneInfo(zone))


def test_quota_reserve_stops_writes_says_so_and_resumes_after_the_reset(
    world: World, make_daemon: DaemonFactory, logs: list[Event]
) -> None:
    world.pme("POST", "seed", {"customers": 12, "seed": 4})  # 12 Planfix contacts to create
    clock = FakeClock()
    daemon = make_daemon(world, clock=clock, quota=20, reserve=0.5)  # syncd may use 10 a day
    daemon.run_pair("contacts", False)

    (said,) = named(logs, "quota.reserve_reached", pair="contacts")
    assert said["system"] == "planfix"
    health = daemon.health["contacts"]
    assert health.paused_for == "quota" and "quota reserve reached" in daemon.status_line()
    used = world.pf("GET", "stats")["total"]
    assert used <= 10, "the reserve (10 of 20) is left for people's own scripts"
    created_on_day_one = len(world.records("contacts"))
    assert 0 < created_on_day_one < 12

    daemon.run_pair("contacts", False)  # still the same day: nothing is sent
    assert world.pf("GET", "stats")["total"] == used
    assert len(named(logs, "quota.reserve_reached")) == 1

    clock.advance((_next_midnight(clock.now(), "Europe/Moscow") - clock.now()).total_seconds() + 60)
    for _ in range(3):  # a small quota: the rest may need another day or two
        daemon.run_pair("contacts", False)
        if health.paused_for is None:
            break
        clock.advance(86400)
    assert named(logs, "quota.resumed", pair="contacts")
    assert health.paused_for is None, daemon.status_line()
    assert len(world.records("contacts")) == 12
    assert_no_duplicates(world)


def test_an_outage_backs_off_exponentially_to_a_cap_and_recovers_by_itself(
    world_with: Callable[..., World], make_daemon: DaemonFactory, logs: list[Event]
) -> None:
    app = create_app(PlanfixEmulatorConfig(rate=0, daily_quota=0))
    planfix = EmulatorServer(app)
    w = world_with(planfix, planningpme_server())
    w.pf("POST", "seed", {"contacts": 4, "seed": 8})
    clock = FakeClock()
    daemon = make_daemon(w, clock=clock)
    health = daemon.health["contacts"]
    planfix.stop()  # Planfix is down: connections are refused

    waits: list[float] = []
    for _ in range(8):
        daemon.run_pair("contacts", False)
        assert health.paused_until is not None
        waits.append((health.paused_until - clock.now()).total_seconds())
        attempts = health.failures_in_a_row
        daemon.run_pair("contacts", False)  # resting: not even tried
        assert health.failures_in_a_row == attempts
        clock.advance(waits[-1])
    assert waits == [backoff(n) for n in range(1, 9)]
    assert waits[:3] == [30.0, 60.0, 120.0] and waits[-2:] == [BACKOFF_CAP_S, BACKOFF_CAP_S]
    assert len(named(logs, "cycle.started")) == 8

    back = EmulatorServer(app, port=planfix.port).start()  # the same account, back on its port
    try:
        daemon.run_pair("contacts", False)
    finally:
        back.stop()
    assert health.failures_in_a_row == 0 and health.paused_until is None
    (recovered,) = named(logs, "cycle.recovered", pair="contacts")
    assert recovered["after_failures"] == 8
    assert len(w.records("customers")) == 4


def test_a_cycle_stopped_mid_apply_leaves_no_open_intent(world: World, make_daemon: DaemonFactory) -> None:
    """SIGTERM semantics in-process: the operation in flight finishes, the rest waits."""
    world.pf("POST", "seed", {"contacts": 8, "seed": 9})
    world.pme("POST", "faults", {"latency_ms": 30})
    daemon = make_daemon(world)
    worker = threading.Thread(target=daemon.run_pair, args=("contacts", False))
    worker.start()
    wait_until(lambda: world.pme("GET", "stats")["writes"] >= 1, what="the first write")
    daemon.stop_event.set()
    worker.join(120)
    customers = world.records("customers")
    assert 1 <= len(customers) < 8
    assert_state_is_whole(daemon.store, world)


def assert_state_is_whole(store: Store, world: World) -> None:
    """No open intent, and every record syncd created is linked to its source."""
    assert store.open_intents() == []
    for kind, pair in (("customers", "contacts"), ("events", "tasks")):
        for record in world.records(kind):
            if (source := marker(kind, record)) is not None:
                link = store.link_by_planningpme(pair, str(record["key"]))
                assert link is not None and link.planfix_key == source, record
    for kind, pair in (("contacts", "contacts"), ("tasks", "tasks")):
        for record in world.records(kind):
            if (source := marker(kind, record)) is not None:
                link = store.link_by_planfix(pair, str(record["id"]))
                assert link is not None and link.planningpme_key == source, record


def test_a_reload_takes_over_once_the_cycle_in_flight_has_finished_its_operation(
    world: World, make_daemon: DaemonFactory, logs: list[Event]
) -> None:
    world.pf("POST", "seed", {"contacts": 8, "seed": 10})
    world.pme("POST", "faults", {"latency_ms": 30})
    daemon = make_daemon(world, contacts_every="1h")
    worker = threading.Thread(target=daemon.run_pair, args=("contacts", False))
    worker.start()
    wait_until(lambda: world.pme("GET", "stats")["writes"] >= 1, what="the first write")
    world.config_path.write_text(world.config_path.read_text().replace('"1h"', '"2h"'))
    assert daemon.reload()
    worker.join(120)
    order = [
        e["event"]
        for e in logs
        if e["event"] in ("config.reload_accepted", "cycle.interrupted", "config.reloaded")
    ]
    assert order == ["config.reload_accepted", "cycle.interrupted", "config.reloaded"]
    assert daemon.settings.schedule.contacts_every == 7200
    world.pme("DELETE", "faults")
    daemon.run_pair("contacts", False)  # the next cycle, under the new config, finishes the job
    assert len(world.records("customers")) == 8
    assert_state_is_whole(daemon.store, world)
