"""What a cycle costs on the wire: Planfix task updates read their tasks in batches, contact
updates reuse the cycle's read, and a cycle after nothing changed writes nothing."""

from __future__ import annotations

import math

from tests.e2e.conftest import World


def _keys(world: World, kind: str) -> list[str]:
    return sorted(str(r["key"]) for r in world.records(kind))


def test_updates_cost_one_write_each_and_a_batched_read(world: World) -> None:
    world.pf("POST", "seed", {"tasks": 0, "contacts": 30, "seed": 3})
    world.pme("POST", "seed", {"events": 60, "customers": 0, "seed": 3})
    assert not any(r.failed for r in world.sync())
    events, customers = _keys(world, "events")[:25], _keys(world, "customers")[:7]
    remotes = world.remotes()
    try:
        for i, key in enumerate(events):
            remotes.by_entity["event"].update(key, {"label": f"Renamed {i}"})
        for i, key in enumerate(customers):
            remotes.by_entity["customer"].update(key, {"lastName": f"Renamed {i}"})
    finally:
        remotes.close()
    world.reset_stats()

    assert not any(r.failed for r in world.sync())

    by_method = world.pf("GET", "stats")["by_method"]
    assert by_method.get("task.update") == 25 and by_method.get("contact.update") == 7
    reads = by_method.get("task.getMulti", 0) + by_method.get("task.get", 0)
    assert reads == math.ceil(25 / 3), "each task is read right before its update, three per request"
    assert "contact.get" not in by_method
    titles = {r["title"] for r in world.records("tasks")}
    assert {f"Renamed {i}" for i in range(25)} <= titles

    world.reset_stats()
    world.sync()
    assert world.writes() == {"planfix": 0, "planningpme": 0}
