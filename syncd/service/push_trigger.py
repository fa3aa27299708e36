"""Runs triggered by pushed contact changes, debounced, with a follow-up for late pushes.

Planfix offers no "modified since" for contacts, so a pushed change would otherwise wait for the
next scheduled contact cycle. A push schedules a push-only run ``push.debounce`` later; pushes
within that delay share it, and a push that arrives while the run goes on gets a follow-up run,
so none is left for the schedule to find.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from apscheduler.schedulers.base import BaseScheduler

log = structlog.get_logger(__name__)

PUSH_JOB = "push"
"""Prefix of the one-off jobs of push-triggered runs. Each run has an id of its own: APScheduler
removes a fired one-off job by id after submitting it, which could take a follow-up with it. No
``:`` in the id: these jobs belong to no pair's schedule, and a reload leaves them alone."""


class PushRuns:
    """Whether a push-triggered run is scheduled or running, and whether a push may have come
    after what that run reads."""

    def __init__(
        self,
        scheduler: Callable[[], BaseScheduler | None],
        run: Callable[[], None],
        debounce_s: Callable[[], float],
        now: Callable[[], datetime],
        stop: threading.Event,
    ) -> None:
        """``run`` is one push-only pass; ``debounce_s`` reads the setting in force (a reload
        changes it); ``scheduler`` is None until the daemon has started it."""
        self._scheduler = scheduler
        self._run = run
        self._debounce_s = debounce_s
        self._now = now
        self._stop = stop
        self._lock = threading.Lock()
        self._busy = False
        """A push-triggered run is scheduled or running."""
        self._dirty = False
        """A push arrived that the push-triggered runs so far may not have read."""
        self._numbers = itertools.count(1)

    def contact_changed(self, contact_id: str) -> None:
        """A pushed contact change is queued: a push-only run follows ``push.debounce`` later."""
        log.info("push.queued", contact=contact_id)
        with self._lock:
            self._dirty = True
            if not self._busy:
                self._busy = self._schedule()

    def _schedule(self) -> bool:
        sched = self._scheduler()
        if sched is None:
            return False  # not started: the start-up pass reads the queue anyway
        sched.add_job(
            self.run,
            "date",
            run_date=self._now() + timedelta(seconds=self._debounce_s()),
            id=f"{PUSH_JOB}-{next(self._numbers)}",
            name=PUSH_JOB,
            misfire_grace_time=None,
        )
        return True

    def run(self) -> None:
        """The scheduled run; schedules the follow-up if a push came meanwhile."""
        with self._lock:
            self._dirty = False  # what arrives from now on may be missed by this run
        try:
            self._run()
        finally:
            with self._lock:
                follow_up = self._dirty and not self._stop.is_set()
                self._busy = follow_up and self._schedule()
