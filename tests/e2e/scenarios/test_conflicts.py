"""The same field edited differently on both sides: decided by the configured rule, deterministically,
and audited once (property 8); a `manual` conflict waits in the state and in `syncd status`."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import cli, links, no_writes, planfix, planningpme, state, use_mappings
from tests.e2e.scenarios.people import People


def both_retitle(world: World, people: People) -> tuple[str, str]:
    """A synced task whose title is then changed in Planfix and, differently, in PlanningPME."""
    task = people.add_task("Boiler inspection")
    world.sync()
    event = links(world, "tasks")[task]
    people.edit_task(task, title="Boiler inspection — Planfix")
    people.edit_event(event, label="Boiler inspection — PlanningPME")
    world.reset_stats()
    return task, event


def titles(world: World, task: str, event: str) -> tuple[str, str]:
    return planfix(world, "tasks")[task]["title"], planningpme(world, "events")[event]["label"]


@pytest.mark.parametrize(
    ("settings", "winner"),
    [
        ({"conflict": '"planfix"'}, "Planfix"),
        ({"conflict": '"planningpme"'}, "PlanningPME"),
        # PlanningPME records carry no modification time: `newest` cannot compare, the fallback decides.
        ({"conflict": '"newest"', "newest_fallback": '"planfix"'}, "Planfix"),
        ({"conflict": '"newest"', "newest_fallback": '"planningpme"'}, "PlanningPME"),
    ],
    ids=["planfix", "planningpme", "newest-fallback-planfix", "newest-fallback-planningpme"],
)
def test_a_conflict_is_decided_by_the_configured_rule(
    world: World, people: People, settings: dict[str, str], winner: str
) -> None:
    use_mappings(world, tasks=settings)
    task, event = both_retitle(world, people)

    world.sync()

    assert titles(world, task, event) == (f"Boiler inspection — {winner}",) * 2
    with state(world) as store:
        decisions = [a for a in store.audit_log("tasks") if a.operation == "update"]
        assert store.pending_conflicts() == []
    assert len(decisions) == 1, "one write, audited once"
    assert decisions[0].fields["title"][1] == f"Boiler inspection — {winner}"
    assert "title: conflict" in (decisions[0].rule or "")
    world.reset_stats()
    world.sync()
    assert no_writes(world)


def test_newest_ignores_a_time_only_one_side_gives(world: World, people: People) -> None:
    """Planfix contacts carry a modification time, PlanningPME customers none: the fallback decides,
    even though the Planfix edit is the later one."""
    use_mappings(world, contacts={"conflict": '"newest"', "newest_fallback": '"planningpme"'})
    contact = people.add_contact("Nuria", "Martín", "nuria@example.es")
    world.sync()
    customer = links(world, "contacts")[contact]
    people.edit_customer(customer, lastName="Martín Soler")
    people.edit_contact(contact, lastName="Martín Gil")

    world.sync()

    assert planfix(world, "contacts")[contact]["lastName"] == "Martín Soler"
    assert planningpme(world, "customers")[customer]["lastName"] == "Martín Soler"


def test_a_manual_conflict_waits_is_listed_and_audited_once(world: World, people: People) -> None:
    use_mappings(world, tasks={"conflict": '"manual"'})
    task, event = both_retitle(world, people)

    for _ in range(3):
        world.sync()

    assert no_writes(world), "a manual conflict is not decided by syncd"
    assert titles(world, task, event) == ("Boiler inspection — Planfix", "Boiler inspection — PlanningPME")
    with state(world) as store:
        [waiting] = store.pending_conflicts()
        audited = [a for a in store.audit_log() if a.operation == "conflict"]
    assert (waiting.planfix_key, waiting.planningpme_key, waiting.field) == (task, event, "title")
    assert (waiting.planfix_value, waiting.planningpme_value) == (
        "Boiler inspection — Planfix",
        "Boiler inspection — PlanningPME",
    )
    assert waiting.base_value == "Boiler inspection"
    assert len(audited) == 1, "seen in three cycles, audited once"

    code, text = cli(world, "status")
    assert code == 0
    assert "pending_conflicts: 1" in text
    assert "Boiler inspection — PlanningPME" in text
    code, raw = cli(world, "status", "--json")
    assert [c["field"] for c in json.loads(raw)["conflicts_waiting"]] == ["title"]


def test_a_manual_conflict_a_person_settles_is_no_longer_waiting(world: World, people: People) -> None:
    use_mappings(world, tasks={"conflict": '"manual"'})
    task, event = both_retitle(world, people)
    world.sync()
    people.edit_event(event, label="Boiler inspection — Planfix")  # the planner agrees with Planfix

    world.sync()

    assert titles(world, task, event) == ("Boiler inspection — Planfix",) * 2
    with state(world) as store:
        assert store.pending_conflicts() == []
    assert "pending_conflicts: 0" in cli(world, "status")[1]
    world.reset_stats()
    world.sync()
    assert no_writes(world)


def test_a_manual_conflict_waits_while_other_fields_sync(world: World, people: People) -> None:
    use_mappings(world, tasks={"conflict": '"manual"'})
    task, event = both_retitle(world, people)
    people.edit_task(task, description="<p>Bring the ladder</p>")

    for _ in range(3):
        world.sync()

    assert planningpme(world, "events")[event]["description"] == "Bring the ladder"
    assert titles(world, task, event) == ("Boiler inspection — Planfix", "Boiler inspection — PlanningPME")
    with state(world) as store:
        assert [c.field for c in store.pending_conflicts()] == ["title"]
        assert len([a for a in store.audit_log() if a.operation == "conflict"]) == 1
    world.reset_stats()
    world.sync()
    assert no_writes(world)
