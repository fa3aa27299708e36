"""Waiting for both systems before the daemon says READY=1.

A system that does not answer at start is waited for, backing off, with the watchdog fed and the
wait shown in STATUS=; wrong credentials or an unusable account end the start at once (waiting
would not help), so systemd shows the unit failed instead of a daemon that never syncs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

from syncd.errors import AuthError, FatalRemoteError, RemoteError
from syncd.service.backoff import backoff
from syncd.service.liveness import Watchdog
from syncd.service.systemd import Notifier

log = structlog.get_logger(__name__)

STARTUP_RETRY_BASE_S = 5.0
"""First wait when a system does not answer at start (doubling, up to ``BACKOFF_CAP_S``)."""


def await_remotes(
    check: Callable[[], None],
    stop: threading.Event,
    notifier: Notifier,
    watchdog: Watchdog,
    monotonic: Callable[[], float],
    tick_s: float,
) -> bool:
    """Wait until ``check`` passes (both systems answer); False when asked to stop meanwhile.
    Auth and account errors raise: waiting would not help."""
    attempt = 0
    while not stop.is_set():
        try:
            check()
            return True
        except (AuthError, FatalRemoteError):
            raise
        except RemoteError as exc:
            attempt += 1
            wait = backoff(attempt, base=STARTUP_RETRY_BASE_S)
            log.warning("daemon.waiting_for_remote", error=str(exc), attempt=attempt, retry_in_s=wait)
            notifier.status(f"waiting for {exc.system or 'a remote system'}: {exc}")
            deadline = monotonic() + wait
            while not stop.wait(timeout=min(tick_s, wait)):
                watchdog.maybe_ping(True)
                if monotonic() >= deadline:
                    break
    return False
