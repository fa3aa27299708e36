"""A full scan drops linked records that are unchanged on their side (``syncd/engine/scan.py``):
the planner must then plan exactly what it plans when it is given every record and every link."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.engine.planner import SIDES, LinkState, Observed, Operation, PlanInput, Side, SideView, plan
from tests.engine.plans import h
from tests.engine.test_planner import RULES, pf_view, pme_view

VIEWS = {"planfix": pf_view, "planningpme": pme_view}
STATES = ("absent", "unchanged", "changed", "deleted", "excluded", "unresolved", "archived-like")
TITLES = ("Visit", "Visit 2", "Repair")


def _record(side: Side, key: str, canonical: dict[str, Any], state: str, marker: str | None) -> Observed:
    values = VIEWS[side](canonical)
    return Observed(
        side=side,
        key=key,
        canonical=values,
        hash=h(values),
        marker=marker,
        match_key=str(canonical["title"]),
        included=state != "excluded",
        unresolved=("contact 9",) if state == "unresolved" else (),
    )


@st.composite
def scans(draw: st.DrawFn) -> tuple[PlanInput, PlanInput]:
    """The same full scan twice: once as it was read, once as the sifted cycle plans it."""
    links: list[LinkState] = []
    records: dict[Side, dict[str, Observed]] = {"planfix": {}, "planningpme": {}}
    deleted: dict[Side, set[str]] = {"planfix": set(), "planningpme": set()}
    for i in range(draw(st.integers(0, 6))):
        pf_key, pme_key = str(i), f"E{i}"
        base = {
            "title": draw(st.sampled_from(TITLES)),
            "status": draw(st.sampled_from("12")),
            "note": "n",
            "owner": "u1",
        }
        link = LinkState(pf_key, pme_key, base, h(pf_view(base)), h(pme_view(base)))
        links.append(link)
        for side in SIDES:
            state = draw(st.sampled_from(STATES))
            key = link.key(side)
            if state == "absent":
                continue
            if state == "deleted":
                deleted[side].add(key)
                continue
            values = dict(base)
            if state == "changed":
                values["title"] = draw(st.sampled_from(TITLES))
                values["note"] = draw(st.sampled_from(("n", "m")))
            records[side][key] = _record(side, key, values, state, None)
    for j in range(draw(st.integers(0, 3))):  # unlinked records, some naming a linked key
        side = draw(st.sampled_from(SIDES))
        key = f"N{j}" if side == "planfix" else f"EN{j}"
        marker = draw(st.sampled_from((None, "0", "E0", "E1", "1")))
        values = {"title": draw(st.sampled_from(TITLES)), "status": "1", "note": "n", "owner": "u1"}
        records[side][key] = _record(side, key, values, "unchanged", marker)
    whole = PlanInput(
        RULES,
        tuple(links),
        SideView("planfix", records["planfix"], frozenset(deleted["planfix"])),
        SideView("planningpme", records["planningpme"], frozenset(deleted["planningpme"])),
    )
    by_key = {(side, lk.key(side)): lk for lk in links for side in SIDES}
    kept: dict[Side, dict[str, Observed]] = {
        side: {
            key: rec
            for key, rec in records[side].items()
            if not (
                (link := by_key.get((side, key))) is not None
                and rec.hash == link.hash(side)
                and rec.included
                and not rec.unresolved
            )
        }
        for side in SIDES
    }
    # The links the cycle loads: those of kept records, of deleted keys and of markers.
    wanted = {(side, key) for side in SIDES for key in [*kept[side], *deleted[side]]}
    wanted |= {
        ("planningpme" if side == "planfix" else "planfix", rec.marker)
        for side in SIDES
        for rec in kept[side].values()
        if rec.marker
    }
    loaded = tuple(lk for lk in links if any((side, lk.key(side)) in wanted for side in SIDES))
    sifted = PlanInput(
        RULES,
        loaded,
        SideView("planfix", kept["planfix"], frozenset(deleted["planfix"])),
        SideView("planningpme", kept["planningpme"], frozenset(deleted["planningpme"])),
    )
    return whole, sifted


def _ops(data: PlanInput) -> list[Operation]:
    return sorted(plan(data).operations, key=repr)


@settings(max_examples=400, deadline=None)
@given(scans())
def test_dropping_unchanged_linked_records_plans_the_same(inputs: tuple[PlanInput, PlanInput]) -> None:
    whole, sifted = inputs
    assert _ops(sifted) == _ops(whole)
