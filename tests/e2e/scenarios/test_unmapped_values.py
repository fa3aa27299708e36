"""Values the mapping cannot translate stay where they are when a mapped field changes (property 15):
a PlanningPME resource the lookup table does not name, a Planfix contact's second phone. The target record is
usually not among the records a cycle read (an incremental listing shows only what changed, a full
scan keeps only what changed), so syncd reads it before it writes such a field."""

from __future__ import annotations

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import links, planfix, planningpme
from tests.e2e.scenarios.people import People


def test_a_resource_the_table_does_not_name_stays_when_the_workers_change(
    world: World, people: People
) -> None:
    event = people.add_event("Revisión", resources=[{"key": "R1"}, {"key": "R6"}])  # R6: no user
    world.sync()
    task = {pme: pf for pf, pme in links(world, "tasks").items()}[event]
    people.edit_task(task, workers=[{"id": "2"}])
    world.sync()
    resources = sorted(r["key"] for r in planningpme(world, "events")[event]["resources"])
    assert resources == ["R2", "R6"]


def test_a_second_phone_stays_when_the_first_changes_in_a_full_scan(world: World, people: People) -> None:
    phones = [{"number": "+34 600 000 001", "typeId": "2"}, {"number": "+34 910 000 002", "typeId": "1"}]
    contact = people.add_contact("Lucía", "Fernández", "lucia@example.es", phones=phones)
    world.sync(full=True)
    world.sync(full=True)
    world.sync(full=True)  # settled: the full scan now skips the unchanged contact
    customer = links(world, "contacts")[contact]
    people.edit_customer(customer, phone="+34 600 999 999")
    world.sync(full=True)
    numbers = [p["number"] for p in planfix(world, "contacts")[contact]["phones"]]
    assert numbers == ["+34 600 999 999", "+34 910 000 002"]


def test_a_task_read_before_its_workers_are_written_is_read_once(world: World, people: People) -> None:
    """The applier reads the task first (its workers keep users the table does not name); the
    connector's full-state ``task.update`` then uses that fresh copy instead of reading it again.
    ``ПланФикс_API_task.getMulti.md``: each ``<task>`` it returns is the card of
    ``ПланФикс_API_task.get.md``, so a ``task.get`` copy holds all a read-ahead one would."""
    event = people.add_event("Instalación", resources=[{"key": "R1"}])
    for _ in range(3):
        world.sync(full=True)  # settled: the full scan now keeps no copy of the unchanged task
    task = {pme: pf for pf, pme in links(world, "tasks").items()}[event]
    people.edit_event(event, resources=[{"key": "R2"}])
    world.pf("POST", "stats/reset")
    world.sync(full=True)
    calls = world.pf("GET", "stats")["by_method"]
    assert calls.get("task.update") == 1
    assert calls.get("task.get", 0) + calls.get("task.getMulti", 0) == 1, calls
    assert [w["id"] for w in planfix(world, "tasks")[task]["workers"]["users"]] == ["2"]
