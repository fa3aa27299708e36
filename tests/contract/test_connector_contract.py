"""The Connector protocol, one suite for all four connectors, over real HTTP against the emulators.

The sync core is written against ``syncd.connectors.base.Connector`` alone, so every connector
must keep the same promises: what a listing means, that an update never clears what it was not
given, that a marker is found exactly, that a fault ends in the right error and never in a
duplicate. Where the systems really differ, the difference is a column of ``DIFFERENCES`` below
and the tests assert each side of it — nothing is skipped or hidden for one connector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest

from syncd.connectors.base import Connector, Listing, QuotaHint, RemoteRecord
from syncd.errors import NotFoundError, ProtocolError, RemoteError, UnreachableError
from tests.contract.conftest import (
    PLANFIX_CONTACT,
    PLANFIX_QUOTA,
    PLANFIX_TASK,
    PME_CUSTOMER,
    PME_EVENT,
    RETRY,
    Emulator,
    EmulatorName,
    FakeClock,
    Opened,
    Wiring,
    emulator_marker,
    open_connector,
)

UNKNOWN = "987654321"
"""A key no emulator hands out in this suite."""
PAST_OVERLAP = 10 * 60.0
"""Seconds: longer than any connector's overlap window (Planfix 2 min, PlanningPME 5 min)."""


# ------------------------------------------------------------------ what differs, stated


@dataclass(frozen=True)
class Differences:
    """What the protocol leaves to each system. Every field is asserted, both ways."""

    delete: Literal["removes", "archives"]
    """``archives``: the system has no delete; the record moves to ``archive_status`` and stays."""
    archive_status: str | None
    repeat_delete: Literal["is silent", "raises NotFoundError"]
    """Deleting what is not (or no longer) there. Either is harmless: nothing else changes, and
    the applier takes NotFoundError as "already gone"."""
    incremental: bool
    """``list_changed(since)`` can be narrower than a full scan (False: always every record)."""
    deletes_seen_as: Literal["deleted key", "archived record", "absence from a full scan"]
    """How the listing after a delete reveals it."""
    quota_reported: bool
    """The remote says how much of its quota is left (PlanningPME's API does not)."""
    windowed: bool
    """A full scan covers a date window only (events: 90 days back to 365 ahead); records outside
    it do not take part in listings, yet ``get`` and ``find_by_marker`` still reach them."""


DIFFERENCES: dict[str, Differences] = {
    "planfix-task": Differences(
        delete="archives",
        archive_status="4",
        repeat_delete="is silent",
        incremental=True,
        deletes_seen_as="archived record",
        quota_reported=True,
        windowed=False,
    ),
    "planfix-contact": Differences(
        delete="removes",
        archive_status=None,
        repeat_delete="is silent",
        incremental=False,
        deletes_seen_as="absence from a full scan",
        quota_reported=True,
        windowed=False,
    ),
    "planningpme-event": Differences(
        delete="removes",
        archive_status=None,
        repeat_delete="raises NotFoundError",
        incremental=True,
        deletes_seen_as="deleted key",
        quota_reported=False,
        windowed=True,
    ),
    "planningpme-customer": Differences(
        delete="removes",
        archive_status=None,
        repeat_delete="raises NotFoundError",
        incremental=True,
        deletes_seen_as="deleted key",
        quota_reported=False,
        windowed=False,
    ),
}


# ------------------------------------------------------------------ sample native records

Sample = Callable[[datetime, int, int], dict[str, Any]]
"""``sample(now, n, days_ahead)``: valid native data for one new record, distinct per ``n``."""

MOSCOW = ZoneInfo("Europe/Moscow")
MADRID = ZoneInfo("Europe/Madrid")


def task_sample(now: datetime, n: int, days_ahead: int) -> dict[str, Any]:
    day = (now.astimezone(MOSCOW) + timedelta(days=days_ahead)).strftime("%d-%m-%Y")
    return {
        "title": f"Монтаж {n} — Calle Mayor",
        "description": "<p>Код: <b>45#</b> &amp; ключ</p>",
        "importance": "HIGH",
        "status": "2",
        "startDate": day,
        "startTime": "09:00",
        "endDate": day,
        "endTime": "11:30",
        "workers": [{"id": "2", "name": "María García"}],
        "customData": {"102": f"Calle Mayor {n}"},
    }


def contact_sample(now: datetime, n: int, days_ahead: int) -> dict[str, Any]:
    return {
        "name": "Lucía",
        "lastName": f"Núñez {n}",
        "email": f"lucia{n}@correo.example",
        "phones": [{"number": "+34 911 222 333", "typeId": "2"}],
        "isCompany": False,
        "companyName": "",
        "customData": {"202": f"CL-{n}"},
    }


def event_sample(now: datetime, n: int, days_ahead: int) -> dict[str, Any]:
    day = (now.astimezone(MADRID) + timedelta(days=days_ahead)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    return {
        "label": f"Revisión de caldera {n}",
        "start": day.strftime("%Y-%m-%dT%H:%M:%S"),
        "end": (day + timedelta(hours=2, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
        "allDay": False,
        "resources": [{"key": "R2", "label": "María García"}],
        "description": "Llamar antes de ir.\nLlave en recepción.",
        "place": f"Calle Mayor {n}",
        "fields": {"SITE": f"S-{n}"},
    }


def customer_sample(now: datetime, n: int, days_ahead: int) -> dict[str, Any]:
    return {
        "label": f"Talleres Núñez {n}",
        "company": f"Talleres Núñez {n}",
        "type": "Company",
        "email": f"info{n}@talleres.example",
        "city": "Madrid",
        "zip": "28013",
        "fields": {"NUMBER": f"CL-{n}"},
    }


# ------------------------------------------------------------------ the four subjects


@dataclass(frozen=True)
class Case:
    id: str
    wiring: Wiring
    sample: Sample
    change: Mapping[str, Any]
    """An update: one plain field and one custom field that is not the marker."""
    volatile: frozenset[str] = frozenset()
    """Fields the system itself rewrites on every change."""

    @property
    def differences(self) -> Differences:
        return DIFFERENCES[self.id]


CASES = (
    Case(
        "planfix-task",
        PLANFIX_TASK,
        task_sample,
        {"title": "Монтаж — перенесён", "customData": {"102": "Avenida 9"}},
    ),
    Case(
        "planfix-contact",
        PLANFIX_CONTACT,
        contact_sample,
        {"email": "nuevo@correo.example", "customData": {"202": "CL-9"}},
        volatile=frozenset({"lastUpdateDate"}),
    ),
    Case(
        "planningpme-event",
        PME_EVENT,
        event_sample,
        {"label": "Revisión aplazada", "fields": {"SITE": "S-9"}},
    ),
    Case(
        "planningpme-customer",
        PME_CUSTOMER,
        customer_sample,
        {"city": "Sevilla", "fields": {"NUMBER": "CL-9"}},
    ),
)


@dataclass
class Subject:
    """One connector under test, with its emulator seen from outside."""

    case: Case
    emulator: Emulator
    clock: FakeClock
    anchor: datetime
    """"Now" for the sample records: fixed per test, so ``sample(n)`` is the same all along."""
    opened: list[Opened] = field(default_factory=list)

    def open(self, *, timeout: float = 10.0) -> Opened:
        opened = open_connector(self.case.wiring, self.emulator, self.clock, timeout=timeout)
        self.opened.append(opened)
        return opened

    @property
    def connector(self) -> Connector:
        return self.opened[0].connector

    @property
    def differences(self) -> Differences:
        return self.case.differences

    def sample(self, n: int = 1, *, days_ahead: int = 1) -> dict[str, Any]:
        return self.case.sample(self.anchor, n, days_ahead)

    def marked(self, n: int, marker: str) -> dict[str, Any]:
        """``sample(n)`` as it reads back after ``create(sample(n), marker)``."""
        return self.with_custom(self.sample(n), {self.case.wiring.marker_field: marker})

    def with_custom(self, data: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
        """``data`` with ``values`` merged into its custom fields (the way a marker is added)."""
        custom = self.case.wiring.custom
        return {**data, custom: {**dict(data.get(custom) or {}), **values}}

    def laid_over(self, record: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
        """What an update of ``record`` with ``change`` must leave: custom fields merged one by one."""
        custom = self.case.wiring.custom
        merged = dict(record)
        for name, value in change.items():
            merged[name] = {**dict(record.get(name) or {}), **value} if name == custom else value
        return merged

    def marker_of(self, record: RemoteRecord) -> Any:
        return (record.data.get(self.case.wiring.custom) or {}).get(self.case.wiring.marker_field)

    def seed(self, count: int) -> None:
        self.emulator.seed(**{self.case.wiring.records_kind: count})

    def stored(self) -> list[dict[str, Any]]:
        return self.emulator.records(self.case.wiring.records_kind)

    def stored_keys(self) -> set[str]:
        return {str(record[self.case.wiring.key_field]) for record in self.stored()}

    def holding(self, marker: str) -> list[str]:
        """Keys of the stored records whose marker field holds ``marker`` (as the emulator sees it)."""
        return [
            str(record[self.case.wiring.key_field])
            for record in self.stored()
            if emulator_marker(self.case.wiring, record) == marker
        ]


@pytest.fixture(params=CASES, ids=[case.id for case in CASES])
def subject(
    request: pytest.FixtureRequest,
    contract_emulators: dict[EmulatorName, Emulator],
    contract_clock: FakeClock,
) -> Iterator[Subject]:
    case: Case = request.param
    emulator = contract_emulators[case.wiring.emulator]
    emulator.reset()
    subject = Subject(case, emulator, contract_clock, contract_clock.now())
    subject.open()
    yield subject
    for opened in subject.opened:
        opened.close()


def keys(records: Iterable[RemoteRecord] | Listing) -> list[str]:
    found = records.records if isinstance(records, Listing) else records
    return sorted(record.key for record in found)


def consistent(records: Iterable[RemoteRecord], key_field: str) -> bool:
    """Every key is the record's own id as a string, and ``modified`` (when given) is aware UTC."""
    return all(
        isinstance(r.key, str)
        and str(r.data[key_field]) == r.key
        and (r.modified is None or r.modified.utcoffset() == timedelta(0))
        for r in records
    )


def assert_holds(data: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    """``data`` has every field of ``expected`` with the same value (other fields may exist)."""
    assert {name: data.get(name) for name in expected} == dict(expected)


# ------------------------------------------------------------------ the protocol


def test_each_subject_is_a_connector_of_its_system(subject: Subject) -> None:
    connector = subject.connector
    assert isinstance(connector, Connector)
    assert (connector.system, connector.entity) == (subject.case.wiring.emulator, subject.case.wiring.entity)


def test_create_writes_the_record_and_its_marker_in_one_request(subject: Subject) -> None:
    created = subject.connector.create(subject.sample(1), "M-1")
    assert created.key and isinstance(created.key, str)
    assert subject.emulator.writes() == 1, "the marker goes in the creating request, not after it"
    assert subject.holding("M-1") == [created.key]
    got = subject.connector.get(created.key)
    assert got is not None and got.key == created.key
    assert_holds(got.data, subject.marked(1, "M-1"))


def test_create_without_a_marker_leaves_the_marker_empty(subject: Subject) -> None:
    created = subject.connector.create(subject.sample(), None)
    got = subject.connector.get(created.key)
    assert got is not None and not subject.marker_of(got)
    assert subject.holding("M-1") == []


def test_a_full_listing_then_one_from_its_cursor(subject: Subject) -> None:
    connector, clock = subject.connector, subject.clock
    old = connector.create(subject.sample(1), "L-1")
    changed = connector.create(subject.sample(2), "L-2")
    clock.advance(PAST_OVERLAP)

    started = clock.now()
    full = connector.list_changed(None)
    assert full.full_scan and full.complete
    assert keys(full) == sorted(subject.stored_keys()) == sorted([old.key, changed.key])
    assert full.cursor is not None and full.cursor <= started, "a cursor is never past the read's start"
    assert full.cursor.utcoffset() is not None, "cursors are aware"
    assert consistent(full.records, subject.case.wiring.key_field)
    assert full.requests >= 1

    clock.advance(PAST_OVERLAP)
    connector.update(changed.key, subject.case.change)
    started = clock.now()
    since = connector.list_changed(full.cursor)
    assert since.complete
    assert since.full_scan is not subject.differences.incremental
    listed = {record.key: record for record in since.records}
    assert changed.key in listed, "a change after the cursor is always listed"
    assert_holds(listed[changed.key].data, subject.laid_over(subject.marked(2, "L-2"), subject.case.change))
    if subject.differences.incremental:
        assert old.key not in listed, "unchanged since long before the cursor"
    else:
        assert old.key in listed
    assert since.cursor is not None and full.cursor < since.cursor <= started
    assert consistent(since.records, subject.case.wiring.key_field)

    everything = connector.list_changed(since.cursor, full=True)
    assert everything.full_scan and everything.complete
    assert keys(everything) == sorted([old.key, changed.key])


def test_the_listing_after_a_delete_reveals_it(subject: Subject) -> None:
    connector, clock = subject.connector, subject.clock
    gone = connector.create(subject.sample(1), "D-1")
    kept = connector.create(subject.sample(2), "D-2")
    clock.advance(PAST_OVERLAP)
    first = connector.list_changed(None)
    clock.advance(PAST_OVERLAP)
    connector.delete(gone.key)
    listing = connector.list_changed(first.cursor)
    assert listing.complete
    listed = {record.key: record for record in listing.records}
    match subject.differences.deletes_seen_as:
        case "deleted key":
            assert gone.key in listing.deleted and gone.key not in listed
        case "archived record":
            assert gone.key not in listing.deleted
            assert listed[gone.key].data["status"] == subject.differences.archive_status
        case "absence from a full scan":
            assert listing.full_scan and gone.key not in listed and kept.key in listed
    assert kept.key not in listing.deleted


def test_get_and_get_many(subject: Subject) -> None:
    connector = subject.connector
    made = [connector.create(subject.sample(n), f"G-{n}") for n in (1, 2, 3)]
    got = connector.get(made[1].key)
    assert got is not None and got.key == made[1].key
    assert_holds(got.data, subject.marked(2, "G-2"))
    assert connector.get(UNKNOWN) is None

    many = connector.get_many([made[2].key, UNKNOWN, made[0].key, made[2].key])
    assert keys(many) == sorted([made[0].key, made[2].key]), "unknown keys are left out, repeats read once"
    assert consistent([got, *many], subject.case.wiring.key_field)
    by_key = {record.key: record for record in many}
    assert by_key[made[0].key].data == connector.get(made[0].key).data  # type: ignore[union-attr]
    assert connector.get_many([]) == []


def test_update_changes_only_the_given_fields(subject: Subject) -> None:
    connector = subject.connector
    created = connector.create(subject.sample(), "U-1")
    before = connector.get(created.key)
    assert before is not None
    writes = subject.emulator.writes()

    updated = connector.update(created.key, subject.case.change)
    assert updated.key == created.key
    assert subject.emulator.writes() == writes + 1
    after = connector.get(created.key)
    assert after is not None
    expected = subject.laid_over(before.data, subject.case.change)
    volatile = subject.case.volatile
    assert {k: v for k, v in after.data.items() if k not in volatile} == {
        k: v for k, v in expected.items() if k not in volatile
    }, "fields not given (the marker and other custom fields included) survive"
    assert_holds(updated.data, subject.laid_over(subject.marked(1, "U-1"), subject.case.change))


def test_an_empty_update_changes_nothing(subject: Subject) -> None:
    connector = subject.connector
    created = connector.create(subject.sample(), "U-2")
    before = subject.stored()
    assert connector.update(created.key, {}).key == created.key
    assert subject.stored() == before


def test_writing_to_a_record_that_is_not_there_is_not_found(subject: Subject) -> None:
    with pytest.raises(NotFoundError):
        subject.connector.update(UNKNOWN, subject.case.change)
    with pytest.raises(NotFoundError):
        subject.connector.set_marker(UNKNOWN, "N-1")
    assert subject.stored() == []


def test_find_by_marker_finds_exactly_the_marked_record(subject: Subject) -> None:
    connector = subject.connector
    subject.seed(5)
    marked = connector.create(subject.sample(1), "F-1")
    connector.create(subject.sample(2), "F-10")
    connector.create(subject.sample(3), "XF-1")
    connector.create(subject.sample(4), None)
    found = connector.find_by_marker("F-1")
    assert keys(found) == [marked.key], "equal, not a prefix or a substring"
    assert subject.marker_of(found[0]) == "F-1"
    assert connector.find_by_marker("F-404") == []


def test_set_marker_writes_and_clears_the_marker_only(subject: Subject) -> None:
    connector = subject.connector
    created = connector.create(subject.sample(), None)
    before = connector.get(created.key)
    assert before is not None
    marker_field = subject.case.wiring.marker_field
    volatile = subject.case.volatile

    connector.set_marker(created.key, "S-1")
    assert keys(connector.find_by_marker("S-1")) == [created.key]
    assert subject.holding("S-1") == [created.key]
    after = connector.get(created.key)
    assert after is not None
    expected = subject.with_custom(before.data, {marker_field: "S-1"})
    assert {k: v for k, v in after.data.items() if k not in volatile} == {
        k: v for k, v in expected.items() if k not in volatile
    }

    connector.set_marker(created.key, None)
    assert connector.find_by_marker("S-1") == [] and subject.holding("S-1") == []
    cleared = connector.get(created.key)
    assert cleared is not None and not subject.marker_of(cleared)
    custom = subject.case.wiring.custom
    others = {k: v for k, v in cleared.data[custom].items() if k != marker_field}
    assert others == {k: v for k, v in before.data[custom].items() if k != marker_field}


def test_delete_and_delete_again(subject: Subject) -> None:
    connector, differences = subject.connector, subject.differences
    doomed = connector.create(subject.sample(1), "X-1")
    bystander = connector.create(subject.sample(2), "X-2")
    bystander_before = connector.get(bystander.key)

    connector.delete(doomed.key)
    after = connector.get(doomed.key)
    if differences.delete == "archives":
        assert after is not None and after.data["status"] == differences.archive_status
        assert doomed.key in subject.stored_keys(), "archived, still there and still gettable"
        assert keys(connector.find_by_marker("X-1")) == [doomed.key]
    else:
        assert after is None
        assert doomed.key not in subject.stored_keys()
        assert connector.find_by_marker("X-1") == []
        assert connector.get_many([doomed.key]) == []

    state = subject.stored()
    for key in (doomed.key, UNKNOWN):  # deleted already / never there
        if differences.repeat_delete == "is silent":
            connector.delete(key)
        else:
            with pytest.raises(NotFoundError):
                connector.delete(key)
    assert subject.stored() == state, "a repeated delete changes nothing"
    assert connector.get(bystander.key) == bystander_before


def test_listings_and_lookups_cross_page_boundaries(subject: Subject) -> None:
    connector = subject.connector
    subject.seed(150)
    marked = connector.create(subject.sample(1), "P-1")  # the newest: on the last page
    stored = subject.stored_keys()
    assert len(stored) == 151

    full = connector.list_changed(None)
    assert full.complete and full.full_scan
    assert keys(full) == sorted(stored), "every record once: no page lost, none read twice"
    assert full.requests >= 2
    assert keys(connector.find_by_marker("P-1")) == [marked.key]
    assert keys(connector.get_many([*stored, UNKNOWN])) == sorted(stored)


def test_a_full_listing_covers_every_record_unless_it_states_a_window(subject: Subject) -> None:
    connector = subject.connector
    near = connector.create(subject.sample(1), "W-1")
    far = connector.create(subject.sample(2, days_ahead=730), "W-2")
    listed = keys(connector.list_changed(None))
    assert near.key in listed
    if subject.differences.windowed:
        assert far.key not in listed, "two years ahead is outside the scan window"
    else:
        assert far.key in listed
    assert connector.get(far.key) is not None
    assert keys(connector.find_by_marker("W-2")) == [far.key], "markers are found outside any window"


def test_quota_hint(subject: Subject) -> None:
    connector = subject.connector
    assert connector.quota_hint() == QuotaHint(), "nothing heard yet"
    connector.list_changed(None)
    hint = connector.quota_hint()
    assert isinstance(hint, QuotaHint)
    if subject.differences.quota_reported:
        assert hint.remaining is not None and 0 < hint.remaining <= PLANFIX_QUOTA
        assert hint.observed_at is not None and hint.observed_at <= subject.clock.now()
    else:
        assert hint == QuotaHint()


# ------------------------------------------------------------------ faults


def test_a_503_on_a_read_is_retried_transparently(subject: Subject) -> None:
    connector = subject.connector
    created = connector.create(subject.sample(), "R-1")
    expected = connector.get(created.key)

    subject.emulator.faults(fail_next=1, error=503)
    assert connector.get(created.key) == expected
    subject.emulator.faults(fail_next=1, error=503)
    listing = connector.list_changed(None)
    assert listing.complete and keys(listing) == [created.key]
    subject.emulator.faults(fail_next=1, error=503)
    assert keys(connector.find_by_marker("R-1")) == [created.key]


def test_a_dropped_create_is_unreachable_and_never_duplicated(subject: Subject) -> None:
    connector = subject.connector
    connector.get(UNKNOWN)  # signed in: the drop hits the create itself
    subject.emulator.faults(drop_next=1)
    with pytest.raises(UnreachableError):
        connector.create(subject.sample(), "C-1")
    # The emulator drops before carrying the request out, so a retry would have created it once
    # and raised nothing: the error itself shows the create was not repeated blindly.
    assert subject.holding("C-1") == []
    assert connector.find_by_marker("C-1") == [], "what the applier checks before creating again"
    again = connector.create(subject.sample(), "C-1")
    assert subject.holding("C-1") == [again.key]


def test_a_dropped_update_is_retried_because_repeating_it_is_safe(subject: Subject) -> None:
    connector = subject.connector
    created = connector.create(subject.sample(), "C-3")
    subject.emulator.faults(drop_next=1)
    connector.update(created.key, subject.case.change)
    got = connector.get(created.key)
    assert got is not None
    assert_holds(got.data, subject.laid_over(subject.marked(1, "C-3"), subject.case.change))
    assert subject.holding("C-3") == [created.key]


def test_a_create_whose_reply_is_lost_leaves_exactly_one_record(subject: Subject) -> None:
    impatient = subject.open(timeout=0.5).connector
    impatient.get(UNKNOWN)
    subject.emulator.faults(reply_delay_ms=2500)  # carried out, then silent past the timeout
    try:
        with pytest.raises(UnreachableError):
            impatient.create(subject.sample(), "C-2")
    finally:
        subject.emulator.clear_faults()
    holding = subject.holding("C-2")
    assert len(holding) == 1, "applied once, not retried into a duplicate"
    assert keys(subject.connector.find_by_marker("C-2")) == holding


def test_a_malformed_reply_is_a_protocol_error(subject: Subject) -> None:
    connector = subject.connector
    created = connector.create(subject.sample(), "B-1")
    subject.emulator.faults(malformed_next=RETRY.attempts)
    with pytest.raises(ProtocolError):
        connector.get(created.key)
    subject.emulator.faults(malformed_next=1)
    with pytest.raises(ProtocolError):
        connector.create(subject.sample(2), "B-2")
    subject.emulator.clear_faults()
    assert len(subject.holding("B-2")) <= 1
    assert connector.get(created.key) is not None


def test_a_listing_that_loses_a_page_is_incomplete_not_an_error(subject: Subject) -> None:
    subject.seed(150)
    opened = subject.open()
    emulator = subject.emulator
    opened.wire.before(
        subject.case.wiring.is_listing_page, 2, lambda: emulator.faults(fail_next=RETRY.attempts, error=500)
    )
    started = subject.clock.now()
    listing = opened.connector.list_changed(None)
    assert not listing.complete, "page 2 failed on every attempt"
    assert 100 <= len(listing.records) < 150
    assert set(keys(listing)) <= subject.stored_keys()
    # Its cursor may be the read's start (Planfix) or the old one (PlanningPME: None here); the
    # core commits no cursor of an incomplete listing, so only the common bound is part of the deal.
    assert listing.cursor is None or listing.cursor <= started


def test_a_listing_that_cannot_read_its_first_page_raises(subject: Subject) -> None:
    subject.seed(5)
    subject.emulator.faults(fail_next=RETRY.attempts, error=500)
    with pytest.raises(RemoteError):
        subject.connector.list_changed(None)
    assert keys(subject.connector.list_changed(None)) == sorted(subject.stored_keys())
