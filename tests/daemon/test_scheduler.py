"""The schedule, driven by a controllable clock: APScheduler 3 reads ``datetime.now`` in its
scheduler and executor modules, so those two names are replaced by a clock the test moves, and a
scheduler without a thread runs due jobs only when the test ticks it. No real sleeps."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.base import STATE_RUNNING, BaseScheduler

from state.rows import AuditRow
from syncd.service.background import background_scheduler
from syncd.service.history import PRUNE_JOB
from syncd.service.scheduler import (
    HEARTBEAT_JOB,
    STARTUP_JOB,
    Heartbeat,
    add_heartbeat,
    build_scheduler,
    job_specs,
    run_now,
)
from syncd.settings import ScheduleSettings
from tests.daemon.conftest import T0, DaemonFactory, Event, FakeClock, ManualScheduler, named, wait_until
from tests.e2e.conftest import World

PAIRS = [("contacts", "contact"), ("tasks", "task")]


def schedule(**kw: Any) -> ScheduleSettings:
    return ScheduleSettings.model_validate({"jitter": 0, **kw})


class Recorder:
    def __init__(self) -> None:
        self.runs: list[tuple[str, bool]] = []

    def __call__(self, pair: str, full: bool) -> None:
        self.runs.append((pair, full))


def test_job_specs_take_their_intervals_from_the_config() -> None:
    specs = job_specs(PAIRS, schedule(tasks_every="90s", contacts_every="15m", full_scan_every="24h"), T0)
    assert [(s.job_id, s.pair, s.full, s.every_s) for s in specs] == [
        ("contacts:incremental", "contacts", False, 900.0),
        ("contacts:full", "contacts", True, 86400.0),
        ("tasks:incremental", "tasks", False, 90.0),
        ("tasks:full", "tasks", True, 86400.0),
    ]
    # The startup job runs every pair at once, so each job's own first run is one interval later.
    assert all(s.first_run == T0 + timedelta(seconds=s.every_s) for s in specs)


def test_jobs_coalesce_allow_one_instance_and_have_a_grace_and_jitter(manual: ManualScheduler) -> None:
    specs = job_specs(PAIRS, schedule(tasks_every="60s", contacts_every="15m", jitter=5), T0)
    build_scheduler(specs, Recorder(), 5, manual)
    jobs = {job.id: job for job in manual.get_jobs()}
    assert set(jobs) == {s.job_id for s in specs}
    for spec in specs:
        job = jobs[spec.job_id]
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == max(30, int(spec.every_s))
        assert job.trigger.interval == timedelta(seconds=spec.every_s)
        assert job.trigger.jitter == 5
        assert job.args == (spec.pair, spec.full)


def test_jitter_only_ever_delays_and_by_at_most_the_configured_seconds(manual: ManualScheduler) -> None:
    specs = job_specs([("tasks", "task")], schedule(tasks_every="60s"), T0)
    build_scheduler(specs, Recorder(), 7, manual)
    trigger = manual.get_job("tasks:incremental").trigger
    previous = T0
    for _ in range(200):
        fire = trigger.get_next_fire_time(previous, previous)
        assert previous + timedelta(seconds=60) <= fire <= previous + timedelta(seconds=67)
        previous = fire


def test_due_jobs_run_when_their_interval_has_passed(sched_clock: FakeClock, manual: ManualScheduler) -> None:
    runs = Recorder()
    build_scheduler(job_specs(PAIRS, schedule(tasks_every="60s", contacts_every="15m"), T0), runs, 0, manual)
    manual.start()
    sched_clock.advance(59)
    manual.tick()
    assert runs.runs == []
    sched_clock.advance(1)
    manual.tick()
    assert runs.runs == [("tasks", False)]
    sched_clock.advance(60)
    manual.tick()
    assert runs.runs == [("tasks", False)] * 2
    sched_clock.advance(15 * 60 - 120)
    manual.tick()
    assert sorted(runs.runs[2:]) == [("contacts", False), ("tasks", False)]


def test_a_backlog_runs_once_not_once_per_missed_interval(
    sched_clock: FakeClock, manual: ManualScheduler
) -> None:
    """The machine was suspended for ten minutes: one tasks cycle, not ten."""
    runs = Recorder()
    build_scheduler(job_specs(PAIRS, schedule(tasks_every="60s", contacts_every="15m"), T0), runs, 0, manual)
    manual.start()
    sched_clock.advance(10 * 60 + 5)
    manual.tick()
    assert runs.runs == [("tasks", False)]
    # And the next run is one interval after the latest missed one, not a burst of catch-ups.
    sched_clock.advance(50)
    manual.tick()
    assert runs.runs == [("tasks", False)]
    sched_clock.advance(10)
    manual.tick()
    assert runs.runs == [("tasks", False)] * 2


def test_a_late_daily_scan_still_runs_within_its_grace(
    sched_clock: FakeClock, manual: ManualScheduler
) -> None:
    runs = Recorder()
    build_scheduler(job_specs([("tasks", "task")], schedule(tasks_every="24h"), T0), runs, 0, manual)
    manual.start()
    sched_clock.advance(25 * 3600)  # the scheduler could not run for an hour past the due time
    manual.tick()
    assert sorted(runs.runs) == [("tasks", False), ("tasks", True)]


def test_max_instances_refuses_a_second_run_of_a_job_still_running(sched_clock: FakeClock) -> None:
    sched = ManualScheduler(threaded=True)
    refused: list[JobEvent] = []
    sched.add_listener(refused.append, EVENT_JOB_MAX_INSTANCES)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def slow(pair: str, full: bool) -> None:
        started.set()
        release.wait(30)
        finished.set()

    build_scheduler(job_specs([("tasks", "task")], schedule(tasks_every="60s"), T0), slow, 0, sched)
    sched.start()
    try:
        sched_clock.advance(60)
        sched.tick()
        assert started.wait(30)
        sched_clock.advance(60)
        sched.tick()
        assert [e.job_id for e in refused] == ["tasks:incremental"]
    finally:
        release.set()
        assert finished.wait(30)
        sched.shutdown(wait=True)


def test_run_now_brings_the_next_incremental_cycle_forward(
    sched_clock: FakeClock, manual: ManualScheduler
) -> None:
    runs = Recorder()
    build_scheduler(job_specs(PAIRS, schedule(tasks_every="1h"), T0), runs, 0, manual)
    manual.start()
    sched_clock.advance(5)
    assert run_now(manual, "tasks", sched_clock.now())
    assert not run_now(manual, "projects", sched_clock.now())
    manual.tick()
    assert runs.runs == [("tasks", False)]


def test_heartbeat_is_fresh_only_while_the_scheduler_runs_it(
    sched_clock: FakeClock, manual: ManualScheduler
) -> None:
    fake = FakeClock()
    beat = Heartbeat(fake.monotonic)
    add_heartbeat(manual, beat, 5, T0)
    assert not beat.fresh(60)
    manual.start()
    manual.tick()
    assert beat.fresh(60)
    fake.advance(61)
    assert not beat.fresh(60)
    sched_clock.advance(61)
    manual.tick()
    assert beat.fresh(60)


# -- the daemon's jobs ------------------------------------------------------------------------


def test_daemon_startup_job_runs_every_pair_at_once_contacts_first(
    world: World,
    make_daemon: DaemonFactory,
    sched_clock: FakeClock,
    manual: ManualScheduler,
    logs: list[Event],
) -> None:
    world.pf("POST", "seed", {"tasks": 3, "contacts": 3, "seed": 1})
    daemon = make_daemon(world, now=sched_clock.now)
    daemon.schedule(manual, initial=True)
    ids = {job.id for job in manual.get_jobs()}
    assert {STARTUP_JOB, HEARTBEAT_JOB, "tasks:incremental", "contacts:full"} <= ids
    manual.start()
    manual.tick()
    assert [e["pair"] for e in named(logs, "cycle.started")] == ["contacts", "tasks"]
    assert len(named(logs, "cycle.done")) == 2
    assert daemon.heartbeat.last is not None
    assert manual.get_job(STARTUP_JOB) is None, "the startup job runs once"


class StartupHeld(ThreadPoolExecutor):  # type: ignore[misc]
    """Holds the scheduler's thread in the submission of the startup job until the daemon has begun
    to stop that scheduler: the moment a stop right after READY=1 can fall on."""

    def __init__(self) -> None:
        super().__init__()
        self.firing = threading.Event()
        self.scheduler: BaseScheduler | None = None

    def submit_job(self, job: Job, run_times: list[datetime]) -> None:
        super().submit_job(job, run_times)
        if job.id == STARTUP_JOB:
            self.firing.set()
            wait_until(lambda: self.scheduler is not None and self.scheduler.state != STATE_RUNNING)


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_stop_while_the_startup_job_is_fired_leaves_the_scheduler_thread_unharmed(
    world: World, make_daemon: DaemonFactory, logs: list[Event]
) -> None:
    """APScheduler removes a fired one-off job right after submitting it; a shutdown that began
    meanwhile must not make that removal fail (JobLookupError, the scheduler's thread dead with a
    traceback on stderr, outside the JSON log)."""
    held = StartupHeld()

    def scheduler() -> BaseScheduler:
        held.scheduler = background_scheduler(held)
        return held.scheduler

    daemon = make_daemon(world, scheduler_factory=scheduler)
    codes: list[int] = []
    serving = threading.Thread(target=lambda: codes.append(daemon.serve(tick_s=0.05)), daemon=True)
    serving.start()
    assert held.firing.wait(60), "the startup job was never fired"
    daemon.stop_event.set()
    serving.join(60)
    assert codes == [0]
    assert named(logs, "daemon.stopped", exit_code=0)


def test_reload_reschedules_only_jobs_whose_interval_changed(
    world: World, make_daemon: DaemonFactory, manual: ManualScheduler, logs: list[Event]
) -> None:
    daemon = make_daemon(world, scheduler_factory=lambda: manual, tasks_every="1h", contacts_every="1h")
    assert daemon.start_scheduler() is manual
    before = {job.id: job.next_run_time for job in manual.get_jobs()}
    Path(world.config_path).write_text(
        world.config_path.read_text().replace('tasks_every = "1h"', 'tasks_every = "5m"')
    )
    assert daemon.reload()
    after = {job.id: job for job in manual.get_jobs()}
    assert after["tasks:incremental"].trigger.interval == timedelta(minutes=5)
    assert after["contacts:incremental"].next_run_time == before["contacts:incremental"]
    assert after["tasks:full"].next_run_time == before["tasks:full"]
    (reloaded,) = named(logs, "config.reloaded")
    assert reloaded["changes"] == ["schedule.tasks_every: 3600.0 -> 300.0"]


def test_scheduler_warnings_join_the_structured_log(
    world: World, make_daemon: DaemonFactory, manual: ManualScheduler, logs: list[Event]
) -> None:
    """APScheduler's own lines become JSON events too, so the journal holds JSON only."""
    daemon = make_daemon(world, scheduler_factory=lambda: manual)
    daemon.start_scheduler()
    logging.getLogger("apscheduler.scheduler").warning(
        'Execution of job "tasks:incremental" skipped: maximum number of running instances reached (1)'
    )
    logging.getLogger("apscheduler.scheduler").info("Added job")  # routine chatter stays out
    (said,) = named(logs, "scheduler.said")
    assert said["log_level"] == "warning" and "maximum number of running instances" in said["message"]


def test_a_reload_keeps_the_days_planfix_request_count(
    world: World, make_daemon: DaemonFactory, manual: ManualScheduler
) -> None:
    daemon = make_daemon(world, scheduler_factory=lambda: manual)
    daemon.run_pair("contacts", False)
    before = daemon.generation.remotes.limiters["planfix"].quota_status()
    assert before is not None and before.used_today > 0
    Path(world.config_path).write_text(
        world.config_path.read_text().replace('tasks_every = "1h"', 'tasks_every = "5m"')
    )
    assert daemon.reload()
    after = daemon.generation.remotes.limiters["planfix"].quota_status()
    # The reload tried the credentials on the new one.
    checked = daemon.generation.remotes.requests()["planfix"]
    assert after is not None and after.used_today == before.used_today + checked


def test_the_daemon_prunes_history_older_than_keep_history(
    world: World, make_daemon: DaemonFactory, manual: ManualScheduler, logs: list[Event]
) -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    daemon = make_daemon(world, scheduler_factory=lambda: manual, now=lambda: now)
    store = daemon.store
    for at in (now - timedelta(days=91), now - timedelta(days=89)):
        store.audit([AuditRow(at=at, pair="tasks", operation="update", side="planfix", key="1")])
    store.open_intent("tasks", "planfix", "1", "1", {}, now - timedelta(days=400))
    daemon.start_scheduler()
    assert manual.get_job(PRUNE_JOB) is not None
    daemon.prune_history()
    assert [e.at for e in store.audit_log()] == [now - timedelta(days=89)]
    assert len(store.open_intents()) == 1, "an open intent is still needed, however old"
    (pruned,) = named(logs, "history.pruned")
    assert pruned["audit_entry"] == 1 and pruned["keep_days"] == 90
