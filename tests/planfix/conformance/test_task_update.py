"""``task.update`` as syncd sends it carries every writable parameter of the task it updates.

ПланФикс_API_task.update.md: "Не указанные параметры (за исключением id) заменяются значениями по
умолчанию" — a parameter an update leaves out is reset. So an update that changes only the title
must still send every other writable parameter on the page, with the value the task has now, or
it destroys data on a real account (issue 13, point 1). The task is created in the emulator with
every writable parameter set, read back (task.get, the documented read shape), and then updated
by syncd's real task connector, both when it reads the task itself and when it read it ahead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from lxml import etree

from syncd.connectors.planfix import PlanfixConnectors
from tests.planfix.conformance.exercise import recorded_connectors
from tests.planfix.conformance.pages import Element, Recording, element_paths, load
from tests.planfix.conftest import Planfix

PAGE = "ПланФикс_API_task.update.md"
NEW_TITLE = "Монтаж — перенесён"
LISTS = ("workers", "members", "auditors")
_MOMENT = re.compile(r"^(\d{2}-\d{2}-\d{4})(?:\s+(\d{1,2}:\d{2}))?$")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}$")

PRESENT = object()
"""Expected value of a parameter that must be sent but whose value the read-back does not show."""


def call(planfix: Planfix, method: str, inner: str) -> Element:
    """Call the emulator as a plain client would (token auth); the ok ``<response>``."""
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    body = f'{head}<request method="{method}"><account>demo</account>{inner}</request>'
    response = planfix.raw(body)
    root = etree.fromstring(response.content)
    assert root.get("status") == "ok", f"the emulator refused {method}: {response.text}"
    return root


def rich_task(planfix: Planfix) -> str:
    """A task with every writable parameter of ПланФикс_API_task.add.md set; its id."""
    client = call(
        planfix, "contact.add", "<contact><name>ООО Ромашка</name><isCompany>1</isCompany></contact>"
    )
    parent = call(planfix, "task.add", "<task><title>Объект Calle Mayor 5</title></task>")
    task = f"""<silent>1</silent><task>
      <title>Монтаж — Calle Mayor 5</title><description>Замена фильтра</description>
      <importance>HIGH</importance><status>2</status><statusSet>1</statusSet><checkResult>1</checkResult>
      <owner><id>3</id></owner><parent><id>{parent.findtext("task/id")}</id></parent>
      <project><id>1</id></project><client><id>{client.findtext("contact/id")}</id></client>
      <startDateIsSet>1</startDateIsSet><startDate>23-11-2026</startDate>
      <startTimeIsSet>1</startTimeIsSet><startTime>09:00</startTime>
      <endDateIsSet>1</endDateIsSet><endDate>24-11-2026</endDate>
      <endTimeIsSet>1</endTimeIsSet><endTime>17:30</endTime>
      <isSummary>0</isSummary><duration>8</duration><durationUnit>1</durationUnit><durationIsSet>1</durationIsSet>
      <workers><users><id>2</id><id>4</id></users><groups><id>1</id></groups></workers>
      <members><users><id>5</id></users><groups><id>2</id></groups></members>
      <auditors><users><id>1</id></users><groups><id>1</id></groups></auditors>
      <customData>
        <customValue><id>101</id><value>pme-event-17</value></customValue>
        <customValue><id>102</id><value>Calle Mayor 5, Madrid</value></customValue>
      </customData></task>"""
    return str(call(planfix, "task.add", task).findtext("task/id"))


# ---------------------------------------------------------------- the task as read, as the page's parameters


def _text(el: Element, path: str) -> str:
    return (el.findtext(path) or "").strip()


def _bool(value: str) -> str:
    return "1" if value.lower() in ("1", "true", "yes") else "0"


def _slot(task: Element, prefix: str) -> tuple[str, str]:
    """(date, time) of the start or end: task.get writes it as ``{prefix}Time`` DateTime
    (ПланФикс_API_task.get.md); an older emulator shape with a separate ``{prefix}Date`` is read too."""
    value = _text(task, f"{prefix}Time")
    moment = _MOMENT.match(value)
    if moment:
        return moment.group(1), moment.group(2) or ""
    day = _text(task, f"{prefix}Date")
    return (day, value) if day and _CLOCK.match(value) else (day, "")


def _ids(task: Element, path: str) -> list[str]:
    return sorted({_text(item, "id") for item in task.findall(path)} - {"", "0"})


def expected_update(task: Element) -> dict[str, Any]:
    """Every writable parameter of ПланФикс_API_task.update.md, as the task read back holds it.

    A value is what the update must send; ``PRESENT`` when the read shows no value but the page
    still lists the parameter; lists are sorted ids; custom data is {field id: value}.
    """
    expected: dict[str, Any] = {"title": NEW_TITLE}
    for name in ("description", "importance", "status", "statusSet", "owner/id", "parent/id", "project/id"):
        expected[name] = _text(task, name) if task.find(name) is not None else PRESENT
    expected["client/id"] = _text(task, "client/id") or "0"
    for name in ("checkResult", "isSummary"):
        expected[name] = _bool(_text(task, name)) if task.find(name) is not None else PRESENT
    for prefix in ("start", "end"):
        day, at = _slot(task, prefix)
        expected[f"{prefix}DateIsSet"] = "1" if day else "0"
        expected[f"{prefix}TimeIsSet"] = "1" if at else "0"
        if day:
            expected[f"{prefix}Date"] = day
        if at:
            expected[f"{prefix}Time"] = at
    duration = _text(task, "duration")
    expected["durationIsSet"] = "1" if duration not in ("", "0") else "0"
    if duration not in ("", "0"):
        expected["duration"] = duration
        expected["durationUnit"] = _text(task, "durationUnit") or PRESENT
    for role in LISTS:
        expected[f"{role}/users"] = _ids(task, f"{role}/users/user")
        expected[f"{role}/groups"] = _ids(task, f"{role}/groups/group")
    custom = {
        _text(item, "field/id"): item.findtext("value") or ""
        for item in task.findall("customData/customValue")
        if _text(item, "field/id") and (item.findtext("value") or "")
    }
    if custom:
        expected["customData"] = custom
    return expected


def sent_update(task: Element) -> dict[str, Any]:
    """What a task.update body's ``<task>`` says, keyed like ``expected_update``."""
    sent: dict[str, Any] = {}
    for child in task:
        tag = str(child.tag)
        if tag in LISTS:
            for kind in ("users", "groups"):
                container = child.find(kind)
                if container is not None:
                    sent[f"{tag}/{kind}"] = sorted(_text(c, ".") for c in container.findall("id"))
        elif tag == "customData":
            sent[tag] = {_text(v, "id"): v.findtext("value") or "" for v in child.findall("customValue")}
        elif len(child):
            sent[f"{tag}/id"] = _text(child, "id")
        elif tag not in ("id", "general"):
            sent[tag] = _text(child, ".")
    for name in ("checkResult", "isSummary"):
        if name in sent:
            sent[name] = _bool(sent[name])
    return sent


def page_parameters() -> set[str]:
    """The writable parameters on the page, named as ``expected_update`` names them."""
    paths = {
        p.removeprefix("request/task/")
        for p in element_paths(load("task.update.request.xml"))
        if p.startswith("request/task/")
    }
    references = ("owner", "parent", "project", "client")
    top = {p for p in paths if "/" not in p} - {"id", "general", *LISTS, *references}
    ids = {f"{ref}/id" for ref in references if f"{ref}/id" in paths}
    lists = {f"{role}/{kind}" for role in LISTS for kind in ("users", "groups") if f"{role}/{kind}" in paths}
    return top | ids | lists


def test_the_expected_parameters_are_the_pages() -> None:
    """The parameters checked below are exactly the writable ones the page lists."""
    every = {"customData", "startDate", "startTime", "endDate", "endTime", "duration", "durationUnit"}
    assert page_parameters() == (set(expected_update(etree.Element("task"))) | every)


# ---------------------------------------------------------------- the test


@dataclass
class Updated:
    read: Element
    body: Element


@pytest.fixture(params=["read now", "read ahead"])
def updated(request: pytest.FixtureRequest, planfix: Planfix) -> Iterator[Updated]:
    """A rich task, read back, then retitled by syncd (reading it itself, or in a read-ahead batch)."""
    key = rich_task(planfix)
    read = call(planfix, "task.get", f"<task><id>{key}</id></task>").find("task")
    assert read is not None
    recording = Recording()
    pf: PlanfixConnectors = recorded_connectors(planfix, recording)
    try:
        if request.param == "read ahead":
            other = str(call(planfix, "task.add", "<task><title>Осмотр</title></task>").findtext("task/id"))
            pf.tasks.expect_updates([key, other])
        pf.tasks.update(key, {"title": NEW_TITLE})
    finally:
        pf.close()
    bodies = recording.of("task.update")
    assert len(bodies) == 1, f"expected one task.update, syncd sent {len(bodies)}"
    yield Updated(read, bodies[0])


def test_task_update_carries_every_writable_parameter_as_read(updated: Updated) -> None:
    task = updated.body.find("task")
    assert task is not None
    expected = expected_update(updated.read)
    sent = sent_update(task)
    missing = sorted(name for name in expected if name not in sent)
    if updated.body.findtext("silent") != "1":
        missing.append(
            "silent (1, at the request root: 'обязательно значение 1 при массовых периодических обновлениях')"
        )
    changed: list[str] = []
    for name, value in expected.items():
        if name not in sent or value is PRESENT:
            continue
        if name == "customData":
            changed += [
                f"customData[{field}]: sent {sent[name].get(field)!r}, the task has {held!r}"
                for field, held in value.items()
                if sent[name].get(field) != held
            ]
        elif sent[name] != value:
            changed.append(f"{name}: sent {sent[name]!r}, the task has {value!r}")
    assert (missing, changed) == ([], []), (
        f"task.update must carry every writable parameter of {PAGE} as the task has it (parameters "
        "not given are reset to their defaults); the update changed only the title.\n"
        f"missing: {', '.join(missing) or '-'}\nchanged: " + ("\n  ".join(changed) or "-")
    )
