from __future__ import annotations

from tests.e2e.conftest import World


def dated(tasks: list[dict]) -> list[dict]:
    """Tasks with a start and an end date (task.get's startTime/endTime DateTime values)."""
    return [t for t in tasks if t.get("startTime") and t.get("endTime")]


def test_initial_sync_both_ways_then_nothing(world: World) -> None:
    world.pf("POST", "seed", {"tasks": 12, "contacts": 8, "seed": 1})
    world.pme("POST", "seed", {"events": 6, "customers": 5, "seed": 2})
    undated_before = len(world.records("tasks")) - len(dated(world.records("tasks")))
    results = world.sync()
    assert all(r.failed == 0 for r in results), [r.applied.failed for r in results if r.applied]
    tasks, events = world.records("tasks"), world.records("events")
    contacts, customers = world.records("contacts"), world.records("customers")
    assert len(contacts) == len(customers) == 13
    assert len(dated(tasks)) == len(events)
    assert len(tasks) - len(dated(tasks)) == undated_before, "undated tasks stay in Planfix only"
    world.reset_stats()
    again = world.sync()
    assert world.writes() == {"planfix": 0, "planningpme": 0}
    assert all(op.kind in ("refresh",) for r in again for op in r.plan.operations), [
        (op.kind, op.reason) for r in again for op in r.plan.operations
    ]
