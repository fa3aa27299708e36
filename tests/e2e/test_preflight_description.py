"""``syncd check`` failure modes that need an emulator of their own (issue 15): the account's
machine-readable API description (every operation and field syncd uses is looked up there, and what
it does not list is named; an account that serves none is "not verified", not a problem), a time
zone the account reports otherwise, an account that cannot be reached."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from syncd.connectors.http import RetryPolicy
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


def test_a_time_zone_the_account_reports_otherwise_is_a_problem(world: World) -> None:
    options = EmulatorOptions(hourly_limit=0, config_zone=True)  # Europe/Madrid
    with planningpme_with(world, options, timezone="Europe/Paris"):
        _, found = results(world)
    line = found["planningpme time zone"]
    assert not line["ok"] and "Europe/Madrid" in line["detail"] and "planningpme.timezone" in line["fix"]
    with planningpme_with(world, options, timezone="Europe/Madrid"):
        _, found = results(world)
    assert found["planningpme time zone"]["ok"]


def test_an_unreachable_account_names_its_url(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, attempt, rng: 0.0)
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
        sections = {"planfix": {"requests_per_second": 50}}
        world.config_path.write_text(emulator_config(world.planfix.base_url, closed, sections))
        code, found = results(world)
    line = found["planningpme credentials and customer list"]
    assert code != 0 and not line["ok"] and "planningpme.url" in line["fix"]
