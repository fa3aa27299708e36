"""The PlanningPME connectors against the emulator over real HTTP: listings, reads, writes, faults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.connectors.base import Connector, QuotaHint
from syncd.connectors.planningpme.connector import (
    PlanningPmeCustomerConnector,
    PlanningPmeEventConnector,
    ScanOptions,
)
from syncd.errors import NotFoundError, ProtocolError, ServerError, UnreachableError
from tests.planningpme.conftest import Pme, days_from_now

Pair = tuple[PlanningPmeEventConnector, PlanningPmeCustomerConnector]
MakeConnectors = Callable[..., Pair]


def event(days: float = 1, **extra: Any) -> dict[str, Any]:
    start = days_from_now(days)
    return {"label": "Revisión", "start": start, "end": start, **extra}


class FaultsOnRequest(httpx.BaseTransport):
    """Real HTTP, but just before the ``nth`` request to a path ending in ``suffix`` it asks the
    emulator (through its control API) for ``faults``: a way to break page 2 of a listing."""

    def __init__(self, pme: Pme, suffix: str, nth: int, **faults: Any) -> None:
        self._inner = httpx.HTTPTransport()
        self._pme, self._suffix, self._nth, self._faults = pme, suffix, nth, faults
        self._seen = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(self._suffix):
            self._seen += 1
            if self._seen == self._nth:
                self._pme.faults(**self._faults)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def test_both_implement_the_connector_protocol(pme: Pme, make_connectors: MakeConnectors) -> None:
    events, customers = make_connectors(pme)
    assert isinstance(events, Connector) and isinstance(customers, Connector)
    assert (events.system, events.entity, customers.entity) == ("planningpme", "event", "customer")
    assert customers.quota_hint() == QuotaHint()


# Full scans -----------------------------------------------------------------------------------------


def test_full_scan_reads_every_customer_page_by_page(pme: Pme, make_connectors: MakeConnectors) -> None:
    pme.seed(customers=23)
    _, customers = make_connectors(pme, ScanOptions(page_size=5))
    listing = customers.list_changed(None)
    assert sorted(int(r.key) for r in listing.records) == list(range(1, 24))
    assert listing.complete and listing.full_scan and not listing.deleted
    assert pme.stats()["GET /api/customer"] == 5
    assert listing.requests == 6  # the token and five pages
    assert listing.cursor is not None and listing.cursor <= customers.client.now()
    assert str(listing.cursor.tzinfo) == "Europe/Madrid"
    record = listing.records[0]
    assert record.key == str(record.data["key"]) and "fields" in record.data


def test_event_scan_covers_the_date_window_only(pme: Pme, make_connectors: MakeConnectors) -> None:
    with pme.api() as api:
        keys = {d: api.post("do", json=event(d)).json()["key"] for d in (-100, -10, 10, 400)}
    events, _ = make_connectors(pme)
    listing = events.list_changed(None)
    assert {r.key for r in listing.records} == {str(keys[-10]), str(keys[10])}
    assert listing.full_scan and listing.complete
    wide, _ = make_connectors(pme, ScanOptions(window_back=timedelta(days=200)))
    assert {r.key for r in wide.list_changed(None, full=True).records} == {
        str(keys[-100]),
        str(keys[-10]),
        str(keys[10]),
    }


# Incremental listings from history ---------------------------------------------------------------------


def test_changes_since_the_cursor_come_from_history(pme: Pme, make_connectors: MakeConnectors) -> None:
    pme.seed(customers=5)
    events, customers = make_connectors(pme, ScanOptions(page_size=2))
    first = customers.list_changed(None)  # a scan costs 3 pages: more than 2 GETs by key
    with pme.api() as api:
        added = api.post("customer", json={"label": "Nueva S.A."}).json()["key"]
        api.put("customer/2", json={"phone": "+34 611 111 111"})
        api.delete("customer/3")
        api.post("do", json=event())
    pme.control("POST", "stats/reset")
    listing = customers.list_changed(first.cursor)
    assert sorted(r.key for r in listing.records) == sorted([str(added), "2"])
    assert next(r for r in listing.records if r.key == "2").data["phone"] == "+34 611 111 111"
    assert list(listing.deleted) == ["3"]
    assert listing.complete and not listing.full_scan
    assert listing.cursor is not None and first.cursor is not None and listing.cursor >= first.cursor
    assert pme.stats() == {"GET /api/history": 2, "GET /api/customer/{key}": 2}
    quiet = events.list_changed(None)
    again = events.list_changed(quiet.cursor)
    assert [r.data["label"] for r in again.records] == ["Revisión"]  # within the overlap window


def test_event_deletes_are_reported(pme: Pme, make_connectors: MakeConnectors) -> None:
    events, _ = make_connectors(pme)
    start = events.list_changed(None)
    with pme.api() as api:
        gone = api.post("do", json=event()).json()["key"]
        kept = api.post("do", json=event(2)).json()["key"]
        api.put(f"do/{kept}", json={"label": "Cambio"})
        api.delete(f"do/{gone}")
    listing = events.list_changed(start.cursor)
    assert [(r.key, r.data["label"]) for r in listing.records] == [(str(kept), "Cambio")]
    assert list(listing.deleted) == [str(gone)]


def test_many_changes_are_read_with_one_scan(pme: Pme, make_connectors: MakeConnectors) -> None:
    pme.seed(customers=12)
    _, customers = make_connectors(pme, ScanOptions(page_size=5))
    start = customers.list_changed(None)  # 3 pages: a scan costs 3 requests
    with pme.api() as api:
        for key in range(1, 6):
            api.put(f"customer/{key}", json={"city": "Cádiz"})
        api.delete("customer/12")
    pme.control("POST", "stats/reset")
    listing = customers.list_changed(start.cursor)
    assert listing.full_scan and listing.complete and list(listing.deleted) == ["12"]
    assert len(listing.records) == 11
    assert pme.stats() == {"GET /api/history": 2, "GET /api/customer": 3}  # 6 entries, pages of 5


def test_without_history_the_listing_is_a_scan(
    start_emulator: Callable[..., Pme], make_connectors: MakeConnectors
) -> None:
    pme = start_emulator(history=False)
    pme.seed(customers=4)
    _, customers = make_connectors(pme)
    start = customers.list_changed(None)
    listing = customers.list_changed(start.cursor)
    assert listing.full_scan and listing.complete and len(listing.records) == 4
    assert listing.cursor is not None


def test_a_cursor_older_than_the_history_horizon_means_a_scan(
    pme: Pme, make_connectors: MakeConnectors
) -> None:
    pme.seed(customers=2)
    _, customers = make_connectors(pme)
    old = customers.client.now() - timedelta(days=30)
    listing = customers.list_changed(old)
    assert listing.full_scan and len(listing.records) == 2
    assert "GET /api/history" not in pme.stats()


# Incomplete listings ------------------------------------------------------------------------------------


def test_a_failed_page_makes_the_scan_incomplete(pme: Pme, make_connectors: MakeConnectors) -> None:
    pme.seed(customers=12)
    broken = FaultsOnRequest(pme, "/api/customer", 2, fail_next=4, error=503)
    _, customers = make_connectors(pme, ScanOptions(page_size=5), transport=broken)
    listing = customers.list_changed(None)
    assert not listing.complete and listing.full_scan
    assert len(listing.records) == 5 and listing.cursor is None


def test_a_failed_history_page_keeps_the_old_cursor(pme: Pme, make_connectors: MakeConnectors) -> None:
    broken = FaultsOnRequest(pme, "/api/history", 2, drop_next=4)
    events, _ = make_connectors(pme, ScanOptions(page_size=2), transport=broken)
    start = events.list_changed(None)
    with pme.api() as api:
        for day in range(5):
            api.post("do", json=event(day))
    listing = events.list_changed(start.cursor)
    assert not listing.complete
    assert listing.cursor == start.cursor


def test_a_failed_first_page_raises(pme: Pme, make_connectors: MakeConnectors) -> None:
    _, customers = make_connectors(pme)
    customers.get("1")  # token first
    pme.faults(fail_next=4, error=500)
    with pytest.raises(ServerError):
        customers.list_changed(None)


def test_a_scan_that_shifted_under_the_reader_is_incomplete(
    pme: Pme, make_connectors: MakeConnectors
) -> None:
    pme.seed(customers=10)

    class DeleteDuringScan(FaultsOnRequest):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/api/customer") and request.url.params["pageIndex"] == "1":
                with self._pme.api() as api:
                    api.delete("customer/1")
            return self._inner.handle_request(request)

    _, customers = make_connectors(pme, ScanOptions(page_size=5), transport=DeleteDuringScan(pme, "", 0))
    listing = customers.list_changed(None)
    assert not listing.complete  # customer 6 slid onto page 0 and was never seen
    assert "6" not in {r.key for r in listing.records}


# Reads and writes ------------------------------------------------------------------------------------------


def test_get_and_get_many(pme: Pme, make_connectors: MakeConnectors) -> None:
    pme.seed(customers=3)
    _, customers = make_connectors(pme)
    record = customers.get("2")
    assert record is not None and record.key == "2" and record.data["key"] == 2
    assert customers.get("999") is None
    assert customers.get("not-a-key") is None
    assert [r.key for r in customers.get_many(["3", "999", "1", "3"])] == ["3", "1"]


def test_create_writes_the_marker_in_the_same_request(pme: Pme, make_connectors: MakeConnectors) -> None:
    events, customers = make_connectors(pme)
    created = customers.create({"label": "Zoë Peña", "type": "Individual", "fields": {"OTHER": "x"}}, "12")
    assert created.data["fields"] == {"OTHER": "x", "PLANFIX_ID": "12"}
    made = events.create({**event(), "key": 555, "resources": [{"key": "R1"}]}, "345")
    assert made.data["fields"] == {"PLANFIX_ID": "345"} and made.key != "555"
    assert pme.stats()["POST /api/customer"] == 1 and pme.stats()["POST /api/do"] == 1
    assert [e["fields"] for e in pme.records("events")] == [{"PLANFIX_ID": "345"}]
    plain = customers.create({"label": "Sin marca"}, None)
    assert plain.data["fields"] == {}


def test_update_changes_only_the_given_fields(pme: Pme, make_connectors: MakeConnectors) -> None:
    events, _ = make_connectors(pme)
    created = events.create(
        event(description="texto", resources=[{"key": "R3"}], category={"key": "C2"}), "9"
    )
    updated = events.update(created.key, {"label": "Nuevo", "fields": {"SITE": "Calle Mayor"}})
    expected = {**created.data, "label": "Nuevo", "fields": {"PLANFIX_ID": "9", "SITE": "Calle Mayor"}}
    assert updated.data == expected
    assert events.get(created.key) == updated


def test_set_marker_and_find_by_marker(pme: Pme, make_connectors: MakeConnectors) -> None:
    pme.seed(customers=7, events=9)
    events, customers = make_connectors(pme, ScanOptions(page_size=4))
    far = events.create(event(500), None)  # outside the scan window, still found by marker
    events.set_marker(far.key, "P-1")
    customers.set_marker("5", "C-1")
    assert [r.key for r in events.find_by_marker("P-1")] == [far.key]
    assert [r.key for r in customers.find_by_marker("C-1")] == ["5"]
    assert events.find_by_marker("nobody") == []
    customers.set_marker("5", None)
    assert customers.find_by_marker("C-1") == []
    record = customers.get("5")
    assert record is not None and "PLANFIX_ID" not in record.data["fields"]


def test_find_by_marker_raises_rather_than_miss(pme: Pme, make_connectors: MakeConnectors) -> None:
    pme.seed(customers=9)
    broken = FaultsOnRequest(pme, "/api/customer", 2, fail_next=4, error=503)
    _, customers = make_connectors(pme, ScanOptions(page_size=5), transport=broken)
    with pytest.raises(ServerError):
        customers.find_by_marker("x")


def test_delete(pme: Pme, make_connectors: MakeConnectors) -> None:
    events, _ = make_connectors(pme)
    created = events.create(event(), None)
    events.delete(created.key)
    assert events.get(created.key) is None
    with pytest.raises(NotFoundError):
        events.delete(created.key)


@pytest.mark.parametrize(
    ("faults", "error"),
    [
        ({"drop_next": 1}, UnreachableError),
        ({"malformed_next": 1}, ProtocolError),
        ({"fail_next": 1, "error": 500}, ServerError),
        ({"fail_next": 1, "error": "internal"}, ServerError),
    ],
)
def test_a_faulted_create_raises_and_writes_nothing(
    pme: Pme, make_connectors: MakeConnectors, faults: dict[str, Any], error: type[Exception]
) -> None:
    _, customers = make_connectors(pme)
    customers.get("1")
    pme.faults(**faults)
    with pytest.raises(error):
        customers.create({"label": "Una vez"}, "1")
    assert pme.records("customers") == []
    assert pme.stats()["POST /api/customer"] == 1


def test_a_faulted_update_raises_and_changes_nothing(pme: Pme, make_connectors: MakeConnectors) -> None:
    events, _ = make_connectors(pme)
    created = events.create(event(), None)
    pme.faults(fail_next=4, error=502)
    with pytest.raises(ServerError):
        events.update(created.key, {"label": "No"})
    assert pme.records("events") == [dict(created.data)]


@pytest.mark.parametrize("faults", [{"unauthorized_next": 1}, {"fail_next": 1, "error": 503}])
def test_refused_creates_are_retried_into_exactly_one_record(
    pme: Pme, make_connectors: MakeConnectors, faults: dict[str, Any]
) -> None:
    _, customers = make_connectors(pme)
    customers.get("1")
    pme.faults(**faults)
    customers.create({"label": "Una vez"}, "1")
    assert len(pme.records("customers")) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=255))
def test_any_unicode_label_survives_create_and_get(
    shared_pme: Pme, make_connectors: MakeConnectors, label: str
) -> None:
    events, customers = make_connectors(shared_pme)
    created = events.create({**event(), "label": label}, "1")
    fetched = events.get(created.key)
    # PlanningPME stores labels trimmed (the emulator's WriteDefaults); the rest comes back as sent.
    assert fetched is not None and fetched.data["label"] == label.strip()
    customer = customers.create({"label": "Cliente", "company": label}, None)
    again = customers.get(customer.key)
    assert again is not None and again.data["company"] == label
