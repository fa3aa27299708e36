"""Which cycles run when: one APScheduler job per entity pair and kind of read.

Incremental cycles run often (tasks every minute by default, contacts every 15 minutes since
Planfix offers no "modified since" for contacts), full scans and reconciliation rarely. Every
job has ``coalesce`` and ``max_instances=1``; jobs of the same pair also share a lock (in the
daemon), so an incremental and a full cycle of one pair never overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from syncd.settings import ScheduleSettings


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


def build_scheduler(
    specs: list[JobSpec],
    run: Callable[[str, bool], None],
    jitter_s: float,
    scheduler: BackgroundScheduler | None = None,
) -> BackgroundScheduler:
    sched = scheduler or BackgroundScheduler(timezone="UTC")
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
            misfire_grace_time=max(30, int(spec.every_s)),
            replace_existing=True,
        )
    return sched


def run_now(sched: BackgroundScheduler, pair: str, now: datetime) -> bool:
    """Bring the pair's next incremental cycle forward (after a push); False if no such job."""
    job = sched.get_job(f"{pair}:incremental")
    if job is None:
        return False
    job.modify(next_run_time=now)
    return True
