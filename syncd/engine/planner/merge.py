"""Rule 2: a linked record is merged with its counterpart field by field (three-way merge).

Each field is compared with the last synced value (the link's canonical values, or what that side
holds in their place: ``echo``). Changed on one side → copied to the other; changed on both to the
same value → nothing written, the link takes the value (equal values are not a conflict, property
9); changed on both to different values → the field's conflict policy (``conflicts.resolve``),
and a ``conflict`` step when it is ``manual``. A link whose records changed only in what the
mapping does not sync (or only in echoes) gets a ``refresh`` so its stored hashes and echo catch
up.

Which links are merged: those whose record was read this cycle on either side, once each, unless
one of its keys is skipped (rule 1), a record is out of the mapping's scope (left alone, still
linked), or one of its records is deleted (``deletes`` decides those).
"""

from __future__ import annotations

from syncd.engine.planner.conflicts import resolve
from syncd.engine.planner.context import Context
from syncd.engine.planner.echo import changed_fields, read_back, settled
from syncd.engine.planner.model import SIDES, FieldChange, LinkState, Observed, Operation, Side, other
from syncd.engine.planner.relations import defer


def merge_linked(ctx: Context) -> None:
    """Merge every link one of whose records was read this cycle."""
    seen: list[LinkState] = []
    for side in SIDES:
        for key in sorted(ctx.data.view(side).records):
            link = ctx.index.get(side, key)
            if link is None or (link.planfix_key, link.planningpme_key) in ctx.handled_links:
                continue
            ctx.handled_links.add((link.planfix_key, link.planningpme_key))
            seen.append(link)
    for link in seen:
        pf_key, pme_key = link.planfix_key, link.planningpme_key
        if any(ctx.skip(s, link.key(s)) for s in SIDES):
            continue
        if pf_key in ctx.deleted("planfix") or pme_key in ctx.deleted("planningpme"):
            continue  # handled with deletions
        merge(ctx, link, ctx.rec("planfix", pf_key), ctx.rec("planningpme", pme_key))


def merge(ctx: Context, link: LinkState, pf: Observed | None, pme: Observed | None) -> None:
    """Plan the updates, conflict or refresh that bring ``link``'s two records back in step."""
    if (pf is not None and not pf.included) or (pme is not None and not pme.included):
        return  # out of the mapping's scope: left alone, still linked
    unresolved = (pf.unresolved if pf else ()) + (pme.unresolved if pme else ())
    if unresolved:
        ctx.ops.append(defer(link.planfix_key, link.planningpme_key, unresolved))
        return
    changed = {
        "planfix": changed_fields(ctx.rules, link, pf),
        "planningpme": changed_fields(ctx.rules, link, pme),
    }
    echo = read_back(ctx.rules, link, (pf, pme))
    merged = dict(link.canonical)
    writes: dict[Side, list[FieldChange]] = {"planfix": [], "planningpme": []}
    conflicts: list[FieldChange] = []
    decided: list[str] = []
    for rule in ctx.rules.fields:
        in_pf, in_pme = rule.name in changed["planfix"], rule.name in changed["planningpme"]
        base = link.canonical.get(rule.name)
        if not (in_pf or in_pme):
            continue
        if in_pf and in_pme:
            v_pf, v_pme = changed["planfix"][rule.name], changed["planningpme"][rule.name]
            if v_pf == v_pme:
                merged[rule.name] = v_pf
                continue
            winner = resolve(ctx.rules, rule, pf, pme)
            if winner is None:
                conflicts.append(FieldChange(rule.name, v_pf, v_pme))
                continue
            decided.append(f"{rule.name}: conflict → {winner} ({rule.conflict})")
            source: Side = winner
        else:
            source = "planfix" if in_pf else "planningpme"
        value = changed[source][rule.name]
        merged[rule.name] = value
        target = other(source)
        if rule.written_to(target):
            current = changed[target].get(rule.name, base)
            writes[target].append(FieldChange(rule.name, current, value))
    echo = settled(echo, link.canonical, merged)
    reason_bits = [f"changed on {s}: {', '.join(sorted(changed[s]))}" for s in SIDES if changed[s]]
    rule_text = "; ".join(decided) if decided else "three-way merge"
    ctx.update_both(
        writes,
        (link.planfix_key, link.planningpme_key),
        reason="; ".join(reason_bits),
        rule=rule_text,
        canonical=merged,
        echo=echo,
    )
    if conflicts:
        ctx.ops.append(
            Operation(
                "conflict",
                None,
                link.planfix_key,
                link.planningpme_key,
                reason="changed on both sides to different values",
                rule="manual",
                conflicts=tuple(conflicts),
                canonical=merged,
                echo=echo,
            )
        )
    if not writes["planfix"] and not writes["planningpme"] and not conflicts:
        stale = [r for r in (pf, pme) if r is not None and r.hash != link.hash(r.side)]
        if stale or merged != dict(link.canonical) or echo != link.echo:
            ctx.ops.append(
                Operation(
                    "refresh",
                    None,
                    link.planfix_key,
                    link.planningpme_key,
                    reason="; ".join(reason_bits) or "mapped values unchanged; stored hash refreshed",
                    rule="equal values are not a conflict" if reason_bits else "hash refresh",
                    canonical=merged,
                    echo=echo,
                )
            )
