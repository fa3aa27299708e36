"""Which cycles run when: one APScheduler job per entity pair and kind of read, plus a heartbeat.

Incremental cycles run often (tasks every minute by default, contacts every 15 minutes since
Planfix offers no "modified since" for contacts), full scans (the daily reconciliation) rarely.
Every job has ``coalesce`` (a backlog after a pause or a suspended machine runs once, not N
times), ``max_instances=1`` and a misfire grace of one interval (a late run still happens);
jobs of the same pair also share a lock in the daemon, so an incremental and a full cycle of one
pair never overlap. The heartbeat is a tiny job of its own: when it stops beating, the
scheduler's thread or its worker pool is stuck, and the daemon stops feeding systemd's watchdog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncd.settings import ScheduleSettings

MIN_MISFIRE_GRACE_S = 30
HEARTBEAT_JOB = "heartbeat"
STARTUP_JOB = "startup"


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    pair: str
    full: bool
    every_s: float
    first_run: datetime


def job_specs(pairs: list[tuple[str, str]], schedule: ScheduleSettings, now: datetime) -> list[JobSpec]:
    """``pairs`` holds (pair name, planfix entity). The daemon runs every pair once at start, in
    relation order (contacts before tasks), so each job's first run is one interval later."""
    specs: list[JobSpec] = []
    for name, planfix_entity in pairs:
        every = schedule.contacts_every if planfix_entity == "contact" else schedule.tasks_every
        specs.append(JobSpec(f"{name}:incremental", name, False, every, now + timedelta(seconds=every)))
        specs.append(
            JobSpec(
                f"{name}:full",
                name,
                True,
                schedule.full_scan_every,
                now + timedelta(seconds=schedule.full_scan_every),
            )
        )
    return specs


def pair_of(job_id: str) -> str | None:
    """The pair a cycle job belongs to (None for the daemon's own jobs)."""
    name, sep, _ = job_id.rpartition(":")
    return name if sep else None


def build_scheduler(
    specs: list[JobSpec],
    run: Callable[[str, bool], None],
    jitter_s: float,
    scheduler: BaseScheduler | None = None,
) -> BaseScheduler:
    """Add (or replace) one job per spec on ``scheduler`` (a new background one by default)."""
    sched = scheduler if scheduler is not None else BackgroundScheduler(timezone="UTC")
    for spec in specs:
        sched.add_job(
            run,
            trigger=IntervalTrigger(seconds=spec.every_s, jitter=int(jitter_s) or None, timezone="UTC"),
            args=(spec.pair, spec.full),
            id=spec.job_id,
            name=spec.job_id,
            next_run_time=spec.first_run,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(MIN_MISFIRE_GRACE_S, int(spec.every_s)),
            replace_existing=True,
        )
    return sched


class CycleJobs:
    """The cycle jobs put on a scheduler, and the interval each was given: on reload only jobs
    whose interval changed are replaced (the others keep their next run), jobs of pairs that are
    gone are removed, and a new pair's incremental cycle runs at once."""

    def __init__(self) -> None:
        self._scheduled: dict[str, tuple[float, float]] = {}

    def put(
        self,
        sched: BaseScheduler,
        pairs: list[tuple[str, str]],
        schedule: ScheduleSettings,
        run: Callable[[str, bool], None],
        now: datetime,
        initial: bool,
    ) -> None:
        """``pairs`` as for ``job_specs``; ``initial`` puts every job (the daemon's start)."""
        specs = job_specs(pairs, schedule, now)
        wanted = {s.job_id: (s.every_s, schedule.jitter) for s in specs}
        for job in sched.get_jobs():
            if pair_of(job.id) is not None and job.id not in wanted:
                job.remove()
        known = {pair_of(job_id) for job_id in self._scheduled}
        changed = [s for s in specs if initial or self._scheduled.get(s.job_id) != wanted[s.job_id]]
        changed = [
            replace(s, first_run=now) if not initial and not s.full and s.pair not in known else s
            for s in changed
        ]
        build_scheduler(changed, run, schedule.jitter, sched)
        self._scheduled = wanted


def add_startup_job(sched: BaseScheduler, run_all: Callable[[], None], now: datetime) -> None:
    """Every pair once, right away: the daemon does not wait an interval for its first sync."""
    sched.add_job(
        run_all,
        id=STARTUP_JOB,
        name=STARTUP_JOB,
        next_run_time=now,
        misfire_grace_time=None,
        replace_existing=True,
    )


class Heartbeat:
    """When the scheduler last managed to run a job (monotonic seconds)."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self.last: float | None = None

    def beat(self) -> None:
        self.last = self._monotonic()

    def fresh(self, stale_after_s: float) -> bool:
        return self.last is not None and self._monotonic() - self.last <= stale_after_s


def add_heartbeat(sched: BaseScheduler, heartbeat: Heartbeat, every_s: float, now: datetime) -> None:
    sched.add_job(
        heartbeat.beat,
        trigger=IntervalTrigger(seconds=every_s, timezone="UTC"),
        id=HEARTBEAT_JOB,
        name=HEARTBEAT_JOB,
        next_run_time=now,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        replace_existing=True,
    )


def run_now(sched: BaseScheduler, pair: str, now: datetime) -> bool:
    """Bring the pair's next incremental cycle forward (after a push); False if no such job."""
    job = sched.get_job(f"{pair}:incremental")
    if job is None:
        return False
    job.modify(next_run_time=now)
    return True
