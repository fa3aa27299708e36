"""A marker that is not a key (``..``, ``../x``, ``a/b``) never reaches a request: the record is
refused as a failure naming the record and the marker, nothing is created for it on the other side,
and every other record syncs as usual."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import pytest

from state.store import Store
from syncd.connectors.base import check_key
from syncd.errors import RecordError
from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import Tap, links, planfix, planningpme, state_path, sync_through
from tests.e2e.scenarios.people import People, pf_date


@dataclass
class Wire(Tap):
    """Every request as sent: its path (PlanningPME) and its body (Planfix's XML)."""

    sent: list[str] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.raw_path.decode()} {request.content.decode()}")
        return super().handle_request(request)


def test_bad_markers_on_both_sides_are_refused_and_never_sent(world: World) -> None:
    people = People(world.remotes())
    try:
        good_task = people.add_task("Revisión de caldera")
        bad_event = people.add_event("Evento con marcador roto", fields={"PLANFIX_ID": ".."})
        bad_task = people.tasks.create(
            {
                "title": "Задача с плохой меткой",
                "startDate": pf_date(12),
                "startTime": "09:00",
                "endDate": pf_date(12),
                "endTime": "11:00",
                "workers": [{"id": "1"}],
            },
            "../x",
        ).key
    finally:
        people.close()
    tasks_before, events_before = set(planfix(world, "tasks")), set(planningpme(world, "events"))
    taps = {"planfix": Wire(), "planningpme": Wire()}

    results = {r.pair: r for r in sync_through(world, taps)}

    sent = taps["planfix"].sent + taps["planningpme"].sent
    assert not [line for line in sent if "/.." in line or "%2F" in line or "../x" in line or ">..<" in line]
    assert {(side, key) for side, key, _ in results["tasks"].unmappable} == {
        ("planningpme", bad_event),
        ("planfix", bad_task),
    }
    with Store.open(state_path(world), readonly=True) as store:
        errors = {(f.side, f.key): f.last_error for f in store.failures("tasks")}
    assert (
        f"planningpme record {bad_event}: its marker fields.PLANFIX_ID: '..' is not a planfix key"
        in (errors[("planningpme", bad_event)])
    )
    assert f"planfix record {bad_task}: its marker customData[" in errors[("planfix", bad_task)]
    assert "'../x' is not a planningpme key" in errors[("planfix", bad_task)]
    # Nothing was created for the two refused records; the good task got its event.
    tasks_after, events_after = set(planfix(world, "tasks")), set(planningpme(world, "events"))
    assert tasks_after == tasks_before
    assert len(events_after - events_before) == 1
    assert set(links(world, "tasks")) == {good_task}


@pytest.mark.parametrize(
    ("system", "key"),
    [
        ("planfix", ".."),
        ("planfix", "../x"),
        ("planfix", "12a"),
        ("planfix", "١٢"),  # Arabic-Indic digits: str.isdigit() says yes
        ("planfix", ""),
        ("planningpme", "."),
        ("planningpme", ".."),
        ("planningpme", "a/b"),
        ("planningpme", "12 34"),
        ("planningpme", " "),
        ("planningpme", "7\x1b[2J"),
        ("planningpme", "x" * 65),
    ],
)
def test_what_is_not_a_key(system: str, key: str) -> None:
    with pytest.raises(RecordError, match=rf"^event 3: .* is not a {system} key"):
        check_key(system, key, what="event 3")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("system", "key"), [("planfix", "0"), ("planfix", "1234567"), ("planningpme", "756")]
)
def test_what_is_a_key(system: str, key: str) -> None:
    assert check_key(system, key, what="x") == key  # type: ignore[arg-type]


def test_the_planningpme_connector_refuses_a_key_that_is_no_key_before_sending(world: World) -> None:
    remotes = world.remotes()
    try:
        events = remotes.by_entity["event"]
        world.reset_stats()
        for call in (
            lambda: events.get(".."),
            lambda: events.update("../x", {"label": "x"}),
            lambda: events.delete("a/b"),
            lambda: events.set_marker("..", "12"),
        ):
            with pytest.raises(RecordError, match="is not a planningpme key"):
                call()
    finally:
        remotes.close()
    assert world.pme("GET", "stats")["total"] == 0
