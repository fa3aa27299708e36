"""The process's signals: SIGTERM and SIGINT stop the daemon, SIGHUP reloads its configuration.

Handlers only set flags, through the two callbacks: logging or taking a lock inside a handler can
deadlock (the code it interrupted may hold that lock), so all the work happens in the main loop.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType


def install_signal_handlers(stop: Callable[[str], None], reload: Callable[[], None]) -> None:
    """``stop`` gets the signal's name (``SIGTERM``, ``SIGINT``); both must only set flags."""

    def on_stop(signum: int, frame: FrameType | None) -> None:
        stop(signal.Signals(signum).name)

    def on_hup(signum: int, frame: FrameType | None) -> None:
        reload()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
