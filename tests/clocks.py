"""A fake clock for tests that drive an emulator and a client on one time line of their own.

Retry back-off, ``Retry-After`` and rate-limit pauses then cost no real time, and a test can
move time forward on purpose (past a token's lifetime, an overlap window, an hourly budget).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class FakeClock:
    """Time that moves only when told to (or when someone "sleeps"); starts at ``start`` or the real now.

    One object serves both clock interfaces: ``syncd.ratelimit.Clock`` (limiters, the Planfix
    emulator) and a plain ``() -> seconds since the epoch`` callable (the PlanningPME emulator).
    ``slept`` adds up every pause, so a test can tell how long a client would have waited.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.t = time.time() if start is None else start.timestamp()
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        self.slept += max(0.0, seconds)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def __call__(self) -> float:
        return self.t
