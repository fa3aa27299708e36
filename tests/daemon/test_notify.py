"""What systemd hears from the daemon over a real AF_UNIX datagram socket: READY=1 only once
both systems answered, STATUS= with the last cycle's summary, WATCHDOG=1 only while the daemon
is alive, STOPPING=1 at the end; and a fatal start (wrong token) that never says READY=1."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

import syncd.service.startup
from syncd.emulators.common import EmulatorServer
from syncd.emulators.planningpme import EmulatorOptions, PlanningPmeEmulator
from syncd.service.daemon import Daemon
from syncd.service.liveness import HEARTBEAT_STALE_S, STUCK_AFTER_S
from syncd.service.scheduler import HEARTBEAT_JOB
from syncd.service.systemd import Notifier
from tests.daemon.conftest import (
    DaemonFactory,
    Event,
    FakeClock,
    ManualScheduler,
    NotifySocket,
    named,
    planfix_server,
    wait_until,
)
from tests.e2e.conftest import World


class Serving:
    """``daemon.serve()`` in a thread, as ``syncd run`` runs it in the main thread."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.code: int | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.code = self.daemon.serve(tick_s=0.05)

    def stop(self) -> int | None:
        self.daemon.stop_event.set()
        self.thread.join(60)
        assert not self.thread.is_alive()
        return self.code


def test_a_real_run_says_ready_then_status_and_watchdog_then_stopping(
    world: World, make_daemon: DaemonFactory, notify_socket: NotifySocket
) -> None:
    world.pf("POST", "seed", {"tasks": 4, "contacts": 3, "seed": 1})
    world.pme("POST", "seed", {"events": 2, "customers": 2, "seed": 2})
    env = {**notify_socket.env, "WATCHDOG_USEC": "1000000"}  # ping every half second
    serving = Serving(make_daemon(world, notifier=Notifier(env), env=env))
    try:
        notify_socket.wait_for("READY=1")
        wait_until(
            lambda: any(
                line.startswith("STATUS=contacts: ") and "tasks: not run yet" not in line
                for line in notify_socket.lines()
            ),
            what="a STATUS= line with both pairs' last cycle",
        )
        notify_socket.wait_for("WATCHDOG=1")
    finally:
        code = serving.stop()
    assert code == 0
    lines = notify_socket.lines()
    assert lines.count("READY=1") == 1
    ready = lines.index("READY=1")
    summaries = [i for i, line in enumerate(lines) if line.startswith("STATUS=contacts: create")]
    assert summaries and min(summaries) > ready
    status = lines[summaries[-1]]
    assert "contacts: create" in status and "tasks: create" in status, status
    assert lines.index("WATCHDOG=1") > ready
    assert lines[-1] == "STOPPING=1"


def test_ready_waits_until_both_systems_answer(
    world_with: Callable[..., World],
    make_daemon: DaemonFactory,
    notify_socket: NotifySocket,
    logs: list[Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(syncd.service.startup, "STARTUP_RETRY_BASE_S", 0.05)
    app = PlanningPmeEmulator(EmulatorOptions(hourly_limit=0)).app
    pme = EmulatorServer(app)
    w = world_with(planfix_server(), pme)
    pme.stop()  # PlanningPME is down when syncd starts
    daemon = make_daemon(w, limiter_clock=FakeClock(), notifier=Notifier(notify_socket.env))
    serving = Serving(daemon)
    back: EmulatorServer | None = None
    try:
        wait_until(lambda: len(named(logs, "daemon.waiting_for_remote")) >= 2, what="two start attempts")
        assert "READY=1" not in notify_socket.lines()
        assert any(line.startswith("STATUS=waiting for planningpme") for line in notify_socket.lines())
        back = EmulatorServer(app, port=pme.port).start()
        notify_socket.wait_for("READY=1")
    finally:
        assert serving.stop() == 0
        if back is not None:
            back.stop()
    waits = [e["retry_in_s"] for e in named(logs, "daemon.waiting_for_remote")]
    assert waits[:2] == [0.05, 0.1], "start-up retries back off too"


def test_a_wrong_token_ends_serve_with_exit_3_and_never_says_ready(
    world: World, make_daemon: DaemonFactory, notify_socket: NotifySocket, logs: list[Event]
) -> None:
    daemon = make_daemon(world, notifier=Notifier(notify_socket.env), token="not-the-token")
    assert daemon.serve(tick_s=0.05) == 3
    (fatal,) = named(logs, "daemon.fatal")
    assert fatal["log_level"] == "error" and "planfix.token" in fatal["error"]
    assert not [e for e in logs if "not-the-token" in str(e)]
    lines = notify_socket.lines()
    assert "READY=1" not in lines
    assert [line for line in lines if line.startswith("STATUS=stopped: planfix")]


def test_the_watchdog_is_fed_only_while_the_scheduler_runs_and_cycles_make_progress(
    world: World,
    make_daemon: DaemonFactory,
    notify_socket: NotifySocket,
    sched_clock: FakeClock,
    logs: list[Event],
) -> None:
    env = {**notify_socket.env, "WATCHDOG_USEC": "2000000"}  # a ping is due every second
    sched = ManualScheduler()
    daemon = make_daemon(
        world,
        clock=sched_clock,
        notifier=Notifier(env),
        env=env,
        scheduler_factory=lambda: sched,
    )

    def pings_after(step: Callable[[], None]) -> int:
        before = notify_socket.lines().count("WATCHDOG=1")
        step()
        sched_clock.advance(1)
        daemon.tick()
        return notify_socket.lines().count("WATCHDOG=1") - before

    assert not daemon.alive(), "no scheduler yet"
    daemon.start_scheduler()
    for job in sched.get_jobs():
        if job.id != HEARTBEAT_JOB:  # no cycles: only the heartbeat matters here
            job.remove()
    assert pings_after(sched.tick) == 1

    # The scheduler stops running jobs: the heartbeat goes stale, the watchdog starves.
    assert pings_after(lambda: sched_clock.advance(HEARTBEAT_STALE_S)) == 0
    assert pings_after(lambda: None) == 0
    assert len(named(logs, "daemon.stuck")) == 1, "said once, not every tick"
    assert pings_after(sched.tick) == 1

    # A cycle in flight that sends no request for hours is stuck too ...
    daemon.running_since["tasks"] = sched_clock.monotonic()

    def hours_without_a_request() -> None:
        sched_clock.advance(STUCK_AFTER_S)
        sched.tick()

    assert pings_after(hours_without_a_request) == 0
    # ... until it sends one: progress, not duration, is what counts.
    assert pings_after(lambda: daemon.pairs["tasks"].connectors["planfix"].get("1")) == 1
