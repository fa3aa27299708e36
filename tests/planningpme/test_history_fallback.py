"""A history the connector does not understand is never "nothing changed".

Each variant — no history endpoint (404, or ``history_path = ""``), a reply that is not a list of
entries, an entry of unknown type, operation or shape — makes the cycle a full (windowed) read,
keeps the cursor where it was, and warns once per cause and connector. The history shapes that
are understood (today's, and entries typed by ``/api/config``'s enums, as names or numbers) give
incremental listings. All over HTTP against the emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from structlog.testing import capture_logs

from syncd.connectors.base import Listing
from syncd.connectors.planningpme.connector import PlanningPmeCustomerConnector, PlanningPmeEventConnector
from tests.planningpme.conftest import FakeClock, Pme, Rewriting, days_from_now

MakeConnectors = Callable[..., tuple[PlanningPmeEventConnector, PlanningPmeCustomerConnector]]
WARNING = "planningpme.history_not_understood"


def _two_cycles(
    pme: Pme, customers: PlanningPmeCustomerConnector, clock: FakeClock
) -> tuple[Listing, Listing, Listing]:
    """A first full read, then a change and a delete, then two incremental cycles, each a second
    later on the connector's clock (so a cursor that moved is seen to move)."""
    first = customers.list_changed(None)
    with pme.api() as api:
        api.put("customer/2", json={"city": "Cádiz"})
        api.delete("customer/3")
    clock.advance(1)
    listing = customers.list_changed(first.cursor)
    clock.advance(1)
    return first, listing, customers.list_changed(first.cursor)


def _warnings(logs: list[dict[str, Any]]) -> list[str]:
    return [str(entry["cause"]) for entry in logs if entry["event"] == WARNING]


def _assert_fell_back(first: Listing, listing: Listing) -> None:
    assert listing.full_scan and listing.complete
    assert sorted(r.key for r in listing.records) == ["1", "2"]
    assert next(r for r in listing.records if r.key == "2").data["city"] == "Cádiz"
    assert listing.cursor == first.cursor  # not past what was understood


# Understood shapes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("numeric", [False, True])
def test_entries_typed_by_the_config_enums_are_understood(
    start_emulator: Callable[..., Pme], make_connectors: MakeConnectors, clock: FakeClock, numeric: bool
) -> None:
    pme = start_emulator(history_shape="enum", numeric_enums=numeric)
    pme.seed(customers=3)
    events, customers = make_connectors(pme)
    with pme.api() as api:
        raw = api.get("history").json()["items"]
    with capture_logs() as logs:
        first, listing, _ = _two_cycles(pme, customers, clock)
        with pme.api() as api:
            raw = api.get("history").json()["items"]
            start = days_from_now(1)
            key = api.post("do", json={"label": "Visita", "start": start, "end": start}).json()["key"]
        quiet = events.list_changed(first.cursor)
    assert raw[0]["type"] == (1 if numeric else "Customer") and "entity" not in raw[0]
    assert not listing.full_scan and listing.complete
    assert [r.key for r in listing.records] == ["2"] and list(listing.deleted) == ["3"]
    assert listing.cursor is not None and first.cursor is not None and listing.cursor > first.cursor
    assert not quiet.full_scan and [r.key for r in quiet.records] == [str(key)]  # an Assignment
    assert _warnings(logs) == []


# Fallbacks ------------------------------------------------------------------------------------------


def test_no_history_endpoint_means_a_full_read_warned_once(
    start_emulator: Callable[..., Pme], make_connectors: MakeConnectors, clock: FakeClock
) -> None:
    pme = start_emulator(history_shape="none")
    pme.seed(customers=3)
    _, customers = make_connectors(pme)
    with capture_logs() as logs:
        first, listing, again = _two_cycles(pme, customers, clock)
    _assert_fell_back(first, listing)
    _assert_fell_back(first, again)
    assert _warnings(logs) == ["history endpoint missing"]


def test_an_empty_history_path_reads_in_full_without_asking(
    pme: Pme, make_connectors: MakeConnectors, clock: FakeClock
) -> None:
    pme.seed(customers=3)
    _, customers = make_connectors(pme, history_path="")
    with capture_logs() as logs:
        first, listing, again = _two_cycles(pme, customers, clock)
    _assert_fell_back(first, listing)
    _assert_fell_back(first, again)
    assert "GET /api/history" not in pme.stats()
    assert _warnings(logs) == ["no history endpoint"]


def _with_history(change: Callable[[dict[str, Any]], Any]) -> Rewriting:
    def reply(path: str, body: Any) -> Any:
        return change(body) if path.endswith("/api/history") else body

    return Rewriting(reply=reply)


def _plus(entry: Any) -> Callable[[dict[str, Any]], Any]:
    def change(body: dict[str, Any]) -> Any:
        return {"totalItems": body["totalItems"] + 1, "items": [*body["items"], entry]}

    return change


@pytest.mark.parametrize(
    ("transport", "cause"),
    [
        (_plus({"type": "Invoice", "op": "Insert", "key": 5}), "history entries of type 'Invoice'"),
        (_plus({"entity": "customer", "op": "Unperiodize", "key": 1}), "history operation 'Unperiodize'"),
        (_plus({"type": 42, "op": "Insert", "key": 1}), "history entries of type 42"),
        (_plus({"entity": "customer", "op": "Update"}), "without a usable 'key'"),
        (_plus({"op": "Update", "key": 1}), "neither 'entity' nor 'type'"),
        (_plus("Update customer 1"), "unexpected history reply"),
        (lambda body: body["items"], "unexpected history reply"),
        (lambda body: {"entries": body["items"]}, "unexpected history reply"),
    ],
    ids=[
        "unknown-type",
        "unknown-op",
        "unknown-number",
        "no-key",
        "no-type",
        "not-object",
        "bare-list",
        "renamed",
    ],
)
def test_a_history_not_understood_means_a_full_read_warned_once(
    pme: Pme,
    make_connectors: MakeConnectors,
    clock: FakeClock,
    transport: Callable[[dict[str, Any]], Any],
    cause: str,
) -> None:
    pme.seed(customers=3)
    _, customers = make_connectors(pme, transport=_with_history(transport))
    with capture_logs() as logs:
        first, listing, again = _two_cycles(pme, customers, clock)
    _assert_fell_back(first, listing)
    _assert_fell_back(first, again)
    warned = _warnings(logs)
    assert len(warned) == 1 and cause in warned[0], warned


def test_what_was_understood_still_counts(
    pme: Pme, make_connectors: MakeConnectors, clock: FakeClock
) -> None:
    """The delete the history did report is kept; only the unknown entry forced the full read."""
    pme.seed(customers=3)
    _, customers = make_connectors(pme, transport=_with_history(_plus({"type": "Invoice", "op": "Insert"})))
    first, listing, _ = _two_cycles(pme, customers, clock)
    assert listing.full_scan and list(listing.deleted) == ["3"] and listing.cursor == first.cursor


def test_a_type_declared_as_ignored_is_understood(
    pme: Pme, make_connectors: MakeConnectors, clock: FakeClock
) -> None:
    """The fix for a new type is configuration: history_types = { Invoice = "ignore", … }."""
    pme.seed(customers=3)
    types = {"do": "event", "customer": "customer", "Invoice": "ignore"}
    _, customers = make_connectors(
        pme,
        transport=_with_history(_plus({"type": "Invoice", "op": "Insert", "key": 5})),
        history_types=types,
    )
    with capture_logs() as logs:
        first, listing, _ = _two_cycles(pme, customers, clock)
    assert not listing.full_scan and [r.key for r in listing.records] == ["2"]
    assert listing.cursor is not None and first.cursor is not None and listing.cursor > first.cursor
    assert _warnings(logs) == []


def test_each_cause_is_warned_once_per_connector(
    pme: Pme, make_connectors: MakeConnectors, clock: FakeClock
) -> None:
    pme.seed(customers=3)
    unknown = [{"type": "Invoice", "op": "Insert", "key": 5}]

    def reply(body: dict[str, Any]) -> Any:
        extra = unknown.pop() if unknown else {"entity": "customer", "op": "Merge", "key": 1}
        return _plus(extra)(body)

    _, customers = make_connectors(pme, transport=_with_history(reply))
    with capture_logs() as logs:
        first, _, _ = _two_cycles(pme, customers, clock)
        clock.advance(1)
        customers.list_changed(first.cursor)
    warned = _warnings(logs)
    assert len(warned) == 2 and "'Invoice'" in warned[0] and "'Merge'" in warned[1]


def test_the_probe_says_whether_cycles_will_use_the_history(
    pme: Pme, start_emulator: Callable[..., Pme], make_connectors: MakeConnectors, clock: FakeClock
) -> None:
    """What ``syncd check`` reports: read-only, and no warning in the log."""
    _, usable = make_connectors(pme)
    _, missing = make_connectors(start_emulator(history_shape="none"))
    _, odd = make_connectors(
        pme, transport=_with_history(_plus({"type": "Invoice", "op": "Insert", "key": 5}))
    )
    _, off = make_connectors(pme, history_path="")
    with capture_logs() as logs:
        probes = [c.probe_history() for c in (usable, missing, odd, off)]
    assert [p.usable for p in probes] == [True, False, False, False]
    assert (
        "404" in probes[1].detail
        and "'Invoice'" in probes[2].detail
        and 'history_path = ""' in probes[3].detail
    )
    assert all("read in full" in p.detail for p in probes[1:])
    assert _warnings(logs) == [] and pme.control("GET", "stats")["writes"] == 0
