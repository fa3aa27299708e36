"""Whether the daemon is alive, which decides whether systemd's watchdog is fed.

A hung daemon must be restarted by systemd, so WATCHDOG=1 is sent only while the scheduler still
runs jobs (its heartbeat job beats) and no cycle has gone for hours without sending a request.
Progress, not duration, is what counts: a healthy cycle may wait long for the PlanningPME budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import structlog

from syncd.service.scheduler import Heartbeat
from syncd.service.systemd import Notifier

log = structlog.get_logger(__name__)

STUCK_AFTER_S = 2 * 3600.0
"""A cycle that has not sent a single request for this long is stuck. Long enough for a healthy
cycle that waits for the PlanningPME hourly budget, short enough to be restarted the same day."""
HEARTBEAT_EVERY_S = 5.0
HEARTBEAT_STALE_S = 60.0
"""The heartbeat job has not run for this long: the scheduler thread or its worker pool is stuck."""


class Watchdog:
    """Sends WATCHDOG=1 at half systemd's timeout, and only while the daemon is alive."""

    def __init__(self, notifier: Notifier, every_s: float | None, monotonic: Callable[[], float]) -> None:
        self.notifier = notifier
        self.every_s = every_s
        self.monotonic = monotonic
        self._last: float | None = None

    def maybe_ping(self, alive: bool) -> None:
        if self.every_s is None or not alive:
            return
        now = self.monotonic()
        if self._last is None or now - self._last >= self.every_s:
            self.notifier.watchdog()
            self._last = now


class Liveness:
    """Tracks the requests the cycles send and judges, on each tick of the main loop, whether the
    daemon is alive; feeds the watchdog while it is and says once when it no longer is."""

    def __init__(self, heartbeat: Heartbeat, watchdog: Watchdog, monotonic: Callable[[], float]) -> None:
        self.heartbeat = heartbeat
        self.watchdog = watchdog
        self.monotonic = monotonic
        self._requests_seen = -1
        self._progress_at = monotonic()
        self._stuck_logged = False

    def alive(self, scheduler_running: bool, running_since: Mapping[str, float]) -> bool:
        """The scheduler still runs jobs, and no cycle has gone without a request for hours.
        ``running_since`` holds when each cycle in flight started (monotonic seconds)."""
        if not scheduler_running:
            return False
        if not self.heartbeat.fresh(HEARTBEAT_STALE_S):
            return False
        now = self.monotonic()
        return all(
            now - max(since, self._progress_at) < STUCK_AFTER_S for since in list(running_since.values())
        )

    def note_progress(self, requests_sent: int) -> None:
        """``requests_sent``: all the requests so far; a change is progress."""
        if requests_sent != self._requests_seen:
            self._requests_seen = requests_sent
            self._progress_at = self.monotonic()

    def judge(self, alive: bool, running: list[str]) -> None:
        """Say once (not every tick) that the daemon is stuck; feed the watchdog while alive."""
        if not alive and not self._stuck_logged:
            log.error("daemon.stuck", running=running, note="the watchdog is no longer fed")
        self._stuck_logged = not alive
        self.watchdog.maybe_ping(alive)
