"""How each pair is doing: what a cycle's outcome does to its pair, and the summary systemd shows.

A months-long service never gives up on a pair: a transient outage backs it off (exponentially,
capped), the quota reserve pauses it until the reset, the mass-delete guard rests it like an
outage; a success clears all that and says when a pair recovered. These rules live here, apart
from the threads and the scheduler, so they read in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from syncd.engine.cycle import CycleResult
from syncd.errors import QuotaExhaustedError
from syncd.service.backoff import BACKOFF_CAP_S, backoff

log = structlog.get_logger(__name__)


@dataclass
class PairHealth:
    """How one pair is doing; feeds STATUS=, ``status_line`` and the soak report."""

    failures_in_a_row: int = 0
    paused_until: datetime | None = None
    paused_for: str | None = None
    """Why the pair rests: ``outage``, ``quota`` or ``guard``."""
    last_summary: str = "not run yet"
    cycles: int = 0
    failed_cycles: int = 0


def cycle_done(
    name: str,
    health: PairHealth,
    result: CycleResult,
    full: bool,
    *,
    stopping: Callable[[], bool],
    now: Callable[[], datetime],
) -> None:
    """A cycle ran to its end. One the applier gave up on counts as an outage, unless the daemon
    asked it to stop (``stopping``): then it only stopped after the operation in flight. Either
    way the cycle counts once (``rest`` counts the outage)."""
    aborted = result.applied.aborted if result.applied is not None else None
    if aborted is not None and not stopping():
        # The applier gave up after several transient failures in a row: the remote went away.
        rest(name, health, "outage", aborted, now())
        return
    health.cycles += 1
    was = health.paused_for
    attempts = health.failures_in_a_row
    health.failures_in_a_row = 0
    health.paused_until = None
    health.paused_for = None
    health.last_summary = one_line(result)
    if aborted is not None:
        health.last_summary = f"stopped after the operation in flight ({health.last_summary})"
        log.info("cycle.interrupted", pair=name, reason=aborted)
        return
    if was == "quota":
        log.info("quota.resumed", pair=name)
    elif was is not None:
        log.info("cycle.recovered", pair=name, after_failures=attempts, was=was)
    log.info("cycle.done", pair=name, full=full, summary=health.last_summary, failed=result.failed)


def rest(name: str, health: PairHealth, why: str, error: str, now: datetime) -> None:
    """Soft failure: the pair rests for an exponentially growing, capped time."""
    health.cycles += 1
    health.failed_cycles += 1
    health.failures_in_a_row += 1
    wait = backoff(health.failures_in_a_row)
    health.paused_until = now + timedelta(seconds=wait)
    health.paused_for = why
    health.last_summary = f"failing ({health.failures_in_a_row}x): {error}; retry in {wait:.0f}s"
    log.warning(
        "cycle.failed",
        pair=name,
        reason=why,
        error=error,
        attempt=health.failures_in_a_row,
        retry_in_s=wait,
    )


def quota_reached(name: str, health: PairHealth, exc: QuotaExhaustedError, now: datetime) -> None:
    """The quota reserve is left for people's own scripts: the pair pauses until the reset."""
    wait = exc.retry_after if exc.retry_after is not None else BACKOFF_CAP_S
    health.cycles += 1
    health.paused_until = now + timedelta(seconds=wait)
    health.paused_for = "quota"
    resume = health.paused_until.isoformat(timespec="seconds")
    health.last_summary = f"quota reserve reached: no writes (nor reads) until {resume}"
    log.warning(
        "quota.reserve_reached",
        pair=name,
        system=exc.system,
        error=str(exc),
        resume_at=resume,
        note="the reserve is left for people's own scripts; syncd resumes after the reset",
    )


def status_line(health: Mapping[str, PairHealth]) -> str:
    return "; ".join(f"{name}: {h.last_summary}" for name, h in list(health.items()))


def one_line(result: CycleResult) -> str:
    counts: dict[str, int] = {}
    ops = result.applied.done if result.applied else []
    for op in ops:
        if op.writes or op.kind in ("link", "conflict"):
            counts[op.kind] = counts.get(op.kind, 0) + 1
    done = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no changes"
    failed = f", {result.failed} failed" if result.failed else ""
    return f"{done}{failed} at {result.started_at.strftime('%H:%M:%S')}"
