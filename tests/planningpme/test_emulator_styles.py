"""The PlanningPME emulator's reply styles: history shapes, zoned dates, numeric enums, and the
``syncd emulate planningpme`` options that choose them."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from syncd.emulators.planningpme import EmulatorOptions, add_options, options_from_args
from tests.planningpme.conftest import Pme


def _parse(*argv: str) -> EmulatorOptions:
    parser = argparse.ArgumentParser()
    add_options(parser)
    return options_from_args(parser.parse_args(list(argv)))


def test_the_command_line_chooses_the_styles() -> None:
    default = _parse()
    assert (default.history_shape, default.reply_dates, default.numeric_enums, default.history) == (
        "today",
        "local",
        False,
        True,
    )
    chosen = _parse("--history-shape", "enum", "--reply-dates", "utc", "--numeric-enums")
    assert (chosen.history_shape, chosen.reply_dates, chosen.numeric_enums) == ("enum", "utc", True)
    assert _parse("--no-history").history is False  # the existing option keeps working
    with pytest.raises(SystemExit):
        _parse("--history-shape", "json")


@pytest.mark.parametrize(
    "written", ["2026-02-03T10:15:00+01:00", "2026-02-03T09:15:00Z", "2026-02-03T10:15:00"]
)
def test_every_written_date_form_is_stored_as_local_time(pme: Pme, written: str) -> None:
    with pme.api() as api:
        reply = api.post("do", json={"label": "x", "start": written, "end": written})
    assert reply.status_code == 201
    assert pme.records("events")[0]["start"] == "2026-02-03T10:15:00"


def test_history_shapes(start_emulator: Callable[..., Pme]) -> None:
    enum = start_emulator(history_shape="enum")
    numeric = start_emulator(history_shape="enum", numeric_enums=True)
    for pme in (enum, numeric):
        with pme.api() as api:
            key = api.post(
                "do", json={"label": "x", "start": "2026-02-03T10:00:00", "end": "2026-02-03T11:00:00"}
            )
            api.put(f"do/{key.json()['key']}", json={"label": "y"})
            api.post("customer", json={"label": "Acme"})
            pme_items = api.get("history").json()["items"]
        pairs = [(entry["type"], entry["op"]) for entry in pme_items]
        if pme is enum:
            assert pairs == [("Assignment", "Insert"), ("Assignment", "Update"), ("Customer", "Insert")]
        else:  # the positions in /api/config's HistoryType and HistoryOp
            assert pairs == [(0, 0), (0, 6), (1, 0)]
        assert all("entity" not in entry and entry["key"] for entry in pme_items)
    none = start_emulator(history_shape="none")
    with none.api() as api:
        assert api.get("history").status_code == 404


def test_replies_in_zoned_dates_and_numeric_enums(start_emulator: Callable[..., Pme]) -> None:
    pme = start_emulator(reply_dates="offset", numeric_enums=True)
    with pme.api() as api:
        event = api.post(
            "do", json={"label": "x", "start": "2026-07-03T10:00:00", "end": "2026-07-03T11:00:00Z"}
        )
        customer = api.post("customer", json={"label": "Ana", "type": "Individual", "title": "Mr"}).json()
        config = api.get("config").json()["enums"]
        history = api.get("history").json()["items"]
    assert (event.json()["start"], event.json()["end"]) == (
        "2026-07-03T10:00:00+02:00",
        "2026-07-03T13:00:00+02:00",
    )
    assert (customer["type"], customer["title"]) == (0, 1)
    assert config["CustomerType"] == {"Individual": 0, "Company": 1}
    assert history[0]["start"] == "2026-07-03T10:00:00+02:00" and history[0]["date"].endswith(
        ("+01:00", "+02:00")
    )
    assert pme.records("events")[0]["start"] == "2026-07-03T10:00:00+02:00"  # as the API answers
    utc = start_emulator(reply_dates="utc")
    with utc.api() as api:
        body = api.post(
            "do", json={"label": "x", "start": "2026-07-03T10:00:00", "end": "2026-07-03T11:00:00"}
        )
    assert body.json()["start"] == "2026-07-03T08:00:00Z"
