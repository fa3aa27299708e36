"""Fields the mapping does not name are never overwritten or cleared (property 15): whatever people
keep there — an event's place and remark, a task's importance, project and site address, a
customer's address — survives every write syncd makes, in both directions."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import custom, links, planfix, planningpme
from tests.e2e.scenarios.people import People

EVENT_EXTRAS = {
    "place": "Portal B, 3º izq.",
    "remark": "Llamar antes de subir",
    "project": {"key": "P1"},
    "task": {"key": "T2"},
}


def task_extras(task: dict[str, Any]) -> tuple[Any, ...]:
    return task["importance"], task["project"], custom(task, "102")


def event_extras(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "place": event["place"],
        "remark": event["remark"],
        "project": {"key": event["project"]["key"]},
        "task": {"key": event["task"]["key"]},
    }


def test_unmapped_task_and_event_fields_survive_updates_both_ways(world: World, people: People) -> None:
    task = people.add_task(
        "Boiler inspection", importance="HIGH", project={"id": "2"}, customData={"102": "Calle Mayor 5"}
    )
    world.sync()
    event = links(world, "tasks")[task]
    people.edit_event(event, **EVENT_EXTRAS)
    kept_in_planfix = task_extras(planfix(world, "tasks")[task])
    assert kept_in_planfix == ("HIGH", {"id": "2", "title": "Installations"}, "Calle Mayor 5")

    people.edit_event(event, label="Boiler repair", description="Replace the pump")
    world.sync()  # written to Planfix
    people.edit_task(task, title="Boiler repair — urgent", status="2")
    world.sync()  # written to PlanningPME
    people.edit_event(event, resources=[{"key": "R3"}])
    people.edit_task(task, description="<p>Pump model <b>X-2</b></p>")
    world.sync()  # both ways in one cycle

    pf, pme = planfix(world, "tasks")[task], planningpme(world, "events")[event]
    assert (pf["title"], pme["label"]) == ("Boiler repair — urgent",) * 2
    assert (pf["status"], pme["category"]["key"]) == ("2", "C2")
    assert [w["id"] for w in pf["workers"]["users"]] == ["3"]
    assert pme["description"] == "Pump model X-2"
    assert task_extras(pf) == kept_in_planfix
    assert event_extras(pme) == EVENT_EXTRAS


def test_unmapped_contact_and_customer_fields_survive_updates_both_ways(world: World, people: People) -> None:
    contact = people.add_contact("Lucía", "Fernández", "lucia@example.es", customData={"202": "CL-1042"})
    world.sync()
    customer = links(world, "contacts")[contact]
    extras = {
        "address": "Calle Mayor 5",
        "zip": "28013",
        "city": "Madrid",
        "mobile": "+34 600 123 456",
        "webSite": "https://lucia.example",
    }
    people.edit_customer(customer, **extras)

    people.edit_customer(customer, lastName="Fernández Ruiz")
    world.sync()  # written to Planfix
    people.edit_contact(contact, email="lucia.fernandez@example.es")
    world.sync()  # written to PlanningPME

    pf, pme = planfix(world, "contacts")[contact], planningpme(world, "customers")[customer]
    assert (pf["lastName"], pme["lastName"]) == ("Fernández Ruiz",) * 2
    assert (pf["email"], pme["email"]) == ("lucia.fernandez@example.es",) * 2
    assert custom(pf, "202") == "CL-1042"
    assert {k: pme[k] for k in extras} == extras
