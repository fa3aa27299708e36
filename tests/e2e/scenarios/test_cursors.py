"""Cursors are safe (property 13): a change people make while a cycle runs — after it read, before
it wrote — is seen by a later cycle, even on the very record the cycle is writing; cursors never
move past the moment their cycle started."""

from __future__ import annotations

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import (
    Tap,
    links,
    no_writes,
    planfix,
    planningpme,
    planningpme_call,
    state,
    sync_through,
)
from tests.e2e.scenarios.people import People


def test_edits_made_between_the_read_and_the_write_are_seen_next_time(world: World, people: People) -> None:
    first, second = people.add_task("Boiler inspection"), people.add_task("Network cabling")
    world.sync()
    linked = links(world, "tasks")
    people.edit_task(first, title="Boiler inspection — moved")

    def meanwhile() -> None:
        people.edit_event(linked[first], description="Gate code 4512")  # the record being written
        people.edit_event(linked[second], label="Network cabling — 3rd floor")
        people.edit_task(second, description="<p>Ask for <i>Ольга</i></p>")

    tap = Tap()
    tap.before(planningpme_call(f"PUT /api/do/{linked[first]}"), meanwhile)

    results = sync_through(world, {"planningpme": tap})

    assert not tap.rules, "the edits were made after the read, just before the write"
    assert planningpme(world, "events")[linked[first]]["label"] == "Boiler inspection — moved"
    with state(world) as store:
        for result in results:
            for side in ("planfix", "planningpme"):
                cursor = store.get_cursor(result.pair, side, "incremental")
                assert cursor is not None and cursor <= result.started_at, (result.pair, side)

    world.sync()

    tasks, events = planfix(world, "tasks"), planningpme(world, "events")
    assert tasks[first]["description"] == "Gate code 4512"
    assert events[linked[first]]["label"] == "Boiler inspection — moved"
    assert tasks[second]["title"] == "Network cabling — 3rd floor"
    assert events[linked[second]]["description"] == "Ask for Ольга"
    world.reset_stats()
    world.sync()
    assert no_writes(world)
