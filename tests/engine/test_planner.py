"""The pure planner, driven with plain data: each rule of the module docstring, one scenario each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.engine.planner import (
    FieldRule,
    GuardLimits,
    LinkState,
    Observed,
    PairRules,
    Plan,
    PlanInput,
    SideView,
    guard_violation,
    plan,
)
from tests.engine.plans import h, kinds, obs

RULES = PairRules(
    pair="tasks",
    fields=(
        FieldRule("title", "both", "newest"),
        FieldRule("status", "both", "planfix"),
        FieldRule("note", "both", "manual"),
        FieldRule("owner", "to_planningpme", "planfix"),
    ),
    on_delete={"planfix": "propagate", "planningpme": "archive"},
    newest_fallback="planningpme",
)

BASE = {"title": "Visit", "status": "1", "note": "n", "owner": "u1"}


def pf_view(canonical: dict[str, Any]) -> dict[str, Any]:
    return dict(canonical)


def pme_view(canonical: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in canonical.items() if k != "owner"}


def link(pf: str = "1", pme: str = "E1", canonical: dict[str, Any] | None = None) -> LinkState:
    c = canonical or BASE
    return LinkState(pf, pme, c, h(pf_view(c)), h(pme_view(c)))


def run(
    links: tuple[LinkState, ...] = (),
    pf: tuple[Observed, ...] = (),
    pme: tuple[Observed, ...] = (),
    **kw: Any,
) -> Plan:
    pf_deleted = kw.pop("pf_deleted", frozenset())
    pme_deleted = kw.pop("pme_deleted", frozenset())
    pf_complete = kw.pop("pf_complete", True)
    return plan(
        PlanInput(
            rules=RULES,
            links=links,
            planfix=SideView("planfix", {o.key: o for o in pf}, frozenset(pf_deleted), pf_complete),
            planningpme=SideView("planningpme", {o.key: o for o in pme}, frozenset(pme_deleted)),
            **kw,
        )
    )


def test_unchanged_records_plan_nothing() -> None:
    p = run((link(),), (obs("planfix", "1", pf_view(BASE)),), (obs("planningpme", "E1", pme_view(BASE)),))
    assert p.operations == ()


def test_change_on_one_side_is_copied() -> None:
    edited = {**BASE, "title": "Visit 2"}
    p = run((link(),), (obs("planfix", "1", pf_view(edited)),))
    assert kinds(p) == [("update", "planningpme")]
    (change,) = p.operations[0].changes
    assert (change.field, change.old, change.new) == ("title", "Visit", "Visit 2")


def test_different_fields_changed_on_both_sides_merge() -> None:
    p = run(
        (link(),),
        (obs("planfix", "1", pf_view({**BASE, "title": "T2"})),),
        (obs("planningpme", "E1", pme_view({**BASE, "status": "3"})),),
    )
    assert sorted(kinds(p)) == [("update", "planfix"), ("update", "planningpme")]
    for op in p.operations:
        assert op.canonical["title"] == "T2" and op.canonical["status"] == "3"


def test_equal_values_on_both_sides_are_not_a_conflict() -> None:
    both = {**BASE, "note": "same"}
    p = run((link(),), (obs("planfix", "1", pf_view(both)),), (obs("planningpme", "E1", pme_view(both)),))
    assert kinds(p) == [("refresh", None)]
    assert p.operations[0].canonical["note"] == "same"


def test_conflict_policies() -> None:
    pf = {**BASE, "title": "A", "status": "2", "note": "pf"}
    pme = {**BASE, "title": "B", "status": "3", "note": "pme"}
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    p = run(
        (link(),),
        (obs("planfix", "1", pf_view(pf), modified=t2),),
        (obs("planningpme", "E1", pme_view(pme), modified=t1),),
    )
    updates = {op.target: op for op in p.operations if op.kind == "update"}
    # status: planfix wins; title: newest (planfix is newer) wins → both written to planningpme
    assert {c.field: c.new for c in updates["planningpme"].changes} == {"title": "A", "status": "2"}
    assert "planfix" not in updates
    (conflict,) = [op for op in p.operations if op.kind == "conflict"]
    assert [(c.field, c.old, c.new) for c in conflict.conflicts] == [("note", "pf", "pme")]


def test_newest_falls_back_to_the_configured_side_without_times() -> None:
    p = run(
        (link(),),
        (obs("planfix", "1", pf_view({**BASE, "title": "A"})),),
        (obs("planningpme", "E1", pme_view({**BASE, "title": "B"})),),
    )
    (op,) = [o for o in p.operations if o.kind == "update"]
    assert op.target == "planfix" and op.changes[0].new == "B"


def test_one_way_field_is_not_read_from_the_other_side() -> None:
    p = run((link(),), (), (obs("planningpme", "E1", {**pme_view(BASE), "owner": "u9"}),))
    assert p.operations == () or kinds(p) == [("refresh", None)]


def test_new_record_is_created_with_its_fields() -> None:
    p = run((), (obs("planfix", "7", pf_view(BASE)),))
    (op,) = p.operations
    assert (op.kind, op.target, op.planfix_key) == ("create", "planningpme", "7")
    assert {c.field for c in op.changes} == {"title", "status", "note", "owner"}


def test_create_from_planningpme_skips_fields_that_only_flow_to_planningpme() -> None:
    p = run((), (), (obs("planningpme", "E7", pme_view(BASE)),))
    (op,) = p.operations
    assert op.target == "planfix" and "owner" not in {c.field for c in op.changes}


def test_tombstoned_records_never_come_back() -> None:
    p = run((), (obs("planfix", "7", pf_view(BASE)),), tombstones=frozenset({("planfix", "7")}))
    assert p.operations == ()


def test_marker_links_instead_of_creating() -> None:
    p = run(
        (),
        (obs("planfix", "7", pf_view(BASE)),),
        (obs("planningpme", "E7", pme_view(BASE), marker="7"),),
    )
    assert kinds(p) == [("link", None), ("update", "planningpme")]
    # the one-way field cannot be read from planningpme, so it is written once at link time
    assert [c.field for c in p.operations[1].changes] == ["owner"]


def test_marker_to_a_deleted_record_is_reported_not_recreated() -> None:
    p = run(
        (),
        (),
        (obs("planningpme", "E7", pme_view(BASE), marker="7"),),
        tombstones=frozenset({("planfix", "7")}),
    )
    assert kinds(p) == [("report", None)]


def test_first_sync_matches_by_key_and_reports_ambiguity() -> None:
    p = run(
        (),
        (
            obs("planfix", "1", pf_view(BASE), match_key="visit|2026"),
            obs("planfix", "2", pf_view(BASE), match_key="x"),
        ),
        (
            obs("planningpme", "E1", pme_view(BASE), match_key="visit|2026"),
            obs("planningpme", "E2", pme_view(BASE), match_key="x"),
            obs("planningpme", "E3", pme_view(BASE), match_key="x"),
        ),
    )
    assert kinds(p) == [("link", None), ("update", "planningpme"), ("report", None)]
    assert p.operations[0].planfix_key == "1" and p.operations[0].planningpme_key == "E1"


def test_delete_propagates_by_policy() -> None:
    p = run((link(),), pf_deleted={"1"})
    assert kinds(p) == [("delete", "planningpme")]
    p = run((link(),), pme_deleted={"E1"})
    assert kinds(p) == [("archive", "planfix")]


def test_incomplete_listing_never_deletes() -> None:
    p = run((link(),), pf_deleted={"1"}, pf_complete=False)
    assert p.operations == ()


def test_modification_wins_over_deletion() -> None:
    p = run((link(),), (), (obs("planningpme", "E1", pme_view({**BASE, "title": "new"})),), pf_deleted={"1"})
    assert kinds(p) == [("unlink", None), ("create", "planfix")]
    assert p.operations[1].canonical["title"] == "new"


def test_records_in_backoff_wait() -> None:
    p = run((), (obs("planfix", "7", pf_view(BASE)),), backing_off=frozenset({("planfix", "7")}))
    assert p.operations == ()


def test_unresolved_relation_defers() -> None:
    p = run((), (obs("planfix", "7", pf_view(BASE), unresolved=("contact 5",)),))
    assert kinds(p) == [("defer", None)]


def test_guard() -> None:
    links = tuple(link(str(i), f"E{i}") for i in range(20))
    p = run(links, pf_deleted={str(i) for i in range(5)})
    assert guard_violation(p, 20, GuardLimits(max_delete=3, max_delete_percent=100)) is not None
    assert "25.0 %" in (guard_violation(p, 20, GuardLimits(max_delete=50, max_delete_percent=10)) or "")
    assert guard_violation(p, 20, GuardLimits(max_delete=50, max_delete_percent=30)) is None


values = st.sampled_from(["a", "b", "c"])


@settings(max_examples=300, deadline=None)
@given(pf_title=values, pme_title=values, pf_note=values, pme_note=values)
def test_merge_is_deterministic_and_converges(
    pf_title: str, pme_title: str, pf_note: str, pme_note: str
) -> None:
    base = {"title": "a", "status": "1", "note": "a", "owner": "u1"}
    pf = {**base, "title": pf_title, "note": pf_note}
    pme = {**pme_view(base), "title": pme_title, "note": pme_note}
    inp = dict(
        links=(link(canonical=base),),
        pf=(obs("planfix", "1", pf),),
        pme=(obs("planningpme", "E1", pme),),
    )
    first, second = run(**inp), run(**inp)  # type: ignore[arg-type]
    assert first == second
    # Applying the updates makes every non-manual field equal on both sides.
    after = {"planfix": dict(pf), "planningpme": dict(pme)}
    for op in first.operations:
        if op.kind == "update":
            assert op.target is not None
            for c in op.changes:
                after[op.target][c.field] = c.new
    assert after["planfix"]["title"] == after["planningpme"]["title"]
    conflicts = [op for op in first.operations if op.kind == "conflict"]
    if pf_note != pme_note and pf_note != "a" and pme_note != "a":
        assert conflicts and conflicts[0].conflicts[0].field == "note"
    else:
        assert not conflicts
        assert after["planfix"]["note"] == after["planningpme"]["note"]
