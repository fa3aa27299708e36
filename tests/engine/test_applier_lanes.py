"""The applier's two lanes: records that share a key never run side by side, steps keep plan
order, and only operations that write PlanningPME alone leave the first lane."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.engine.applier import _lanes
from syncd.engine.planner import Operation


@st.composite
def operations(draw: st.DrawFn) -> list[Operation]:
    ops: list[Operation] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["create", "update", "link", "unlink", "refresh", "delete"]))
        pf = draw(st.none() | st.sampled_from(["1", "2", "3", "4"]))
        pme = draw(st.none() | st.sampled_from(["E1", "E2", "E3", "E4"]))
        if pf is None and pme is None:
            pf = "1"
        writes = kind in ("create", "update", "delete")
        target = draw(st.sampled_from(["planfix", "planningpme"])) if writes else None
        ops.append(Operation(kind, target, pf, pme, reason="", rule=""))  # type: ignore[arg-type]
    return ops


@settings(max_examples=300, deadline=None)
@given(ops=operations())
def test_lanes_keep_related_steps_together_and_in_order(ops: list[Operation]) -> None:
    lanes = _lanes(ops)

    assert sorted(i for lane in lanes for i in lane) == list(range(len(ops)))
    assert all(lane == sorted(lane) for lane in lanes), "plan order within a lane"
    lane_of = {i: n for n, lane in enumerate(lanes) for i in lane}
    for i, a in enumerate(ops):
        for j, b in enumerate(ops):
            shared = (a.planfix_key and a.planfix_key == b.planfix_key) or (
                a.planningpme_key and a.planningpme_key == b.planningpme_key
            )
            if shared:
                assert lane_of[i] == lane_of[j], f"{a} and {b} share a key"
    assert all(ops[i].target == "planningpme" for i in lanes[1]), "the second lane writes PlanningPME only"


def test_unrelated_writes_to_both_systems_go_to_two_lanes() -> None:
    ops = [
        Operation("update", "planfix", "1", "E1", reason="", rule=""),
        Operation("update", "planningpme", "2", "E2", reason="", rule=""),
        Operation("update", "planningpme", "1", "E1", reason="", rule=""),
        Operation("unlink", None, "3", "E3", reason="", rule=""),
        Operation("create", "planningpme", "3", None, reason="", rule=""),
    ]

    assert _lanes(ops) == [[0, 2, 3, 4], [1]]
