"""syncd calls Planfix the way the pages say: values, modes and parameters each page requires.

The element paths are checked in test_requests.py; these check what the pages say about the
values and about when a parameter is needed: ``silent`` on sync writes, the API key in every
login/password request, people *and* companies in a contact listing with their modification
time, the string custom-field filters for marker look-ups, and enumerations and formats as listed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from lxml import etree

from syncd.connectors.planfix import PlanfixConnectors
from tests.planfix.conformance.exercise import LEGACY, Mappers, Session, customer, event, recorded_connectors
from tests.planfix.conformance.pages import Element, Recording
from tests.planfix.conftest import Planfix

DATE = re.compile(r"^\d{2}-\d{2}-\d{4}$")
TIME = re.compile(r"^\d{2}:\d{2}$")
DATE_TIME = re.compile(r"^\d{2}-\d{2}-\d{4} \d{2}:\d{2}$")


def _leaves(root: Element, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) of every leaf element (``request/task/startDate``, ``23-11-2026``)."""
    path = f"{prefix}/{root.tag}" if prefix else str(root.tag)
    children = [child for child in root if isinstance(child.tag, str)]
    if not children:
        yield path, (root.text or "").strip()
    for child in children:
        yield from _leaves(child, path)


# ---------------------------------------------------------------- modes and parameters


@pytest.mark.parametrize("method", ["task.update", "contact.update"])
def test_sync_writes_are_silent(session: Session, method: str) -> None:
    """<method>.md: silent=1 — no notifications, no actions in the history — 'обязательно
    значение 1 при массовых периодических обновлениях'; a sync is exactly that."""
    bodies = session.recording.of(method)
    assert bodies, f"no {method} was sent" + session.failed()
    loud = [
        body.findtext("task/id") or body.findtext("contact/id")
        for body in bodies
        if body.findtext("silent") != "1"
    ]
    assert loud == [], (
        f"{method} without <silent>1</silent> at the root (ПланФикс_API_{method}.md) for {loud}"
    )


def test_every_login_password_request_carries_the_api_key(session: Session) -> None:
    """ПланФикс_API__Авторизация_по_логину_и_паролю.md: each request carries HTTP Basic
    base64(apiKey + ":") besides the sid in its body."""
    requests = session.legacy.sent()
    assert requests, "nothing was sent in login/password mode" + session.failed()
    expected = "Basic " + base64.b64encode(f"{LEGACY['api_key']}:".encode()).decode()
    wrong = [
        etree.fromstring(r.content).get("method")
        for r in requests
        if r.headers.get("Authorization") != expected
    ]
    assert wrong == [], (
        f"requests without the Basic header of the API key and an empty password: {wrong} "
        "(ПланФикс_API__Авторизация_по_логину_и_паролю.md)"
    )
    without_sid = [
        str(body.get("method"))
        for body in (etree.fromstring(r.content) for r in requests)
        if body.get("method") != "auth.login" and not body.findtext("sid")
    ]
    assert without_sid == []


def test_a_contact_listing_reads_people_and_companies(session: Session) -> None:
    """ПланФикс_API_contact.getList.md: target 'contact' (the default) lists people; companies
    only with target 'company'. A full listing (no filters) must ask for both."""
    full = [body for body in session.recording.of("contact.getList") if body.find("filters") is None]
    assert full, "no full contact listing was sent" + session.failed()
    targets = {(body.findtext("target") or "contact").strip() for body in full}
    assert {"contact", "company"} <= targets, f"a full contact listing asked only for {sorted(targets)}"


@pytest.mark.parametrize("method", ["contact.getList", "contact.get"])
def test_contact_reads_ask_for_the_modification_time(session: Session, method: str) -> None:
    """<method>.md: lastUpdateDate is returned only when asked for in <fields><field>."""
    bodies = session.recording.of(method)
    assert bodies, f"no {method} was sent" + session.failed()
    without = [
        etree.tostring(body, encoding="unicode")
        for body in bodies
        if "lastUpdateDate" not in [(f.text or "").strip() for f in body.findall("fields/field")]
    ]
    assert without == [], f"{method} without fields/field=lastUpdateDate (ПланФикс_API_{method}.md):\n" + (
        "\n".join(without)
    )


@pytest.mark.parametrize(("method", "string_filter"), [("task.getList", "101"), ("contact.getList", "4101")])
def test_marker_lookups_use_the_string_custom_field_filter(
    session: Session, method: str, string_filter: str
) -> None:
    """ПланФикс_API_Фильтры_задач.md: 101 is a string custom field, 107 a handbook field whose
    value is a record id (int); ПланФикс_API_Фильтры_контактов.md: 4101 is a string field.
    A marker is a string."""
    by_field = [
        f
        for body in session.recording.of(method)
        for f in body.findall("filters/filter")
        if f.find("field") is not None
    ]
    assert by_field, f"no custom-field filter in any {method}" + session.failed()
    types = sorted({(f.findtext("type") or "").strip() for f in by_field})
    assert types == [string_filter], (
        f"{method}: marker look-ups use filter types {types}, not {string_filter}"
    )


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class Rule:
    """Values a page allows for the leaves whose path ends with ``suffix`` (in ``methods``)."""

    suffix: str
    allowed: Callable[[str], bool]
    page: str
    methods: tuple[str, ...] = ()

    def applies(self, method: str, path: str) -> bool:
        return path.endswith(self.suffix) and (not self.methods or method in self.methods)


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda v: pattern.match(v) is not None


def _one_of(*values: str) -> Callable[[str], bool]:
    return lambda v: v in values


def _one_of_or_id(*values: str) -> Callable[[str], bool]:
    return lambda v: v in values or v.isdigit()


BOOL = _one_of("0", "1")
TASK_WRITES = ("task.add", "task.update")
DATETYPES = (
    *("today", "yesterday", "tomorrow", "thisweek", "lastweek", "nextweek", "thismonth", "lastmonth"),
    *("nextmonth", "last", "next", "in", "anotherdate", "anotherperiod"),
    *("anotherdate_withtime", "anotherperiod_withtime"),
)
RULES = (
    Rule("request/silent", BOOL, "XML_API_v1.md"),
    Rule("IsSet", BOOL, "ПланФикс_API_task.update.md, ПланФикс_API_Тип_данных_bool.md", TASK_WRITES),
    Rule("/checkResult", BOOL, "ПланФикс_API_Тип_данных_bool.md", TASK_WRITES),
    Rule("/isSummary", BOOL, "ПланФикс_API_task.update.md (bool - 0/1)", TASK_WRITES),
    Rule("/isCompany", BOOL, "ПланФикс_API_contact.add.md", ("contact.add",)),
    Rule("/task/importance", _one_of("AVERAGE", "HIGH"), "ПланФикс_API_Срочность_задачи.md"),
    Rule(
        "/task/status",
        _one_of_or_id("DRAFT", "ACTIVE", "ACCEPTED", "COMPLETED", "DELAYED", "DONE", "CANCELED"),
        "ПланФикс_API_Системные_статусы_задач.md",
        TASK_WRITES,
    ),
    Rule(
        "request/status",
        _one_of_or_id("DRAFT", "ACTIVE", "ACCEPTED", "COMPLETED", "DELAYED", "DONE", "CANCELED"),
        "ПланФикс_API_task.changeStatus.md (REJECTED is not allowed)",
        ("task.changeStatus",),
    ),
    Rule("/startDate", _matches(DATE), "ПланФикс_API_task.update.md (Date)", TASK_WRITES),
    Rule("/endDate", _matches(DATE), "ПланФикс_API_task.update.md (Date)", TASK_WRITES),
    Rule("/startTime", _matches(TIME), "ПланФикс_API_task.update.md (Time)", TASK_WRITES),
    Rule("/endTime", _matches(TIME), "ПланФикс_API_task.update.md (Time)", TASK_WRITES),
    Rule(
        "request/target",
        _one_of_or_id("all", "in", "out", "template", "periodic"),
        "ПланФикс_API_task.getList.md",
        ("task.getList",),
    ),
    Rule(
        "request/target",
        _one_of_or_id("contact", "company", "template"),
        "ПланФикс_API_contact.getList.md",
        ("contact.getList",),
    ),
    Rule(
        "request/sort",
        _one_of(
            *(
                f"{key}_{way}"
                for key in ("NUMBER", "IMPORTANCE", "DEADLINE", "TASKTITLE", "PROJECT")
                for way in ("ASC", "DESC")
            )
        ),
        "ПланФикс_API_Типы_сортировок_задач.md",
        ("task.getList",),
    ),
    Rule("filter/operator", _one_of("equal", "notequal", "gt", "lt"), "ПланФикс_API_Фильтры_задач.md"),
    Rule("filter/value/datetype", _one_of(*DATETYPES), "ПланФикс_API_Фильтры_задач.md"),
    Rule(
        "request/pageSize",
        lambda v: v.isdigit() and int(v) <= 100,
        "ПланФикс_API_task.getList.md (максимум 100)",
    ),
)


def _filter_dates(body: Element) -> Iterator[str]:
    """A date filter's datefrom/dateto must have the format its datetype names."""
    for value in body.findall("filters/filter/value"):
        datetype = (value.findtext("datetype") or "").strip()
        pattern = DATE_TIME if datetype.endswith("_withtime") else DATE
        for tag in ("datefrom", "dateto"):
            text = (value.findtext(tag) or "").strip()
            if value.find(tag) is not None and not pattern.match(text):
                yield f"filters/filter/value/{tag} = {text!r} does not fit datetype {datetype!r}"


def _violations(recording: Recording) -> list[str]:
    found: set[str] = set()
    for body in (etree.fromstring(r.content) for r in recording.sent()):
        method = str(body.get("method"))
        for path, value in _leaves(body):
            for rule in RULES:
                if rule.applies(method, path) and not rule.allowed(value):
                    found.add(f"{method}: {path} = {value!r} is not allowed by {rule.page}")
        found.update(
            f"{method}: {problem} (ПланФикс_API_Фильтры_задач.md)" for problem in _filter_dates(body)
        )
    return sorted(found)


def test_every_value_syncd_sends_is_one_the_pages_allow(session: Session) -> None:
    assert session.recording.sent(), "nothing was sent" + session.failed()
    problems = _violations(session.recording) + _violations(session.legacy)
    assert problems == [], "values the pages do not allow:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------- marker look-ups against the emulator


@pytest.fixture
def recorded(planfix: Planfix) -> Iterator[PlanfixConnectors]:
    pf = recorded_connectors(planfix, Recording())
    yield pf
    pf.close()


def test_a_marker_lookup_finds_only_the_exact_marker(recorded: PlanfixConnectors) -> None:
    """Filters 101/4101 match by 'contains' (the filter pages): a look-up must keep exact matches
    only, or crash recovery links the wrong record."""
    m = Mappers.load()
    short = recorded.tasks.create(m.task(event()), "pme-event-1")
    recorded.tasks.create(m.task(event(key=18, label="Осмотр")), "pme-event-17")
    assert [r.key for r in recorded.tasks.find_by_marker("pme-event-1")] == [short.key]
    person = recorded.contacts.create(m.contact(customer()), "pme-customer-8")
    recorded.contacts.create(m.contact(customer(key=89, email="x@romashka.example")), "pme-customer-88")
    assert [r.key for r in recorded.contacts.find_by_marker("pme-customer-8")] == [person.key]
