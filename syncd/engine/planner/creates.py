"""Rule 5: a record that nothing links, marks or matches is created on the other side.

The create carries the source record's key as the new record's marker, so a crash between the
write and the link being stored is recovered by the marker step next cycle instead of creating a
twin. Only fields read from the source side and written to the target are sent. Out-of-scope
records are not created, records carrying a marker are left to the marker step (which links or
reports them), and a record referring to records not linked yet is deferred (relations first).
A deletion lost to a modification (``deletes``) re-creates through the same ``create``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.engine.planner.context import Context
from syncd.engine.planner.model import SIDES, FieldChange, Observed, Operation, PairRules, Side, other
from syncd.engine.planner.relations import defer


def create(rules: PairRules, source: Observed, canonical: Mapping[str, Any], reason: str) -> Operation:
    """The step that creates ``source``'s counterpart, holding ``canonical``, with the marker."""
    target = other(source.side)
    changes = tuple(
        FieldChange(r.name, None, canonical[r.name])
        for r in rules.fields
        if r.written_to(target) and r.read_from(source.side) and r.name in canonical
    )
    return Operation(
        "create",
        target,
        source.key if source.side == "planfix" else None,
        source.key if source.side == "planningpme" else None,
        reason=reason,
        rule=f"created on {target} with marker {source.key}",
        changes=changes,
        canonical=dict(canonical),
        source_hash=source.hash,
    )


def create_unlinked(ctx: Context, unlinked: Mapping[Side, list[Observed]]) -> None:
    """Create every unlinked record the marker and match-key steps left unclaimed."""
    for side in SIDES:
        for rec in unlinked[side]:
            if (side, rec.key) in ctx.claimed or not rec.included:
                continue
            if rec.marker is not None:
                continue  # handled (or reported) by the marker step
            if rec.unresolved:
                ctx.ops.append(
                    defer(
                        rec.key if side == "planfix" else None,
                        rec.key if side == "planningpme" else None,
                        rec.unresolved,
                    )
                )
                continue
            ctx.ops.append(create(ctx.rules, rec, dict(rec.canonical), "new record"))
            ctx.claimed.add((side, rec.key))
