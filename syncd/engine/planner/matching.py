"""Rule 4: an unlinked record is linked to the one unlinked record of the other side it matches.

Records created before syncd ran (or on both sides by hand) exist twice; the mapping's match keys
find them. Exactly one candidate each way → linked (``link_matched``); the same key on several
records of either side → every one of them is reported and left alone, never guessed. Records out
of the mapping's scope take no part.

``link_matched`` is also how the marker step (``markers``) links: two records that already exist
are linked, and where their values differ the field's conflict policy (``conflicts.resolve``)
decides which one is written to the other, as a first-link ``update``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from syncd.engine.planner.conflicts import resolve
from syncd.engine.planner.context import Context
from syncd.engine.planner.model import SIDES, FieldChange, Observed, Operation, Side, other
from syncd.engine.planner.relations import defer


def link_by_match_keys(ctx: Context, unlinked: Mapping[Side, list[Observed]]) -> None:
    """Link the unclaimed records whose match key names exactly one record on each side."""
    match_counts = {
        side: Counter(r.match_key for r in unlinked[side] if r.match_key and (side, r.key) not in ctx.claimed)
        for side in SIDES
    }
    for rec in unlinked["planfix"]:
        if (rec.side, rec.key) in ctx.claimed or not rec.match_key or not rec.included:
            continue
        candidates = [
            c
            for c in unlinked["planningpme"]
            if c.match_key == rec.match_key and ("planningpme", c.key) not in ctx.claimed and c.included
        ]
        if not candidates:
            continue
        if len(candidates) > 1 or match_counts["planfix"][rec.match_key] > 1:
            # Every record sharing the key is left alone (none of them linked or created).
            twins = [
                r
                for r in unlinked["planfix"]
                if r.match_key == rec.match_key and ("planfix", r.key) not in ctx.claimed
            ]
            pf_keys = ", ".join(r.key for r in twins)
            pme_keys = ", ".join(c.key for c in candidates)
            ctx.ops.append(
                Operation(
                    "report",
                    None,
                    rec.key,
                    None,
                    reason=f"ambiguous match on {rec.match_key!r}: planfix {pf_keys}; "
                    f"planningpme {pme_keys} — link them by hand or make the match keys stricter",
                    rule="match keys; ambiguous matches are never guessed",
                )
            )
            ctx.claimed.update(("planfix", r.key) for r in twins)
            ctx.claimed.update(("planningpme", c.key) for c in candidates)
            continue
        link_matched(ctx, rec, candidates[0])


def link_matched(ctx: Context, pf: Observed, pme: Observed, rule: str = "match keys") -> None:
    """Link two existing records; where their values differ, the conflict rules decide."""
    ctx.claimed.add(("planfix", pf.key))
    ctx.claimed.add(("planningpme", pme.key))
    if pf.unresolved or pme.unresolved:
        ctx.ops.append(defer(pf.key, pme.key, pf.unresolved + pme.unresolved))
        return
    merged: dict[str, Any] = {}
    writes: dict[Side, list[FieldChange]] = {"planfix": [], "planningpme": []}
    for fr in ctx.rules.fields:
        v_pf = pf.canonical.get(fr.name) if fr.read_from("planfix") else None
        v_pme = pme.canonical.get(fr.name) if fr.read_from("planningpme") else None
        has_pf = fr.read_from("planfix") and fr.name in pf.canonical
        has_pme = fr.read_from("planningpme") and fr.name in pme.canonical
        if not (has_pf or has_pme):
            continue
        if has_pf and has_pme and v_pf == v_pme:
            merged[fr.name] = v_pf
            continue
        if has_pf and has_pme:
            source = resolve(ctx.rules, fr, pf, pme) or ctx.rules.newest_fallback
        else:
            source = "planfix" if has_pf else "planningpme"
        value = v_pf if source == "planfix" else v_pme
        merged[fr.name] = value
        target = other(source)
        if fr.written_to(target):
            old = v_pme if target == "planningpme" else v_pf
            writes[target].append(FieldChange(fr.name, old, value))
    ctx.ops.append(
        Operation(
            "link",
            None,
            pf.key,
            pme.key,
            reason="same record on both sides" if rule == "match keys" else "marker names its counterpart",
            rule=rule,
            canonical=merged,
        )
    )
    ctx.update_both(
        writes,
        (pf.key, pme.key),
        reason="values differ at first link",
        rule=f"{rule}; conflict policy per field",
        canonical=merged,
    )
