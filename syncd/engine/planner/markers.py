"""Rule 3: an unlinked record carrying a marker is linked to the record the marker names.

syncd writes the source record's key into every record it creates (the marker). When the link
was lost (a crash between the write and the commit of the link), the marker finds the pair again
instead of creating a twin. The marker step runs before matching and creating, and a marked
record is never created from: when the record it names is tombstoned (deleted for good), linked
to another record (a copy made outside syncd?) or not found, the marked record is reported and
left alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncd.engine.planner.context import Context
from syncd.engine.planner.matching import link_matched
from syncd.engine.planner.model import SIDES, Observed, Operation, Side, other


def link_by_markers(ctx: Context, unlinked: Mapping[Side, list[Observed]]) -> None:
    """Link (or report) every unclaimed record carrying a marker."""
    by_key = {side: {r.key: r for r in unlinked[side]} for side in SIDES}
    for side in SIDES:
        for rec in unlinked[side]:
            if rec.marker is None or (side, rec.key) in ctx.claimed:
                continue
            _by_marker(ctx, rec, by_key[other(side)])


def _by_marker(ctx: Context, rec: Observed, others: Mapping[str, Observed]) -> None:
    assert rec.marker is not None
    target = other(rec.side)
    if (target, rec.marker) in ctx.data.tombstones:
        _leave_alone(
            ctx, rec, f"its counterpart {target} {rec.marker} was deleted; not recreated", "tombstone"
        )
        return
    if ctx.index.get(target, rec.marker) is not None:
        _leave_alone(
            ctx,
            rec,
            f"its marker names {target} {rec.marker}, which is linked to another record: "
            "a copy made outside syncd? Left alone",
            "marker",
        )
        return
    counterpart = others.get(rec.marker)
    if counterpart is None:
        _leave_alone(
            ctx, rec, f"its marker names {target} {rec.marker}, which was not found; left alone", "marker"
        )
        return
    pf_rec, pme_rec = (rec, counterpart) if rec.side == "planfix" else (counterpart, rec)
    link_matched(ctx, pf_rec, pme_rec, rule="marker")


def _leave_alone(ctx: Context, rec: Observed, reason: str, rule: str) -> None:
    """Report a record the plan must not touch, and keep later steps from touching it."""
    ctx.claimed.add((rec.side, rec.key))
    ctx.ops.append(
        Operation(
            "report",
            None,
            rec.key if rec.side == "planfix" else None,
            rec.key if rec.side == "planningpme" else None,
            reason=reason,
            rule=rule,
        )
    )
