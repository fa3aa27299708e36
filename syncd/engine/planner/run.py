"""The ``plan()`` entry point: the rule families, in the order they apply.

The order is part of the rules: links are merged before deletions are decided, deletions before
unlinked records are looked at (a record re-created after a deletion is claimed and not created
again), markers before match keys (crash recovery beats a guess), and match keys before creates
(an existing twin is linked, not duplicated). The unlinked records are listed once, before the
marker step, and each later step skips what an earlier one claimed.
"""

from __future__ import annotations

from syncd.engine.planner.context import Context
from syncd.engine.planner.creates import create_unlinked
from syncd.engine.planner.deletes import plan_deletions
from syncd.engine.planner.markers import link_by_markers
from syncd.engine.planner.matching import link_by_match_keys
from syncd.engine.planner.merge import merge_linked
from syncd.engine.planner.model import SIDES, Plan, PlanInput


def plan(data: PlanInput) -> Plan:
    """Decide every operation for one entity pair. Deterministic: same input, same plan."""
    ctx = Context(data)
    merge_linked(ctx)  # rule 2: linked records, three-way merge
    plan_deletions(ctx)  # rule 2: deletions, delete policies, modification wins
    unlinked = {side: ctx.unlinked(side) for side in SIDES}
    link_by_markers(ctx, unlinked)  # rule 3
    link_by_match_keys(ctx, unlinked)  # rule 4
    create_unlinked(ctx, unlinked)  # rule 5
    return Plan(ctx.rules.pair, tuple(ctx.ops))
