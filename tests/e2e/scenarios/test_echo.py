"""What a system fills in or normalises on syncd's write never reads back as a change (property 17):
no echo write, and no "modification wins" over a deletion made meanwhile. And modification winning
over a canceled task reopens that task instead of making a second one with the same marker."""

from __future__ import annotations

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import custom, links, no_writes, planfix, planningpme, state
from tests.e2e.scenarios.people import People

MARKER = "101"
"""The Planfix custom field that holds the PlanningPME key (default mapping)."""


def event_without_category(people: People, label: str) -> str:
    """An event whose category a person cleared (PlanningPME fills one in on create)."""
    key = people.add_event(label)
    people.edit_event(key, category=None)
    return key


def tasks_marked(world: World, event: str) -> list[str]:
    return [k for k, t in planfix(world, "tasks").items() if custom(t, MARKER) == event]


def events_marked(world: World, task: str) -> list[str]:
    return [k for k, e in planningpme(world, "events").items() if e["fields"].get("PLANFIX_ID") == task]


def test_a_default_planfix_fills_in_is_not_copied_back(world: World, people: People) -> None:
    event = event_without_category(people, "Roof repair")
    assert planningpme(world, "events")[event]["category"] is None

    world.sync()
    [task] = tasks_marked(world, event)
    assert planfix(world, "tasks")[task]["status"] == "1", "Planfix gave the task its default status"
    world.reset_stats()
    world.sync()
    world.sync(full=True)

    assert no_writes(world), "the default status is Planfix's own doing, not an edit to copy"
    assert planningpme(world, "events")[event]["category"] is None
    with state(world) as store:
        (link,) = store.links("tasks")
        assert link.echo == {"held": {"planfix": {"status": "1"}}}


def test_an_event_deleted_right_after_its_task_was_created_stays_deleted(
    world: World, people: People
) -> None:
    event = event_without_category(people, "Roof repair")
    world.sync()
    [task] = tasks_marked(world, event)
    people.delete_event(event)

    world.sync()

    assert planfix(world, "tasks")[task]["status"] == "4", "canceled by the delete policy"
    assert planningpme(world, "events") == {}, "no event was re-created from the default status"
    assert links(world, "tasks") == {}
    world.reset_stats()
    world.sync()
    world.sync(full=True)
    assert no_writes(world)
    assert planningpme(world, "events") == {}


def test_a_person_setting_the_status_after_the_read_back_is_synced(world: World, people: People) -> None:
    event = event_without_category(people, "Roof repair")
    world.sync()
    world.sync()  # the read-back: the default status is held as Planfix's own
    [task] = tasks_marked(world, event)
    people.edit_task(task, status="2")

    world.sync()

    assert planningpme(world, "events")[event]["category"]["key"] == "C2"
    with state(world) as store:
        (link,) = store.links("tasks")
        assert link.canonical["status"] == "2"
        assert "held" not in link.echo
    world.reset_stats()
    world.sync()
    assert no_writes(world)


def test_a_label_planningpme_trims_is_not_copied_back(world: World, people: People) -> None:
    task = people.add_task("  Boiler inspection  ")
    world.sync()
    [event] = events_marked(world, task)
    world.reset_stats()

    world.sync()
    world.sync(full=True)

    assert no_writes(world)
    assert planningpme(world, "events")[event]["label"] == "Boiler inspection"


def test_an_event_edited_while_its_task_was_canceled_reopens_the_same_task(
    world: World, people: People
) -> None:
    event = people.add_event("Boiler inspection")
    world.sync()
    [task] = tasks_marked(world, event)
    people.cancel_task(task)
    people.edit_event(event, label="Boiler inspection — confirmed by the client", category={"key": "C2"})

    world.sync()

    tasks = planfix(world, "tasks")
    assert tasks_marked(world, event) == [task], "no second task with the same marker"
    assert tasks[task]["status"] == "2", "reopened, with the status the event's category maps to"
    assert tasks[task]["title"] == "Boiler inspection — confirmed by the client"
    assert event in planningpme(world, "events")
    assert links(world, "tasks") == {task: event}
    with state(world) as store:
        assert not store.is_tombstoned("tasks", "planfix", task)
        assert not store.is_tombstoned("tasks", "planningpme", event)
    world.reset_stats()
    world.sync()
    world.sync(full=True)
    assert no_writes(world)
    people.edit_task(task, title="Boiler inspection, second visit")
    world.sync()
    assert planningpme(world, "events")[event]["label"] == "Boiler inspection, second visit"


def test_a_task_canceled_before_its_read_back_still_deletes_its_event(world: World, people: People) -> None:
    event = event_without_category(people, "Roof repair")
    world.sync()
    [task] = tasks_marked(world, event)
    people.cancel_task(task)  # before syncd read the task back: no system cancels a task by itself

    world.sync()

    assert planningpme(world, "events") == {}
    assert planfix(world, "tasks")[task]["status"] == "4"
    world.reset_stats()
    world.sync()
    world.sync(full=True)
    assert no_writes(world)
    assert tasks_marked(world, event) == [task]


def test_a_reopened_task_whose_event_has_no_category_gets_its_own_status_back(
    world: World, people: People
) -> None:
    event = event_without_category(people, "Roof repair")
    world.sync()
    world.sync()  # the read-back: Planfix's default status is held as the task's own
    [task] = tasks_marked(world, event)
    people.cancel_task(task)
    people.edit_event(event, label="Roof repair, confirmed")

    world.sync()

    tasks = planfix(world, "tasks")
    assert tasks_marked(world, event) == [task]
    assert (tasks[task]["status"], tasks[task]["title"]) == ("1", "Roof repair, confirmed")
    assert planningpme(world, "events")[event]["category"] is None, "nothing copied back"
    world.reset_stats()
    world.sync()
    world.sync(full=True)
    assert no_writes(world)
