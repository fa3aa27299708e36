"""Dates and enums in the forms accounts use: written as ``date_format`` says, read zoned or naive,
enums read as names or numbers. Over HTTP against emulators answering in each form."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from syncd.connectors.planningpme.connector import PlanningPmeCustomerConnector, PlanningPmeEventConnector
from syncd.connectors.planningpme.dates import date_form, format_moment, read_date, write_date
from syncd.connectors.planningpme.enums import EnumNames
from tests.planningpme.conftest import Pme, Rewriting, days_from_now

MakeConnectors = Callable[..., tuple[PlanningPmeEventConnector, PlanningPmeCustomerConnector]]
MADRID = ZoneInfo("Europe/Madrid")

WRITTEN = {
    "offset": r"2026-07-01T09:30:00\+02:00",
    "utc": r"2026-07-01T07:30:00Z",
    "local": r"2026-07-01T09:30:00",
}


@pytest.mark.parametrize("form", ["offset", "utc", "local"])
def test_dates_are_written_in_the_configured_form_and_stored_right(
    pme: Pme, make_connectors: MakeConnectors, form: str
) -> None:
    wire = Rewriting()
    events, _ = make_connectors(pme, transport=wire, date_format=form)
    created = events.create(
        {"label": "Visita", "start": "2026-07-01T09:30:00", "end": "2026-07-01T10:00:00"}, None
    )
    events.update(created.key, {"start": "2026-07-01T09:30:00"})
    for body in wire.bodies("/api/do") + wire.bodies(f"/api/do/{created.key}"):
        assert re.fullmatch(WRITTEN[form], body["start"]), body["start"]
    stored = pme.records("events")[0]
    assert (stored["start"], stored["end"]) == ("2026-07-01T09:30:00", "2026-07-01T10:00:00")
    events.list_changed(None)
    window = wire.bodies("/api/do/list")[0]
    assert date_form(window["dateFrom"]) == form and date_form(window["dateTo"]) == form


@pytest.mark.parametrize("form", ["offset", "utc"])
def test_zoned_dates_in_replies_are_read_as_the_accounts_local_time(
    start_emulator: Callable[..., Pme], make_connectors: MakeConnectors, form: str
) -> None:
    pme = start_emulator(reply_dates=form)
    events, _ = make_connectors(pme)
    start, end = days_from_now(1, hour=23), days_from_now(2, hour=0)  # the UTC date differs
    with pme.api() as api:
        raw = api.post("do", json={"label": "x", "start": start, "end": end}).json()
    assert date_form(raw["start"]) == form  # the emulator does answer zoned
    record = events.get(str(raw["key"]))
    assert record is not None and (record.data["start"], record.data["end"]) == (start, end)
    listed = events.list_changed(None).records
    assert [(r.data["start"], r.data["end"]) for r in listed] == [(start, end)]
    assert events.reply_date_forms == {form}  # what the replies used is still known


def test_date_helpers() -> None:
    assert read_date("2026-03-29T00:30:00Z", MADRID) == "2026-03-29T01:30:00"
    assert read_date("2026-03-29T01:30:00+00:00", MADRID) == "2026-03-29T03:30:00"  # after the change
    assert read_date("2026-03-29T01:30:00", MADRID) == "2026-03-29T01:30:00"
    assert read_date("Revisión", MADRID) == "Revisión" and read_date(7, MADRID) == 7
    assert write_date("2026-01-10T08:00:00", MADRID, "offset") == "2026-01-10T08:00:00+01:00"
    assert write_date("2026-01-10T08:00:00+00:00", MADRID, "local") == "2026-01-10T09:00:00"
    assert write_date("2026-01-10", MADRID, "utc") == "2026-01-10"  # a date without a time stays
    assert format_moment(datetime(2026, 1, 10, 8, 0, tzinfo=MADRID), MADRID, "utc") == "2026-01-10T07:00:00Z"
    assert [
        date_form(v) for v in ("2026-01-10T08:00:00", "2026-01-10T08:00:00Z", "2026-01-10T08:00:00+01:00")
    ] == [
        "local",
        "utc",
        "offset",
    ]
    assert date_form("2026-01-10") is None and date_form(None) is None


def test_numeric_enums_are_read_as_names(
    start_emulator: Callable[..., Pme], make_connectors: MakeConnectors
) -> None:
    pme = start_emulator(numeric_enums=True)
    _, customers = make_connectors(pme)
    created = customers.create({"label": "Ana", "type": "Individual", "title": "Ms"}, None)
    assert (created.data["type"], created.data["title"]) == ("Individual", "Ms")
    with pme.api() as api:
        raw = api.get(f"customer/{created.key}").json()
        assert (raw["type"], raw["title"]) == (0, 2)  # the emulator does answer numbers
        api.post("customer", json={"label": "Acme", "type": 1})
    listing = customers.list_changed(None)
    assert sorted((r.data["label"], r.data["type"]) for r in listing.records) == [
        ("Acme", "Company"),
        ("Ana", "Individual"),
    ]


def test_enum_numbers_come_from_the_accounts_config_first() -> None:
    account = EnumNames.from_config(
        {"enums": {"CustomerType": {"Company": 7, "Individual": 8}, "Title": {"Mr": "Mr"}}}
    )
    assert account.name("CustomerType", 7) == "Company" and account.name("CustomerType", 8) == "Individual"
    assert account.name("Title", 1) == "Mr"  # given as strings: the fallback numbering
    assert account.name("CustomerType", 99) == 99 and account.name("CustomerType", "Company") == "Company"
    fallback = EnumNames.fallback()
    assert fallback.name("CustomerType", 1) == "Company" and fallback.name("HistoryOp", 6) == "Update"
    assert EnumNames.from_config("not a config").name("HistoryType", 0) == "Assignment"


def test_an_unreadable_config_falls_back_to_the_documented_numbers(
    start_emulator: Callable[..., Pme], make_connectors: MakeConnectors
) -> None:
    pme = start_emulator(numeric_enums=True)
    broken = Rewriting({"/demo/api/config": "/demo/api/nothing-here"})
    _, customers = make_connectors(pme, transport=broken)
    with pme.api() as api:
        key = api.post("customer", json={"label": "Acme", "type": "Company"}).json()["key"]
    record = customers.get(str(key))
    assert record is not None and record.data["type"] == "Company"
