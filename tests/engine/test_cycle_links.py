"""The links a cycle loads: only those of the records it touches give the same plan as all of them,
the LinkSet answers like the store, and the related-record resolver sees every change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state.rows import LinkRow
from state.store import Store
from syncd.engine.links import LinkResolverFromStore, LinkSet
from syncd.engine.planner import SIDES, LinkState, Observed, PlanInput, Side, SideView, plan
from tests.engine.plans import h
from tests.engine.test_planner import RULES, link, pf_view, pme_view

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PF_KEYS = [str(i) for i in range(1, 7)]
PME_KEYS = [f"E{i}" for i in range(1, 7)]


@st.composite
def cycle_inputs(draw: st.DrawFn) -> tuple[tuple[LinkState, ...], PlanInput]:
    """Links, and what one cycle saw: some records (changed or not, some with markers), some
    deletions — every planner rule gets a chance to look a link up."""
    linked = draw(st.lists(st.sampled_from(range(6)), unique=True, max_size=6))
    pme_order = draw(st.permutations(range(6)))
    links = tuple(
        link(PF_KEYS[i], PME_KEYS[pme_order[i]], {"title": f"t{i}", "status": "1", "note": "n", "owner": "u"})
        for i in linked
    )
    views: dict[Side, dict[str, Observed]] = {"planfix": {}, "planningpme": {}}
    for side, keys in (("planfix", PF_KEYS), ("planningpme", PME_KEYS)):
        for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=4)):
            title = draw(st.sampled_from(["t0", "t1", "new", "other"]))
            canonical: dict[str, Any] = {"title": title, "status": "1", "note": "n", "owner": "u"}
            if side == "planningpme":
                canonical = pme_view(canonical)
            others = PME_KEYS if side == "planfix" else PF_KEYS
            marker = draw(st.none() | st.sampled_from(others))
            digest = h(canonical if side == "planningpme" else pf_view(canonical))
            views[side][key] = Observed(side, key, canonical, digest, marker=marker, match_key=title)
    deleted = {
        side: frozenset(draw(st.lists(st.sampled_from(keys), max_size=2)))
        for side, keys in (("planfix", PF_KEYS), ("planningpme", PME_KEYS))
    }
    data = PlanInput(
        RULES,
        links,
        SideView("planfix", views["planfix"], deleted["planfix"]),
        SideView("planningpme", views["planningpme"], deleted["planningpme"]),
    )
    return links, data


@settings(max_examples=300, deadline=None)
@given(inputs=cycle_inputs())
def test_the_links_of_the_records_a_cycle_touches_plan_like_all_links(
    inputs: tuple[tuple[LinkState, ...], PlanInput],
) -> None:
    links, data = inputs
    touched: dict[Side, set[str]] = {side: set() for side in SIDES}
    for side in SIDES:
        view = data.view(side)
        touched[side] |= set(view.records) | set(view.deleted)
        other: Side = "planningpme" if side == "planfix" else "planfix"
        touched[other] |= {o.marker for o in view.records.values() if o.marker}
    needed = tuple(lk for lk in links if any(lk.key(side) in touched[side] for side in SIDES))

    assert plan(PlanInput(data.rules, needed, data.planfix, data.planningpme)) == plan(data)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state.db") as opened:
        yield opened


def row(pf: str, pme: str) -> LinkRow:
    return LinkRow("tasks", pf, pme, {"title": pf}, f"h{pf}", f"h{pme}", NOW, NOW)


def test_a_link_set_loaded_on_demand_answers_like_one_loaded_whole(store: Store) -> None:
    store.upsert_links_batch([row(str(i), f"E{i}") for i in range(50)])
    whole = LinkSet(store, "tasks", everything=True)
    some = LinkSet(store, "tasks", everything=False)
    some.want("planfix", ["1", "2", "999"])

    assert whole.count == some.count == 50
    for side, key in [("planfix", "1"), ("planfix", "999"), ("planningpme", "E7"), ("planningpme", "E2")]:
        assert some.get(side, key) == whole.get(side, key)  # type: ignore[arg-type]
    assert {lk.planfix_key for lk in some.states()} == {"1", "2", "7"}
    assert len(whole.keys("planningpme")) == 50
    assert whole.missing_from("planfix", {str(i) for i in range(48)}) == {"48", "49"}
    with pytest.raises(RuntimeError):
        some.keys("planfix")
    with pytest.raises(RuntimeError):
        some.missing_from("planfix", ())
    keys = store.link_keys("tasks")
    given = LinkSet(
        store,
        "tasks",
        everything=True,
        linked={"planfix": {pf for pf, _ in keys}, "planningpme": {pme for _, pme in keys}},
    )
    assert given.count == 50 and given.get("planningpme", "E7") == whole.get("planningpme", "E7")
    assert given.get("planfix", "999") is None


def test_the_resolver_sees_links_and_tombstones_made_after_it_answered(store: Store) -> None:
    resolver = LinkResolverFromStore(store, {"contact": "contacts", "customer": "contacts"})
    assert resolver.planningpme_key("contact", "5") is None

    store.upsert_link("contacts", "5", "50", {}, "a", "b", NOW)
    assert resolver.planningpme_key("contact", "5") == "50"
    assert resolver.planfix_key("customer", "50") == "5"

    store.delete_link("contacts", "5", "50")
    store.add_tombstone("contacts", "planningpme", "50", "deleted", NOW)
    assert resolver.planfix_key("customer", "50") is None
    assert resolver.deleted("customer", "planningpme", "50")
    assert not resolver.deleted("customer", "planningpme", "51")
    assert resolver.planningpme_key("project", "1") is None, "entities of no pair have no links"
