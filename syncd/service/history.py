"""Pruning old history, so the state file stays bounded over months of service.

The audit log and finished intents older than ``[state] keep_history`` are deleted by a job of
their own, hourly (or every quarter of ``keep_history``, if that is shorter): each run then
deletes little, batch by batch between the cycles' writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from state.errors import StateFileError
from state.store import Store

log = structlog.get_logger(__name__)

PRUNE_JOB = "prune-history"
PRUNE_EVERY_S = 3600.0
"""History older than ``[state] keep_history`` is pruned hourly (a quarter of it, if that is
shorter): each run then deletes little."""


def put_prune_job(
    sched: BaseScheduler, prune: Callable[[], None], keep_history_s: float, now: datetime
) -> None:
    """Put the pruning job on ``sched``, or replace it if ``keep_history`` changed its interval
    (an unchanged one keeps its next run)."""
    every = timedelta(seconds=min(PRUNE_EVERY_S, keep_history_s / 4))
    job = sched.get_job(PRUNE_JOB)
    if job is None or job.trigger.interval != every:
        sched.add_job(
            prune,
            trigger=IntervalTrigger(seconds=every.total_seconds(), timezone="UTC"),
            id=PRUNE_JOB,
            name=PRUNE_JOB,
            next_run_time=now + every / 60,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
            replace_existing=True,
        )


def prune_old_history(store: Store, keep: timedelta, now: datetime) -> None:
    """Delete history older than ``keep``. A failure is logged and waits for the next run."""
    try:
        deleted = store.prune_history(now - keep)
    except StateFileError as exc:
        log.error("history.prune_failed", error=str(exc))
        return
    if any(deleted.values()):
        log.info("history.pruned", keep_days=round(keep / timedelta(days=1), 2), **deleted)
