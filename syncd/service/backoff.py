"""How long a failing pair rests before it tries again, and how long the start waits for a system.

One rule (doubling from a base, capped) shared by the cycles that fail softly and by the start-up
wait for the remote systems, so an outage is never hammered, whichever part of the daemon meets it.
"""

from __future__ import annotations

BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 30 * 60.0


def backoff(failures_in_a_row: int, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """How long a failing pair rests: ``base``, twice that, four times … never more than ``cap``."""
    if failures_in_a_row < 1:
        return 0.0
    return min(cap, base * 2.0 ** min(failures_in_a_row - 1, 32))
