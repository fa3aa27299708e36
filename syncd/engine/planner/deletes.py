"""Rule 2, deletions: what a record deleted on one side does to its linked counterpart.

Only deletions from a complete listing count (``Context.deleted``). For each deleted linked record:

- deleted on both sides → the link is dropped (``unlink``, rule ``tombstone``);
- the counterpart changed since the last sync (by the echo rules, so a system's own default is no
  change) and ``modify_beats_delete`` (the default) → modification wins: the deleted side gets the
  record back as edited (``unlink`` + ``create``), or, when the record was only archived (a
  canceled task), it is reopened in place (``update`` with ``REOPEN_RULE``) so no second record
  with the same marker is made;
- otherwise the side's delete policy: ``propagate`` (delete), ``archive``, or ``ignore`` (unlink,
  keep the other record).

The mass-delete guard that may stop such a plan is in ``guard``.
"""

from __future__ import annotations

from syncd.engine.planner.context import Context
from syncd.engine.planner.creates import create
from syncd.engine.planner.echo import changed_fields, is_empty, read_back, settled
from syncd.engine.planner.model import (
    SIDES,
    Echo,
    FieldChange,
    LinkState,
    Observed,
    Operation,
    OpKind,
    Side,
    other,
)

REOPEN_RULE = "modification wins over deletion: reopened"
"""The rule of an update that takes an archived record (a canceled task) out of the archive."""


def plan_deletions(ctx: Context) -> None:
    """Decide every linked record deleted on either side, once per link."""
    done: set[tuple[str, str]] = set()
    for side in SIDES:
        for key in sorted(ctx.deleted(side)):
            link = ctx.index.get(side, key)
            if link is None:
                continue
            ident = (link.planfix_key, link.planningpme_key)
            if ident in done:
                continue
            done.add(ident)
            _delete_linked(ctx, link, side)


def _delete_linked(ctx: Context, link: LinkState, side: Side) -> None:
    target = other(side)
    target_key = link.key(target)
    if target_key in ctx.deleted(target):
        ctx.unlink(link, reason="deleted on both sides", rule="tombstone")
        return
    survivor = ctx.rec(target, target_key)
    if (
        ctx.rules.modify_beats_delete
        and survivor is not None
        and survivor.hash != link.hash(target)
        and changed_fields(ctx.rules, link, survivor)
    ):
        if link.key(side) in ctx.data.view(side).archived:
            _reopen(ctx, link, side, survivor)
        else:
            _recreate(ctx, link, side, survivor)
        return
    policy = ctx.rules.on_delete[side]
    if policy == "ignore":
        ctx.unlink(
            link, reason=f"deleted on {side}; the {target} record is kept", rule=f"on_{side}_delete = ignore"
        )
        return
    kind: OpKind = "archive" if policy == "archive" else "delete"
    ctx.ops.append(
        Operation(
            kind,
            target,
            link.planfix_key,
            link.planningpme_key,
            reason=f"deleted on {side}",
            rule=f"on_{side}_delete = {policy}",
            canonical=link.canonical,
        )
    )


def _reopen(ctx: Context, link: LinkState, archived_side: Side, survivor: Observed) -> None:
    """Modification wins over an archive (a canceled task): the same record takes the surviving
    record's values back, so no second record with the same marker is made."""
    merged = {**link.canonical, **changed_fields(ctx.rules, link, survivor)}
    echo = settled(read_back(ctx.rules, link, (survivor,)), link.canonical, merged)
    # The archived side's values are all rewritten. Where the surviving record has none, the
    # value that side held by itself (the default status of a task made from an event without
    # a category) is written back: it is what takes the record out of the archive.
    kept = {
        name: value
        for name, value in link.echo.held.get(archived_side, {}).items()
        if is_empty(merged.get(name))
    }
    echo = Echo(echo.awaiting, {s: v for s, v in echo.held.items() if s != archived_side})
    if kept:
        echo = Echo(echo.awaiting, {**echo.held, archived_side: kept})
    changes = tuple(
        FieldChange(r.name, None, kept.get(r.name, merged[r.name]))
        for r in ctx.rules.fields
        if r.written_to(archived_side) and r.name in merged
    )
    ctx.ops.append(
        Operation(
            "update",
            archived_side,
            link.planfix_key,
            link.planningpme_key,
            reason=f"archived on {archived_side} but changed on {survivor.side}",
            rule=REOPEN_RULE,
            changes=changes,
            canonical=merged,
            echo=echo,
        )
    )


def _recreate(ctx: Context, link: LinkState, deleted_side: Side, survivor: Observed) -> None:
    """Modification wins over deletion: the deleted side gets the record back, as edited."""
    canonical = {**link.canonical, **changed_fields(ctx.rules, link, survivor)}
    ctx.unlink(
        link,
        reason=f"deleted on {deleted_side} but changed on {survivor.side}",
        rule="modification wins over deletion",
    )
    ctx.ops.append(create(ctx.rules, survivor, canonical, "modification wins over deletion"))
    ctx.claimed.add((survivor.side, survivor.key))
