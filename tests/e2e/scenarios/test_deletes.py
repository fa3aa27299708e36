"""Deletes propagate once, by each side's delete policy, and never resurrect, not even after a full
scan (property 5); a record modified on one side while deleted on the other comes back, as
modified (modification wins)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import links, no_writes, planfix, planningpme, state
from tests.e2e.scenarios.people import People


def synced_tasks(world: World, people: People, *titles: str) -> dict[str, str]:
    for title in titles:
        people.add_task(title)
    world.sync()
    return links(world, "tasks")


def synced_contacts(world: World, people: People) -> dict[str, str]:
    people.add_contact("Emma", "Brown", "emma@example.com")
    people.add_contact("Peter", "Müller", "peter@example.org")
    world.sync()
    return links(world, "contacts")


def never_again(world: World, pair: str, planfix_key: str, planningpme_key: str) -> None:
    """Both records are tombstoned, and further cycles, incremental and full, write nothing
    anywhere: nothing comes back."""
    with state(world) as store:
        assert store.is_tombstoned(pair, "planfix", planfix_key)
        assert store.is_tombstoned(pair, "planningpme", planningpme_key)
    quiet_from_now_on(world)


def quiet_from_now_on(world: World) -> None:
    """Further cycles, incremental and full, write nothing anywhere."""
    world.reset_stats()
    world.sync()
    world.sync(full=True)
    world.sync()
    assert no_writes(world)


def marked(world: World, task: str) -> list[str]:
    """Keys of the events whose marker names ``task``."""
    return [k for k, e in planningpme(world, "events").items() if e["fields"].get("PLANFIX_ID") == task]


def test_an_event_deleted_in_planningpme_cancels_its_task(world: World, people: People) -> None:
    linked = synced_tasks(world, people, "Boiler inspection", "Network cabling")
    (task, event), (other_task, other_event) = sorted(linked.items())
    people.delete_event(event)

    world.sync()

    tasks = planfix(world, "tasks")
    assert tasks[task]["status"] == "4", "Planfix has no delete: the task is canceled"
    assert tasks[other_task]["status"] == "1"
    assert set(planningpme(world, "events")) == {other_event}
    assert links(world, "tasks") == {other_task: other_event}
    never_again(world, "tasks", task, event)
    assert planfix(world, "tasks")[task]["status"] == "4"
    assert set(planningpme(world, "events")) == {other_event}


def test_a_task_a_person_cancels_in_planfix_deletes_its_event(world: World, people: People) -> None:
    linked = synced_tasks(world, people, "Boiler inspection", "Network cabling")
    (task, event), (other_task, other_event) = sorted(linked.items())
    people.cancel_task(task)

    world.sync()

    assert set(planningpme(world, "events")) == {other_event}
    assert planfix(world, "tasks")[task]["status"] == "4"
    assert links(world, "tasks") == {other_task: other_event}
    never_again(world, "tasks", task, event)
    assert set(planningpme(world, "events")) == {other_event}
    assert marked(world, task) == []


def test_a_contact_deleted_in_planfix_deletes_its_customer(world: World, people: People) -> None:
    (contact, customer), (kept, kept_customer) = sorted(synced_contacts(world, people).items())
    people.delete_contact(contact)

    world.sync()

    assert set(planningpme(world, "customers")) == {kept_customer}
    assert set(planfix(world, "contacts")) == {kept}
    never_again(world, "contacts", contact, customer)
    assert set(planningpme(world, "customers")) == {kept_customer}
    assert set(planfix(world, "contacts")) == {kept}


def test_a_customer_deleted_in_planningpme_deletes_its_contact(world: World, people: People) -> None:
    (contact, customer), (kept, kept_customer) = sorted(synced_contacts(world, people).items())
    people.delete_customer(customer)

    world.sync()

    assert set(planfix(world, "contacts")) == {kept}
    assert set(planningpme(world, "customers")) == {kept_customer}
    never_again(world, "contacts", contact, customer)
    assert set(planfix(world, "contacts")) == {kept}
    assert set(planningpme(world, "customers")) == {kept_customer}


def test_a_task_edited_while_its_event_was_deleted_comes_back_as_edited(world: World, people: People) -> None:
    [(task, event)] = synced_tasks(world, people, "Boiler inspection").items()
    people.delete_event(event)
    people.edit_task(task, title="Boiler inspection — moved to Friday")

    world.sync()

    assert planfix(world, "tasks")[task]["status"] == "1", "not canceled: the edit wins"
    [event_again] = marked(world, task)
    assert event_again != event
    assert planningpme(world, "events")[event_again]["label"] == "Boiler inspection — moved to Friday"
    assert links(world, "tasks") == {task: event_again}
    with state(world) as store:
        assert store.is_tombstoned("tasks", "planningpme", event)
        assert not store.is_tombstoned("tasks", "planfix", task)
    quiet_from_now_on(world)
    assert marked(world, task) == [event_again]


def test_a_customer_edited_while_its_contact_was_deleted_comes_back_as_edited(
    world: World, people: People
) -> None:
    (contact, customer), _ = sorted(synced_contacts(world, people).items())
    people.delete_contact(contact)
    people.edit_customer(customer, phone="+34 911 222 333")

    world.sync()

    assert customer in planningpme(world, "customers")
    [again] = [k for k, c in planfix(world, "contacts").items() if c["email"] == "emma@example.com"]
    assert again != contact
    assert [p["number"] for p in planfix(world, "contacts")[again]["phones"]] == ["+34 911 222 333"]
    assert links(world, "contacts")[again] == customer
    with state(world) as store:
        assert store.is_tombstoned("contacts", "planfix", contact)
        assert not store.is_tombstoned("contacts", "planningpme", customer)
    quiet_from_now_on(world)
    assert [c["email"] for c in planfix(world, "contacts").values()].count("emma@example.com") == 1


@pytest.mark.parametrize("where", ["planningpme", "planfix"])
def test_a_task_whose_client_was_deleted_keeps_syncing(world: World, people: People, where: str) -> None:
    client = people.add_contact("Peter", "Müller", "peter@example.org")
    task = people.add_task("Boiler inspection", client={"id": client})
    world.sync()
    customer, event = links(world, "contacts")[client], links(world, "tasks")[task]
    if where == "planningpme":
        people.delete_customer(customer)
    else:
        people.delete_contact(client)

    world.sync()

    assert client not in planfix(world, "contacts")
    assert customer not in planningpme(world, "customers")
    assert planningpme(world, "events")[event]["customers"] == []
    people.edit_event(event, label="Boiler inspection — moved")
    world.sync()
    assert planfix(world, "tasks")[task]["title"] == "Boiler inspection — moved"
    assert planfix(world, "tasks")[task]["client"] == {"id": "0", "name": ""}, "no client any more"
    with state(world) as store:
        assert store.failures() == []
    quiet_from_now_on(world)


def test_an_event_edited_while_its_task_was_canceled_reopens_the_task_as_edited(
    world: World, people: People
) -> None:
    [(task, event)] = synced_tasks(world, people, "Boiler inspection").items()
    people.cancel_task(task)
    people.edit_event(event, label="Boiler inspection — confirmed by the client")

    world.sync()

    assert event in planningpme(world, "events"), "not deleted: the edit wins"
    tasks = planfix(world, "tasks")
    assert list(tasks) == [task], "the canceled task is reopened, not made a second time"
    assert tasks[task]["title"] == "Boiler inspection — confirmed by the client"
    assert tasks[task]["status"] == "1", "back to the status the event's category maps to"
    assert links(world, "tasks") == {task: event}
    quiet_from_now_on(world)
