"""The APScheduler instance the daemon runs its jobs on, and its log joining syncd's.

APScheduler logs through the standard library; its warnings (e.g. "skipped: maximum number of
running instances reached" while a long cycle of that pair still runs) must become structured
events like every other line, so the journal holds JSON lines only.
"""

from __future__ import annotations

import logging

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler

log = structlog.get_logger(__name__)


class _SchedulerLogBridge(logging.Handler):
    """APScheduler's warnings and errors, as ``scheduler.said`` events."""

    def emit(self, record: logging.LogRecord) -> None:
        say = log.error if record.levelno >= logging.ERROR else log.warning
        say("scheduler.said", message=record.getMessage(), logger=record.name)


def bridge_scheduler_logs() -> None:
    """Route APScheduler's warnings into syncd's log (once, however often it is called)."""
    logger = logging.getLogger("apscheduler")
    if not any(isinstance(h, _SchedulerLogBridge) for h in logger.handlers):
        logger.addHandler(_SchedulerLogBridge(logging.WARNING))
        logger.setLevel(logging.WARNING)
        logger.propagate = False


def background_scheduler() -> BaseScheduler:
    """The daemon's scheduler: jobs run in a worker pool, the scheduler in a thread of its own."""
    return BackgroundScheduler(timezone="UTC")
