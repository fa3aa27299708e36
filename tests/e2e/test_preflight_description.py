"""``syncd check`` against the account's machine-readable API description (issue 15): every
operation and field syncd uses is looked up there, and what it does not list is named; an account
that serves no description is not a problem, only "not verified"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from syncd.emulators.common import EmulatorServer
from syncd.emulators.config import emulator_config
from syncd.emulators.planningpme import EmulatorOptions, PlanningPmeEmulator
from tests.e2e.conftest import World
from tests.e2e.test_preflight import results, seed

CHECK = "planningpme API description"


@contextmanager
def planningpme_with(world: World, options: EmulatorOptions, **planningpme: str) -> Iterator[None]:
    server = EmulatorServer(PlanningPmeEmulator(options).app).start()
    try:
        sections = {"planfix": {"requests_per_second": 50}, "planningpme": dict(planningpme)}
        world.config_path.write_text(emulator_config(world.planfix.base_url, server.base_url, sections))
        yield
    finally:
        server.stop()


def test_the_description_lists_everything_syncd_uses(world: World) -> None:
    seed(world)
    code, found = results(world)
    assert found[CHECK]["ok"], found[CHECK]
    assert "lists every operation" in found[CHECK]["detail"]
    assert code == 0


def test_an_operation_and_a_field_the_description_lacks_are_named(world: World) -> None:
    options = EmulatorOptions(hourly_limit=0, api_description_omit=("label",))
    with planningpme_with(world, options, events_path="api/events"):
        _, found = results(world)
    line = found[CHECK]
    assert not line["ok"]
    assert "PUT api/events/{}" in line["detail"] and "fields no schema has: label" in line["detail"]
    assert "planningpme.*_path" in line["fix"]


def test_an_account_without_a_description_is_not_verified_not_failed(world: World) -> None:
    with planningpme_with(world, EmulatorOptions(hourly_limit=0, api_description=False)):
        _, found = results(world)
    assert found[CHECK]["ok"] and "not verified: the account serves no description" in found[CHECK]["detail"]


def test_looking_for_none_is_a_choice(world: World) -> None:
    with planningpme_with(world, EmulatorOptions(hourly_limit=0), api_description_path=""):
        _, found = results(world)
    assert found[CHECK]["ok"] and "not looked for" in found[CHECK]["detail"]
