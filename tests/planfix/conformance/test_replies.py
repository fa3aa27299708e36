"""The documented reply examples parse with syncd's own parser, into what the pages say they mean.

Each ``fixtures/<method>.reply.xml`` is the page's reply example with its empty elements filled;
``<method>.reply-empty.xml`` keeps them empty (only the record's id, and a task's creation time,
filled), which is what an unset start, owner or phone looks like. The parsers are the ones the
connectors use (``parse_reply``, ``list_page``, ``parse_task``, ``parse_contact``); the connector
tests at the end serve the examples to syncd's real connectors, so what reaches the sync engine
(keys, ids, modification times, "not found") is checked too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from lxml import etree

from syncd.connectors.planfix import PlanfixConnectors, build_planfix
from syncd.connectors.planfix.contacts import parse_contact
from syncd.connectors.planfix.tasks import parse_task
from syncd.connectors.planfix.xml import Element, list_page, parse_reply
from syncd.settings import PlanfixSettings
from tests.planfix.conformance.pages import FIXTURES, METHOD_PAGES, fixture_bytes, source_page
from tests.planfix.conftest import FAST_RETRY, fast_limiter

REPLIES = sorted(path.name for path in FIXTURES.glob("*.reply*.xml"))


def reply(name: str) -> Element:
    """The ``<response>`` of a fixture, through syncd's parser; it must be an ``ok`` reply."""
    method = name.split(".reply", 1)[0]
    parsed = parse_reply(fixture_bytes(name), method=method)
    assert parsed.ok, f"{name}: parse_reply says {parsed.code} {parsed.message!r}"
    return parsed.root


def only(root: Element, tag: str) -> Element:
    found = root.find(tag)
    assert found is not None, f"no <{tag}> in the reply"
    return found


def test_every_method_has_a_documented_reply() -> None:
    assert {name.split(".reply", 1)[0] for name in REPLIES} >= set(METHOD_PAGES)


@pytest.mark.parametrize("name", REPLIES)
def test_every_documented_reply_parses_as_ok(name: str) -> None:
    """A reply fixture is an ok reply of the method its page documents."""
    method = name.split(".reply", 1)[0]
    assert source_page(name) == METHOD_PAGES[method]
    assert reply(name).tag == "response"


# ---------------------------------------------------------------- tasks


def test_task_get_reads_the_documented_card() -> None:
    """ПланФикс_API_task.get.md: startTime/endTime are the planned start and end (DateTime)."""
    task = parse_task(only(reply("task.get.reply.xml"), "task"))
    assert (task["id"], task["general"]) == ("1000017", "17")
    assert task["title"] == "Монтаж — Calle Mayor 5"
    assert task["description"] == "Замена фильтра & проверка давления"
    assert (task["importance"], task["status"]) == ("HIGH", "2")
    assert task["owner"] == {"id": "3", "name": "Олег Смирнов"}
    assert task["project"] == {"id": "1", "title": "Maintenance"}
    assert task["client"] == {"id": "501", "name": "ООО Ромашка"}
    assert (task["startDate"], task["startTime"]) == ("23-11-2026", "09:00")
    assert (task["endDate"], task["endTime"]) == ("23-11-2026", "17:30")
    assert task["workers"] == [{"id": "2", "name": "María García"}, {"id": "4", "name": "John Smith"}]
    assert task["customData"] == {"101": "ppme-event-4711", "102": "Calle Mayor 5, Madrid"}


def test_task_get_with_empty_elements_has_no_start_end_owner_or_workers() -> None:
    """ПланФикс_API_task.get.md: beginDateTime is the creation time, not the start: a task whose
    startTime is empty has no start, whatever its creation time (issue 13, point 3)."""
    task = parse_task(only(reply("task.get.reply-empty.xml"), "task"))
    assert task["id"] == "1000017"
    assert (task["startDate"], task["startTime"]) == (None, None), (
        "an empty <startTime> must read as no start; the start was taken from <beginDateTime> "
        "(the creation time, ПланФикс_API_task.get.md)"
    )
    assert (task["endDate"], task["endTime"]) == (None, None)
    assert (task["owner"], task["client"], task["project"]) == (None, None, None)
    assert task["title"] == ""
    assert task["workers"] == []
    assert task["customData"] == {}


@pytest.mark.parametrize(
    ("name", "ids", "total"),
    [
        ("task.getList.reply.xml", ["1000017", "1000018"], 5),
        ("task.getMulti.reply.xml", ["1000017", "1000042"], None),
    ],
)
def test_task_lists_read_their_items_and_total(name: str, ids: list[str], total: int | None) -> None:
    """tasks count/totalCount (task.getList) and count only (task.getMulti)."""
    method = name.split(".reply", 1)[0]
    page = list_page(reply(name), "tasks", "task", method=method)
    assert [parse_task(item)["id"] for item in page.items] == ids
    assert page.total == total


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("task.add.reply.xml", {"task/id": "1000043", "task/general": "43"}),
        ("task.update.reply.xml", {"task/id": "1000017"}),
        ("task.updateCustomData.reply.xml", {"task/id": "1000017"}),
        ("task.changeStatus.reply.xml", {"task/id": "1000017"}),
        ("contact.add.reply.xml", {"contact/id": "507", "contact/userid": "10007", "contact/general": "507"}),
        ("contact.update.reply.xml", {"contact/id": "507", "contact/general": "507", "actionid": "88413"}),
        ("contact.delete.reply.xml", {"contact/id": "507"}),
        ("auth.login.reply.xml", {"sid": "5f0c1d2e3a4b5c6d7e8f9a0b1c2d3e4f"}),
    ],
)
def test_write_and_login_replies_carry_their_ids(name: str, expected: dict[str, str]) -> None:
    root = reply(name)
    assert {path: root.findtext(path) for path in expected} == expected


def test_the_documented_error_reply_is_an_error_with_its_code() -> None:
    parsed = parse_reply(fixture_bytes("error.xml"), method="task.get")
    assert (parsed.ok, parsed.code) == (False, "3001")


# ---------------------------------------------------------------- contacts


def test_contact_get_reads_the_documented_card() -> None:
    contact = parse_contact(only(reply("contact.get.reply.xml"), "contact"))
    assert (contact["id"], contact["userid"], contact["general"]) == ("507", "10007", "507")
    assert (contact["name"], contact["lastName"]) == ("Мария", "Кузнецова")
    assert contact["email"] == "m.kuznetsova@romashka.example"
    assert contact["isCompany"] is False
    assert contact["phones"] == [
        {"number": "+7 495 123-45-67", "typeId": "1"},
        {"number": "+7 916 765-43-21", "typeId": "2"},
    ]
    assert contact["customData"] == {"201": "ppme-customer-88", "202": "C-0042"}
    assert contact["lastUpdateDate"] is None  # not asked for (fields/field), so not in the reply


def test_contact_last_update_date_is_read_when_the_reply_carries_it() -> None:
    """contact.get/getList: a field asked for in <fields> 'is added to the reply in the contact node'."""
    root = reply("contact.get.reply.xml")
    etree.SubElement(only(root, "contact"), "lastUpdateDate").text = "20-11-2026 14:05"
    assert parse_contact(only(root, "contact"))["lastUpdateDate"] == "20-11-2026 14:05"


def test_contact_list_reads_people_and_companies() -> None:
    """ПланФикс_API_contact.getList.md: a company is a contact with isCompany, named by its name."""
    page = list_page(reply("contact.getList.reply.xml"), "contacts", "contact", method="contact.getList")
    assert page.total == 2
    person, company = (parse_contact(item) for item in page.items)
    assert (person["id"], person["name"], person["lastName"], person["isCompany"]) == (
        "507",
        "Мария",
        "Кузнецова",
        False,
    )
    assert person["phones"] == [{"number": "+7 916 765-43-21", "typeId": "2"}]
    assert (company["id"], company["userid"], company["companyName"], company["isCompany"]) == (
        "512",
        "10012",
        "ООО Ромашка",
        True,
    )
    assert company["name"] == "", "a company's name is its companyName in syncd's native record"
    assert company["customData"] == {"201": "ppme-customer-91"}


@pytest.mark.parametrize(
    ("name", "list_tag"),
    [("contact.get.reply-empty.xml", None), ("contact.getList.reply-empty.xml", "contacts")],
)
def test_contacts_with_empty_elements_read_as_unset(name: str, list_tag: str | None) -> None:
    root = reply(name)
    if list_tag is None:
        el = only(root, "contact")
    else:
        page = list_page(root, list_tag, "contact", method="contact.getList")
        assert (page.total, len(page.items)) == (1, 1)
        el = page.items[0]
    contact = parse_contact(el)
    assert contact["id"] == "507"
    assert (contact["name"], contact["lastName"], contact["email"]) == ("", "", "")
    assert contact["isCompany"] is False
    assert contact["phones"] == []  # a phone without a number is no phone
    assert contact["customData"] == {}


# ---------------------------------------------------------------- through the connectors


@pytest.fixture
def replayed() -> Iterator[tuple[PlanfixConnectors, list[str]]]:
    """syncd's connectors answered with the documented replies (by method); the methods called."""
    called: list[str] = []
    replies = {method: f"{method}.reply.xml" for method in METHOD_PAGES}
    replies["task.get"] = "error.xml"  # 3001: the task does not exist

    def answer(request: httpx.Request) -> httpx.Response:
        method = str(etree.fromstring(request.read()).get("method"))
        called.append(method)
        return httpx.Response(200, content=fixture_bytes(replies[method]))

    settings = PlanfixSettings(url="http://127.0.0.1:9/xml/", account="demo", api_key="k", token="t")
    pf = build_planfix(settings, fast_limiter(), transport=httpx.MockTransport(answer), retry=FAST_RETRY)
    yield pf, called
    pf.close()


def test_connectors_take_the_new_ids_from_the_documented_add_replies(
    replayed: tuple[PlanfixConnectors, list[str]],
) -> None:
    pf, _ = replayed
    task = pf.tasks.create({"title": "Осмотр"}, "pme-event-18")
    assert (task.key, task.data["general"]) == ("1000043", "43")
    contact = pf.contacts.create({"name": "Мария", "lastName": "Кузнецова"}, "pme-customer-88")
    assert (contact.key, contact.data["userid"], contact.data["general"]) == ("507", "10007", "507")


def test_connectors_read_the_documented_cards(replayed: tuple[PlanfixConnectors, list[str]]) -> None:
    pf, _ = replayed
    contact = pf.contacts.get("507")
    assert contact is not None
    assert (contact.key, contact.data["name"]) == ("507", "Мария")
    tasks = pf.tasks.get_many(["1000017", "1000042"])
    assert [t.key for t in tasks] == ["1000017", "1000042"]
    assert pf.tasks.get("1000099") is None, "the documented error reply 3001 means 'no such task'"


def test_a_legacy_login_uses_the_documented_sid() -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = request.read()
        seen.append(body)
        method = str(etree.fromstring(body).get("method"))
        return httpx.Response(200, content=fixture_bytes(f"{method}.reply.xml"))

    values: dict[str, Any] = {"url": "http://127.0.0.1:9/xml/", "account": "demo"}
    settings = PlanfixSettings(**values, api_key="k", login="demo", password="demo")
    pf = build_planfix(settings, fast_limiter(), transport=httpx.MockTransport(answer), retry=FAST_RETRY)
    try:
        pf.contacts.delete("507")
    finally:
        pf.close()
    methods = [etree.fromstring(body).get("method") for body in seen]
    assert methods == ["auth.login", "contact.delete"]
    assert etree.fromstring(seen[1]).findtext("sid") == "5f0c1d2e3a4b5c6d7e8f9a0b1c2d3e4f"


def test_contact_modification_time_comes_from_last_update_date() -> None:
    """lastUpdateDate (asked for with fields/field) is a naive time in the account's zone."""
    body = etree.fromstring(fixture_bytes("contact.get.reply.xml"))
    etree.SubElement(only(body, "contact"), "lastUpdateDate").text = "20-11-2026 14:05"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=etree.tostring(body, xml_declaration=True, encoding="UTF-8"))

    settings = PlanfixSettings(url="http://127.0.0.1:9/xml/", account="demo", api_key="k", token="t")
    pf = build_planfix(settings, fast_limiter(), transport=httpx.MockTransport(answer), retry=FAST_RETRY)
    try:
        contact = pf.contacts.get("507")
    finally:
        pf.close()
    assert contact is not None
    assert contact.modified == datetime(2026, 11, 20, 11, 5, tzinfo=UTC)  # Moscow is UTC+3
