"""The APScheduler instance the daemon runs its jobs on: its log joins syncd's, and it stops cleanly.

APScheduler logs through the standard library; its warnings (e.g. "skipped: maximum number of
running instances reached" while a long cycle of that pair still runs) must become structured
events like every other line, so the journal holds JSON lines only. And APScheduler 3's shutdown
can kill its own thread with a traceback (see ``_StoppingScheduler``), which would also reach
the journal as plain text.
"""

from __future__ import annotations

import logging

import structlog
from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_RUNNING, BaseScheduler

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


def background_scheduler(executor: BaseExecutor | None = None) -> BaseScheduler:
    """The daemon's scheduler: jobs run in a worker pool (``executor``, APScheduler's thread pool
    by default), the scheduler in a thread of its own."""
    if executor is None:
        return _StoppingScheduler(timezone="UTC")
    return _StoppingScheduler(timezone="UTC", executors={"default": executor})


class _StoppingScheduler(BackgroundScheduler):  # type: ignore[misc]
    """A background scheduler whose shutdown waits for the round of due jobs in progress.

    APScheduler 3 removes a fired one-off job (the startup pass, a push-triggered run) by id right
    after submitting it, in its own thread, under its job-store lock. Its ``shutdown`` marks the
    scheduler stopped before taking that lock, and a stopped scheduler looks for jobs to remove
    among those not yet added: a stop that falls between the submission and the removal (a
    SIGTERM right after READY=1) made the removal raise ``JobLookupError`` and killed the thread.
    Here a shutdown first pauses the scheduler, then waits for the round in progress (by taking
    the lock), and a round checks under the lock that the scheduler still runs."""

    def _process_jobs(self) -> float | None:
        with self._jobstores_lock:
            if self.state != STATE_RUNNING:
                return None  # as APScheduler's own round does when paused
            result: float | None = super()._process_jobs()
            return result

    def shutdown(self, wait: bool = True) -> None:
        self.pause()  # no round of due jobs starts from now on ...
        with self._jobstores_lock:  # ... and the one in progress, if any, has ended
            pass
        super().shutdown(wait)
