"""The one clock of a benchmark world, shared by syncd (``world``) and each emulator process.

Monotonic time and sleeps are real, so rate limits run as in production; wall time runs
``offset`` seconds ahead, so a benchmark can put a minute between two cycles without waiting.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from syncd.ratelimit import SystemClock


class OffsetClock(SystemClock):
    """The real clock, but with wall time (``now``, ``epoch``) ``offset`` seconds ahead."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self.offset)

    def epoch(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
