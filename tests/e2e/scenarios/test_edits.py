"""Edits after the first sync: one side's edit is copied, and never echoes back (properties 1-3);
edits of different fields on both sides merge (2); equal edits are no conflict (9)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import links, no_writes, planfix, planningpme, state
from tests.e2e.scenarios.people import People


def linked_task(world: World, people: People, title: str = "Boiler inspection") -> tuple[str, str]:
    """A task made in Planfix and synced: (task id, event key); the emulators' counts are reset."""
    task = people.add_task(title)
    world.sync()
    event = links(world, "tasks")[task]
    world.reset_stats()
    return task, event


def linked_contact(world: World, people: People) -> tuple[str, str]:
    contact = people.add_contact("Lucía", "Fernández", "lucia@example.es")
    world.sync()
    customer = links(world, "contacts")[contact]
    world.reset_stats()
    return contact, customer


def test_a_planfix_edit_reaches_planningpme_and_does_not_echo(world: World, people: People) -> None:
    task, event = linked_task(world, people)
    people.edit_task(task, title="Boiler inspection — 2nd floor", description="<p>Bring <b>F7</b> filter</p>")
    world.reset_stats()

    world.sync()

    copied = planningpme(world, "events")[event]
    assert (copied["label"], copied["description"]) == ("Boiler inspection — 2nd floor", "Bring F7 filter")
    assert world.writes() == {"planfix": 0, "planningpme": 1}
    world.reset_stats()
    world.sync()
    assert no_writes(world), "our own write came back as a change"


def test_a_planningpme_edit_reaches_planfix_and_does_not_echo(world: World, people: People) -> None:
    task, event = linked_task(world, people)
    people.edit_event(event, label="Boiler repair", category={"key": "C2"}, resources=[{"key": "R4"}])
    world.reset_stats()

    world.sync()

    copied = planfix(world, "tasks")[task]
    assert copied["title"] == "Boiler repair"
    assert copied["status"] == "2"
    assert [w["id"] for w in copied["workers"]["users"]] == ["4"]
    assert world.writes() == {"planfix": 1, "planningpme": 0}
    world.reset_stats()
    world.sync()
    assert no_writes(world), "our own write came back as a change"


@pytest.mark.parametrize("where", ["planfix", "planningpme"])
def test_a_contact_edit_is_copied_either_way_without_echo(world: World, people: People, where: str) -> None:
    contact, customer = linked_contact(world, people)
    if where == "planfix":
        people.edit_contact(
            contact, lastName="Fernández Ruiz", phones=[{"number": "+34 600 111 222", "typeId": "1"}]
        )
    else:
        people.edit_customer(customer, lastName="Fernández Ruiz", phone="+34 600 111 222")
    world.reset_stats()

    world.sync()

    pf, pme = planfix(world, "contacts")[contact], planningpme(world, "customers")[customer]
    assert pf["lastName"] == pme["lastName"] == "Fernández Ruiz"
    assert [p["number"] for p in pf["phones"]] == [pme["phone"]] == ["+34 600 111 222"]
    world.reset_stats()
    world.sync()
    assert no_writes(world)


def test_edits_of_different_fields_on_both_sides_are_merged(world: World, people: People) -> None:
    task, event = linked_task(world, people)
    people.edit_task(task, title="Boiler inspection (urgent)")
    people.edit_event(event, description="Call the caretaker first", resources=[{"key": "R3"}])
    world.reset_stats()

    world.sync()

    pf, pme = planfix(world, "tasks")[task], planningpme(world, "events")[event]
    assert pf["title"] == pme["label"] == "Boiler inspection (urgent)"
    assert pf["description"] == "Call the caretaker first"
    assert pme["description"] == "Call the caretaker first"
    assert [w["id"] for w in pf["workers"]["users"]] == ["3"]
    assert [r["key"] for r in pme["resources"]] == ["R3"]
    with_state = links(world, "tasks")
    assert with_state == {task: event}
    world.reset_stats()
    world.sync()
    assert no_writes(world)


def test_the_same_edit_on_both_sides_is_not_a_conflict(world: World, people: People) -> None:
    task, event = linked_task(world, people)
    people.edit_task(task, title="Quarterly check")
    people.edit_event(event, label="Quarterly check")
    world.reset_stats()

    results = world.sync()

    assert no_writes(world), "equal values need no write on either side"
    assert not [op for r in results for op in r.plan.operations if op.kind == "conflict"]
    with state(world) as store:
        assert store.pending_conflicts() == []
        assert [a for a in store.audit_log() if a.operation == "conflict"] == []
