"""The mass-delete guard (property 7): a run that would delete more than ``max_delete`` records, or
more than ``max_delete_percent`` of the linked ones, stops before anything is changed (exit code
4); ``--force-delete`` lets it through."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import cli, cli_with_errors, links, no_writes, planfix, planningpme, set_sync
from tests.e2e.scenarios.people import People


def ten_linked_contacts(world: World) -> dict[str, str]:
    world.pf("POST", "seed", {"contacts": 10, "seed": 5})
    world.sync()
    linked = links(world, "contacts")
    assert len(linked) == 10
    return linked


def delete_customers(world: World, people: People, linked: dict[str, str], count: int) -> None:
    for customer in sorted(linked.values(), key=int)[:count]:
        people.delete_customer(customer)
    world.reset_stats()


@pytest.mark.parametrize(
    ("limits", "deleted", "why"),
    [
        ({"max_delete": "3", "max_delete_percent": "100"}, 4, "more than max_delete = 3"),
        ({"max_delete": "50", "max_delete_percent": "20"}, 3, "more than max_delete_percent = 20 %"),
    ],
    ids=["count", "percent"],
)
def test_too_many_deletes_stop_the_run_until_forced(
    world: World,
    people: People,
    limits: dict[str, str],
    deleted: int,
    why: str,
) -> None:
    linked = ten_linked_contacts(world)
    set_sync(world, **limits)
    delete_customers(world, people, linked, deleted)

    code, _, message = cli_with_errors(world, "run", "--once")

    assert code == 4
    assert why in message and "--force-delete" in message
    assert no_writes(world)
    assert set(planfix(world, "contacts")) == set(linked), "nothing was deleted"
    assert links(world, "contacts") == linked

    code, report = cli(world, "run", "--once", "--dry-run")
    assert code == 4
    assert f"STOPPED by the mass-delete guard: contacts: the plan deletes {deleted}" in report
    assert no_writes(world)

    code, _ = cli(world, "run", "--once", "--force-delete")

    assert code == 0
    assert len(planfix(world, "contacts")) == len(planningpme(world, "customers")) == 10 - deleted
    assert len(links(world, "contacts")) == 10 - deleted


def test_deletes_within_the_limits_go_through(world: World, people: People) -> None:
    linked = ten_linked_contacts(world)
    set_sync(world, max_delete="3", max_delete_percent="30")
    delete_customers(world, people, linked, 3)

    code, _ = cli(world, "run", "--once")

    assert code == 0
    assert len(planfix(world, "contacts")) == 7
