"""When a failed record is tried again.

Deterministic (no jitter): the failure queue is per record and cycles run on a schedule, so there
is no thundering herd to spread out, and tests can state exact retry times.
"""

from __future__ import annotations

from datetime import timedelta

# 2**62 seconds is far beyond any cap; stopping the exponent there keeps the float finite.
_MAX_EXPONENT = 62


def retry_delay(attempts: int, *, base_s: float, cap_s: float) -> timedelta:
    """``base * 2**(attempts - 1)`` seconds, at most ``cap``: 1st failure waits ``base``."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    if base_s <= 0 or cap_s < base_s:
        raise ValueError(f"need 0 < backoff_base_s <= backoff_cap_s, got base {base_s}, cap {cap_s}")
    return timedelta(seconds=min(cap_s, base_s * 2 ** min(attempts - 1, _MAX_EXPONENT)))
