"""The mass-delete guard: a plan that deletes too much is stopped before anything is written.

A listing that silently came back short, or a mapping edited to exclude half the records, reads
like mass deletion; propagated, it would empty the other system. The cycle asks this module,
after planning and before applying, whether the plan's deletions (deletes and archives) stay
within the pair's limits: an absolute count (``max_delete``) and a share of the linked records
(``max_delete_percent``). It only judges a finished ``Plan``, so it is kept apart from the rules
that make one.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.engine.planner.model import Plan


@dataclass(frozen=True)
class GuardLimits:
    max_delete: int
    max_delete_percent: float


def guard_violation(plan: Plan, linked: int, limits: GuardLimits) -> str | None:
    """Why the mass-delete guard must stop this plan, or None when it may run."""
    deletes = plan.deletes
    if deletes == 0:
        return None
    if deletes > limits.max_delete:
        return f"{plan.pair}: the plan deletes {deletes} records, more than max_delete = {limits.max_delete}"
    if linked > 0:
        percent = 100.0 * deletes / linked
        if percent > limits.max_delete_percent:
            return (
                f"{plan.pair}: the plan deletes {deletes} of {linked} linked records ({percent:.1f} %), "
                f"more than max_delete_percent = {limits.max_delete_percent:g} %"
            )
    return None
