"""The Planfix task and contact connectors against the emulator, as the sync engine uses them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.connectors.base import Connector
from syncd.connectors.planfix import PlanfixConnectors, build_planfix
from syncd.errors import (
    FatalRemoteError,
    NotFoundError,
    ProtocolError,
    RecordError,
    RemoteError,
    ServerError,
    UnreachableError,
)
from syncd.settings import PlanfixSettings
from tests.planfix.conftest import FAST_RETRY, ZONE, FakeClock, Planfix, connect, fast_limiter


class AfterRequest(httpx.BaseTransport):
    """A real HTTP transport that runs ``hook(n)`` after the n-th reply, to act between pages."""

    def __init__(self, hook: Callable[[int], None]) -> None:
        self._inner = httpx.HTTPTransport()
        self._hook = hook
        self._count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        self._count += 1
        self._hook(self._count)
        return response

    def close(self) -> None:
        self._inner.close()


def hooked(planfix: Planfix, hook: Callable[[int], None]) -> PlanfixConnectors:
    return build_planfix(planfix.settings(), fast_limiter(), transport=AfterRequest(hook), retry=FAST_RETRY)


def task_in_emulator(planfix: Planfix, key: str) -> dict[str, Any]:
    return next(t for t in planfix.records("tasks") if t["id"] == key)


def custom(record: dict[str, Any]) -> dict[str, str]:
    return {item["field"]["id"]: item["value"] for item in record["customData"] if item["value"]}


FULL_TASK = {
    "title": "Монтаж — Calle Mayor 5",
    "description": "<p>Код: <b>45#</b> &amp; ключ</p>",
    "importance": "HIGH",
    "status": "2",
    "owner": {"id": "3", "name": "Олег Смирнов"},
    "client": None,
    "project": {"id": "1", "title": "Maintenance"},
    "startDate": "23-11-2026",
    "startTime": "09:00",
    "endDate": "23-11-2026",
    "endTime": "17:30",
    "workers": [{"id": "2", "name": "María García"}, {"id": "4", "name": "John Smith"}],
    "customData": {"102": "Calle Mayor 5"},
}


def test_both_are_connectors(pf: PlanfixConnectors) -> None:
    assert isinstance(pf.tasks, Connector) and isinstance(pf.contacts, Connector)
    assert (pf.tasks.system, pf.tasks.entity, pf.contacts.entity) == ("planfix", "task", "contact")


# ---------------------------------------------------------------- listing


def test_a_full_listing_reads_every_page(planfix: Planfix, pf: PlanfixConnectors) -> None:
    planfix.seed(tasks=250, contacts=5)
    before = datetime.now().astimezone()
    listing = pf.tasks.list_changed(None)
    assert len(listing.records) == 250 and len({r.key for r in listing.records}) == 250
    assert listing.complete and listing.full_scan and listing.requests == 3
    assert listing.cursor is not None and listing.cursor >= before - timedelta(seconds=5)
    assert {r.key for r in listing.records} == {t["id"] for t in planfix.records("tasks")}


def test_an_incremental_listing_uses_the_cursor_minus_the_overlap(
    start_planfix: Callable[..., Planfix],
) -> None:
    clock = FakeClock()
    planfix = start_planfix(clock=clock)
    pf = connect(planfix, fast_limiter(clock))
    clock.set_local(datetime(2026, 11, 21, 10, 0, 30))
    old = pf.tasks.create({"title": "old"}, marker=None)
    clock.set_local(datetime(2026, 11, 21, 10, 10, 45))
    new = pf.tasks.create({"title": "new"}, marker=None)
    clock.set_local(datetime(2026, 11, 21, 10, 12, 10))
    since = datetime(2026, 11, 21, 10, 11, 59, tzinfo=ZONE)
    listing = pf.tasks.list_changed(since)
    assert [r.key for r in listing.records] == [new.key], "10:11:59 - 2 min overlap reaches 10:09"
    assert not listing.full_scan and listing.complete
    assert listing.cursor == clock.now(), "the cursor is the moment the read started"
    assert pf.tasks.list_changed(since, full=True).full_scan
    assert {r.key for r in pf.tasks.list_changed(since - timedelta(minutes=11)).records} == {old.key, new.key}


def test_a_failure_mid_way_returns_what_was_read_as_incomplete(planfix: Planfix) -> None:
    planfix.seed(tasks=250)

    def break_after_first_page(n: int) -> None:
        if n == 1:
            planfix.faults(fail_next=10, error=503)

    pf = hooked(planfix, break_after_first_page)
    listing = pf.tasks.list_changed(None)
    assert len(listing.records) == 100 and not listing.complete
    planfix.control("DELETE", "faults")


def test_a_failure_on_the_first_page_raises(planfix: Planfix, pf: PlanfixConnectors) -> None:
    planfix.faults(fail_next=10, error="3014")
    with pytest.raises(ServerError):
        pf.tasks.list_changed(None)
    planfix.control("DELETE", "faults")


def test_a_list_that_shrinks_while_read_is_incomplete(planfix: Planfix) -> None:
    planfix.seed(contacts=150)
    people = [c for c in planfix.records("contacts") if c["isCompany"] in ("0", "false")]
    assert len(people) > 100  # more than a page of people
    victim = people[0]["id"]

    def delete_one_after_first_page(n: int) -> None:
        if n == 1:
            body = f"<contact><id>{victim}</id></contact>"
            planfix.raw(f'<request method="contact.delete"><account>demo</account>{body}</request>')

    listing = hooked(planfix, delete_one_after_first_page).contacts.list_changed(None)
    assert listing.full_scan and not listing.complete


def test_contacts_are_always_listed_in_full(planfix: Planfix, pf: PlanfixConnectors) -> None:
    planfix.seed(contacts=120)
    listing = pf.contacts.list_changed(datetime.now().astimezone())
    assert listing.full_scan and listing.complete and len(listing.records) == 120
    assert all(r.modified is not None and r.modified.tzinfo is not None for r in listing.records)


# ---------------------------------------------------------------- get


def test_get_answers_none_only_when_planfix_confirms(planfix: Planfix, pf: PlanfixConnectors) -> None:
    created = pf.tasks.create({"title": "t"}, marker=None)
    record = pf.tasks.get(created.key)
    assert record is not None and record.data["title"] == "t"
    assert pf.tasks.get("999999") is None
    assert pf.contacts.get("999999") is None
    planfix.faults(fail_next=1, error="0015")
    with pytest.raises(RecordError):
        pf.tasks.get(created.key)
    planfix.faults(drop_next=10)
    with pytest.raises(UnreachableError):
        pf.tasks.get(created.key)
    planfix.control("DELETE", "faults")


def test_get_many_batches_tasks_by_a_hundred(planfix: Planfix, pf: PlanfixConnectors) -> None:
    planfix.seed(tasks=230, contacts=3)
    keys = [t["id"] for t in planfix.records("tasks")]
    planfix.control("POST", "stats/reset")
    found = pf.tasks.get_many([*keys, "424242", keys[0]])
    assert sorted(r.key for r in found) == sorted(keys)
    assert planfix.stats()["by_method"] == {"task.getMulti": 3}
    contact_keys = [c["id"] for c in planfix.records("contacts")]
    assert sorted(r.key for r in pf.contacts.get_many([*contact_keys, "999"])) == sorted(contact_keys)


# ---------------------------------------------------------------- writes


def test_create_writes_the_marker_in_the_same_request(planfix: Planfix, pf: PlanfixConnectors) -> None:
    created = pf.tasks.create(FULL_TASK, marker="E-17")
    assert planfix.stats()["by_method"] == {"task.add": 1}
    stored = pf.tasks.get(created.key)
    assert stored is not None
    expected = {**FULL_TASK, "customData": {"102": "Calle Mayor 5", "101": "E-17"}}
    assert {k: stored.data[k] for k in expected} == expected
    assert stored.data["general"] == created.data["general"] != created.key


def test_find_by_marker(planfix: Planfix, pf: PlanfixConnectors) -> None:
    planfix.seed(tasks=5, contacts=5)
    task = pf.tasks.create({"title": "t"}, marker="E-5")
    contact = pf.contacts.create({"name": "Ana"}, marker="C-5")
    assert [r.key for r in pf.tasks.find_by_marker("E-5")] == [task.key]
    assert [r.key for r in pf.contacts.find_by_marker("C-5")] == [contact.key]
    assert pf.tasks.find_by_marker("E-6") == [] and pf.contacts.find_by_marker("E-5") == []


def test_a_task_update_never_clears_unmapped_fields(planfix: Planfix, pf: PlanfixConnectors) -> None:
    created = pf.tasks.create(FULL_TASK, marker="E-1")
    before = task_in_emulator(planfix, created.key)
    updated = pf.tasks.update(created.key, {"title": "renamed", "customData": {"102": "new site"}})
    after = task_in_emulator(planfix, created.key)
    assert after["title"] == "renamed"
    assert custom(after) == {"101": "E-1", "102": "new site"}
    unchanged = ("description", "importance", "status", "owner", "project", "startTime", "endTime")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert after["workers"] == before["workers"]
    assert updated.data["description"] == FULL_TASK["description"]


def test_a_task_update_can_clear_what_it_is_given(planfix: Planfix, pf: PlanfixConnectors) -> None:
    created = pf.tasks.create(FULL_TASK, marker=None)
    pf.tasks.update(created.key, {"startDate": None, "startTime": None, "workers": [], "client": None})
    after = pf.tasks.get(created.key)
    assert after is not None
    assert (after.data["startDate"], after.data["startTime"], after.data["workers"]) == (None, None, [])
    assert after.data["endDate"] == "23-11-2026" and after.data["description"] == FULL_TASK["description"]


def test_updating_a_missing_record_is_not_found(pf: PlanfixConnectors) -> None:
    with pytest.raises(NotFoundError):
        pf.tasks.update("999999", {"title": "x"})
    with pytest.raises(NotFoundError):
        pf.contacts.update("999999", {"name": "x"})


def test_a_bad_value_fails_that_record_before_anything_is_sent(
    planfix: Planfix, pf: PlanfixConnectors
) -> None:
    with pytest.raises(RecordError, match="startDate"):
        pf.tasks.create({"title": "t", "startDate": "2026-11-23"}, marker="E-1")
    assert planfix.stats()["total"] == 0


def test_delete_archives_a_task_and_removes_a_contact(planfix: Planfix, pf: PlanfixConnectors) -> None:
    task = pf.tasks.create({"title": "t", "status": "2"}, marker=None)
    contact = pf.contacts.create({"name": "c"}, marker=None)
    pf.tasks.delete(task.key)
    pf.contacts.delete(contact.key)
    archived = pf.tasks.get(task.key)
    assert archived is not None and archived.data["status"] == "4"
    assert pf.contacts.get(contact.key) is None
    pf.tasks.delete("999999")
    pf.contacts.delete(contact.key)


def test_the_archive_status_is_configurable(planfix: Planfix) -> None:
    pf = build_planfix(planfix.settings(), fast_limiter(), retry=FAST_RETRY, archive_status="3")
    task = pf.tasks.create({"title": "t"}, marker=None)
    pf.tasks.delete(task.key)
    assert task_in_emulator(planfix, task.key)["status"] == "3"


def test_set_marker_touches_nothing_else(planfix: Planfix, pf: PlanfixConnectors) -> None:
    task = pf.tasks.create(FULL_TASK, marker=None)
    contact = pf.contacts.create({"name": "c", "customData": {"202": "C-00001"}}, marker=None)
    pf.tasks.set_marker(task.key, "E-9")
    pf.contacts.set_marker(contact.key, "K-9")
    stored = task_in_emulator(planfix, task.key)
    assert custom(stored) == {"101": "E-9", "102": "Calle Mayor 5"}
    assert stored["description"] == FULL_TASK["description"] and stored["startTime"] == "23-11-2026 09:00"
    got = pf.contacts.get(contact.key)
    assert got is not None and got.data["customData"] == {"201": "K-9", "202": "C-00001"}
    pf.tasks.set_marker(task.key, None)
    assert custom(task_in_emulator(planfix, task.key)) == {"102": "Calle Mayor 5"}


def test_a_contact_round_trip_and_a_partial_update(planfix: Planfix, pf: PlanfixConnectors) -> None:
    data = {
        "name": "Ольга",
        "lastName": "O'Brien <&>",
        "email": "olga@example.com",
        "phones": [{"number": "+7 900 123-45-67", "typeId": "2"}],
        "isCompany": False,
        "companyName": "",
        "customData": {"202": "C-1"},
    }
    created = pf.contacts.create(data, marker="K-1")
    got = pf.contacts.get(created.key)
    assert got is not None
    assert {k: got.data[k] for k in data} == {**data, "customData": {"202": "C-1", "201": "K-1"}}
    updated = pf.contacts.update(created.key, {"email": "new@example.com", "customData": {"202": "C-2"}})
    got = pf.contacts.get(created.key)
    assert got is not None and got.data == {**updated.data, "lastUpdateDate": got.data["lastUpdateDate"]}
    assert got.data["phones"] == data["phones"] and got.data["customData"] == {"201": "K-1", "202": "C-2"}
    with pytest.raises(RecordError):
        pf.contacts.update(created.key, {"email": "not an address"})


def test_a_contact_listing_carries_its_modification_time(start_planfix: Callable[..., Planfix]) -> None:
    clock = FakeClock()
    planfix = start_planfix(clock=clock)
    pf = connect(planfix, fast_limiter(clock))
    clock.set_local(datetime(2026, 7, 1, 12, 34, 56))
    pf.contacts.create({"name": "c"}, marker=None)
    (record,) = pf.contacts.list_changed(None).records
    assert record.modified == datetime(2026, 7, 1, 12, 34, tzinfo=ZONE)


# ---------------------------------------------------------------- arbitrary text

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn"), whitelist_characters="\n\t\r"),
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=TEXT.filter(str.strip), description=TEXT, name=TEXT)
def test_any_text_survives_build_emulator_and_parse(
    pf: PlanfixConnectors, title: str, description: str, name: str
) -> None:
    marker = name.strip()  # a key never is, nor ends in, white space (the emulator trims values)
    task = pf.tasks.create({"title": title, "description": description}, marker=marker)
    got = pf.tasks.get(task.key)
    assert got is not None
    assert (got.data["title"], got.data["description"]) == (title, description)
    assert got.data["customData"].get("101", "") == marker
    contact = pf.contacts.create({"name": name, "lastName": title}, marker=None)
    got_contact = pf.contacts.get(contact.key)
    assert got_contact is not None and (got_contact.data["name"], got_contact.data["lastName"]) == (
        name,
        title,
    )


def test_remote_errors_are_the_only_errors(planfix: Planfix, pf: PlanfixConnectors) -> None:
    planfix.faults(malformed_next=20)
    with pytest.raises(RemoteError):
        pf.contacts.list_changed(None)
    planfix.control("DELETE", "faults")


def test_an_update_that_changes_nothing_is_not_sent(planfix: Planfix, pf: PlanfixConnectors) -> None:
    task = pf.tasks.create(FULL_TASK, marker="E-1")
    contact = pf.contacts.create({"name": "c", "email": "c@example.com"}, marker="K-1")
    planfix.control("POST", "stats/reset")
    pf.tasks.update(task.key, {"title": FULL_TASK["title"], "customData": {"101": "E-1"}})
    pf.contacts.update(contact.key, {"email": "c@example.com"})
    assert planfix.stats()["writes"] == 0


def test_an_endpoint_without_its_slash_is_a_clear_config_problem(planfix: Planfix) -> None:
    pf = build_planfix(planfix.settings(url=planfix.url.rstrip("/")), fast_limiter(), retry=FAST_RETRY)
    with pytest.raises(FatalRemoteError, match=r"planfix\.url"):
        pf.tasks.list_changed(None)


def test_one_unreadable_record_leaves_the_listing_incomplete_not_failed() -> None:
    page = (
        '<response status="ok"><tasks count="2" totalCount="2">'
        "<task><id>1</id><title>fine</title></task>"
        "<task><id>2</id><title>odd</title><startTime>soon</startTime></task>"
        "</tasks></response>"
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=page))
    settings = PlanfixSettings(url="http://127.0.0.1:9/xml/", account="demo", api_key="k", token="t")
    pf = build_planfix(settings, fast_limiter(), transport=transport, retry=FAST_RETRY)
    listing = pf.tasks.list_changed(None)
    assert [r.key for r in listing.records] == ["1"] and not listing.complete
    with pytest.raises(ProtocolError, match="task 2"):
        pf.tasks.find_by_marker("E-1")
