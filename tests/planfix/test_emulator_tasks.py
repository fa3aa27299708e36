"""The emulator's task methods against their method pages (../shared/reference/planfix-docs/).

Each test names the page it comes from; every behaviour is observed over real HTTP with XML as a
curl user would write it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from lxml import etree

from syncd.emulators.planfix import _config_from_args, add_options
from tests.planfix.conftest import FakeClock, Planfix
from tests.planfix.test_emulator import add_task, error_code, get_task, ok, req

RICH = (
    "<title>Монтаж котла</title><description>&lt;p&gt;подробно&lt;/p&gt;</description>"
    "<importance>HIGH</importance><status>2</status><statusSet>2</statusSet><checkResult>1</checkResult>"
    "<owner><id>3</id></owner><project><id>2</id></project>"
    "<startDateIsSet>1</startDateIsSet><startDate>01-12-2026</startDate>"
    "<startTimeIsSet>1</startTimeIsSet><startTime>09:30</startTime>"
    "<endDateIsSet>1</endDateIsSet><endDate>03-12-2026</endDate><endTimeIsSet>0</endTimeIsSet>"
    "<isSummary>1</isSummary><durationIsSet>1</durationIsSet><duration>90</duration><durationUnit>0</durationUnit>"
    "<workers><users><id>2</id><id>4</id></users><groups><id>1</id></groups></workers>"
    "<members><users><id>5</id></users><groups><id>2</id></groups></members>"
    "<auditors><users><id>1</id></users><groups><id>3</id></groups></auditors>"
    "<customData>"
    "<customValue><id>102</id><value>ул. Ленина, 7</value></customValue>"
    "<customValue><id>103</id><value>18000</value></customValue>"
    "<customValue><id>104</id><value>2</value></customValue>"
    "<customValue><id>105</id><value>31-12-2027</value></customValue>"
    "<customValue><id>106</id><value>Аварийный</value></customValue>"
    "</customData>"
)


def rich_task(planfix: Planfix, extra: str = "") -> str:
    parent = add_task(planfix, "<title>parent</title>")
    return add_task(planfix, RICH + f"<parent><id>{parent}</id></parent>" + extra)


def card(planfix: Planfix, task_id: str) -> etree._Element:
    task = ok(planfix.raw(req("task.get", f"<task><id>{task_id}</id></task>"))).find("task")
    assert task is not None
    return task


def custom(record: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {v["field"]["id"]: (v["value"], v["text"]) for v in record["customData"] if v["value"]}


def ids(people: dict[str, Any]) -> tuple[list[str], list[str]]:
    return [u["id"] for u in people["users"]], [g["id"] for g in people["groups"]]


# ---------------------------------------------------------------- task.add


def test_add_fills_the_services_defaults(start_planfix: Callable[..., Planfix]) -> None:
    """ПланФикс_API_task.add.md: owner defaults to the API user; the process's default status;
    beginDateTime is the creation time (task.get.md), whatever the start."""
    clock = FakeClock()
    planfix = start_planfix(clock=clock)
    clock.set_local(datetime(2026, 11, 21, 14, 5, 30))
    task = get_task(planfix, add_task(planfix, "<title>t</title><startDate>01-12-2026</startDate>"))
    assert (task["status"], task["statusSet"], task["owner"], task["importance"]) == (
        "1",
        "1",
        {"id": "1", "name": "Иван Петров"},
        "AVERAGE",
    )
    assert (task["beginDateTime"], task["startTime"], task["endTime"]) == (
        "21-11-2026 14:05",
        "01-12-2026",
        "",
    )
    assert (task["checkResult"], task["isSummary"], task["duration"], task["type"]) == ("0", "0", "", "task")
    for tag in ("workers", "members", "auditors"):
        assert task[tag] == {"users": [], "groups": []}


def test_add_keeps_every_documented_parameter(planfix: Planfix) -> None:
    """ПланФикс_API_task.add.md: every parameter of the request comes back in the task.get card."""
    task_id = rich_task(planfix)
    task = get_task(planfix, task_id)
    assert (task["title"], task["description"], task["importance"]) == (
        "Монтаж котла",
        "<p>подробно</p>",
        "HIGH",
    )
    assert (task["status"], task["statusSet"], task["checkResult"], task["isSummary"]) == ("2", "2", "1", "1")
    assert task["owner"] == {"id": "3", "name": "Олег Смирнов"}
    assert task["project"] == {"id": "2", "title": "Installations"}
    assert task["parent"]["id"] != "0"
    assert (task["startTime"], task["endTime"]) == ("01-12-2026 09:30", "03-12-2026")
    assert (task["duration"], task["durationUnit"]) == ("90", "0")
    assert ids(task["workers"]) == (["2", "4"], ["1"])
    assert ids(task["members"]) == (["5"], ["2"])
    assert ids(task["auditors"]) == (["1"], ["3"])
    assert task["members"]["groups"] == [{"id": "2", "name": "Сервисная служба"}]
    assert custom(task) == {
        "102": ("ул. Ленина, 7", "ул. Ленина, 7"),
        "103": ("18000", "18000"),
        "104": ("2", "Кондиционер"),
        "105": ("31-12-2027", "31-12-2027"),
        "106": ("Аварийный", "Аварийный"),
    }


@pytest.mark.parametrize(
    ("inner", "code"),
    [
        ("<customData><customValue><id>103</id><value>много</value></customValue></customData>", "0015"),
        ("<customData><customValue><id>104</id><value>99</value></customValue></customData>", "0015"),
        ("<customData><customValue><id>105</id><value>tomorrow</value></customValue></customData>", "0015"),
        ("<customData><customValue><id>106</id><value>Другое</value></customValue></customData>", "0015"),
        ("<statusSet>2</statusSet><status>5</status>", "0015"),
        ("<statusSet>9</statusSet>", "0015"),
        ("<status>REJECTED</status>", "0015"),
        ("<members><groups><id>9</id></groups></members>", "5001"),
        ("<auditors><users><id>99</id></users></auditors>", "0015"),
        ("<project><id>9</id></project>", "3003"),
        ("<parent><id>42</id></parent>", "0015"),
        ("<durationUnit>5</durationUnit><duration>1</duration>", "0015"),
        ("<checkResult>maybe</checkResult>", "0015"),
        ("<startDate>03-12-2026</startDate><endDate>01-12-2026</endDate>", "3006"),
        ("<template>7</template>", "0015"),
    ],
)
def test_add_refuses_what_the_account_cannot_hold(planfix: Planfix, inner: str, code: str) -> None:
    """ПланФикс_API_task.add.md and Коды_ошибок_XML_API_v1.md (3003 project, 3006 start after end,
    5001 group): a refused add writes nothing."""
    assert error_code(planfix.raw(req("task.add", f"<task><title>t</title>{inner}</task>"))) == code
    assert planfix.records("tasks") == []


# ---------------------------------------------------------------- task.update


RESET_EXPECTED = {
    "description": "",
    "importance": "AVERAGE",
    "status": "1",
    "statusSet": "1",
    "checkResult": "0",
    "owner": {"id": "1", "name": "Иван Петров"},
    "parent": {"id": "0"},
    "project": {"id": "0", "title": ""},
    "client": {"id": "0", "name": ""},
    "startTime": "",
    "endTime": "",
    "isSummary": "0",
    "duration": "",
    "workers": {"users": [], "groups": []},
    "members": {"users": [], "groups": []},
    "auditors": {"users": [], "groups": []},
}


def test_update_resets_every_writable_parameter_it_is_not_given(planfix: Planfix) -> None:
    """ПланФикс_API_task.update.md: "Не указанные параметры (за исключением id) заменяются
    значениями по умолчанию" — members, auditors, groups, process, custom values… all of them."""
    client = ok(planfix.raw(req("contact.add", "<contact><name>Client</name></contact>"))).findtext(
        "contact/id"
    )
    task_id = rich_task(planfix, f"<client><id>{client}</id></client>")
    ok(
        planfix.raw(
            req("task.update", f"<silent>1</silent><task><id>{task_id}</id><title>new</title></task>")
        )
    )
    task = get_task(planfix, task_id)
    assert task["title"] == "new"
    assert {key: task[key] for key in RESET_EXPECTED} == RESET_EXPECTED
    assert custom(task) == {}


def test_update_without_members_empties_only_what_is_missing(planfix: Planfix) -> None:
    """ПланФикс_API_task.update.md: workers users given without groups → the worker groups go;
    one custom value given → every other custom value is emptied."""
    task_id = rich_task(planfix)
    inner = (
        f"<id>{task_id}</id><title>t</title><workers><users><id>2</id></users></workers>"
        "<customData><customValue><id>103</id><value>1</value></customValue></customData>"
    )
    ok(planfix.raw(req("task.update", f"<task>{inner}</task>")))
    task = get_task(planfix, task_id)
    assert ids(task["workers"]) == (["2"], [])
    assert task["members"] == task["auditors"] == {"users": [], "groups": []}
    assert custom(task) == {"103": ("1", "1")}


def test_update_with_everything_given_changes_nothing_else(planfix: Planfix) -> None:
    """ПланФикс_API_task.update.md: a full-state update (what a careful client sends) keeps the task."""
    task_id = rich_task(planfix)
    before = get_task(planfix, task_id)
    full = RICH + f"<parent><id>{before['parent']['id']}</id></parent>"
    ok(planfix.raw(req("task.update", f"<silent>1</silent><task><id>{task_id}</id>{full}</task>")))
    assert get_task(planfix, task_id) == before


def test_update_finds_the_task_by_general(planfix: Planfix) -> None:
    """ПланФикс_API_task.update.md: general, when given, is used instead of id."""
    first = add_task(planfix, "<title>first</title>")
    second = add_task(planfix, "<title>second</title>")
    number = get_task(planfix, second)["general"]
    ok(
        planfix.raw(
            req("task.update", f"<task><id>{first}</id><general>{number}</general><title>x</title></task>")
        )
    )
    assert (get_task(planfix, first)["title"], get_task(planfix, second)["title"]) == ("first", "x")


def test_old_style_add_del_users_patch_worker_users_only(planfix: Planfix) -> None:
    """planfix-xml-api.md: older task.update pages change workers with addUsers/delUsers."""
    task_id = add_task(
        planfix, "<title>t</title><workers><users><id>1</id></users><groups><id>1</id></groups></workers>"
    )
    patch = "<workers><addUsers><id>5</id></addUsers><delUsers><id>1</id></delUsers></workers>"
    ok(planfix.raw(req("task.update", f"<task><id>{task_id}</id><title>t</title>{patch}</task>")))
    assert ids(get_task(planfix, task_id)["workers"]) == (["5"], ["1"])


def test_lenient_option_keeps_members_and_custom_values(start_planfix: Callable[..., Planfix]) -> None:
    """The explicit lenient option (update_resets=False, ``--no-update-resets``) is off by default."""
    assert start_planfix().emulator.config.update_resets is True
    planfix = start_planfix(update_resets=False)
    task_id = rich_task(planfix)
    before = get_task(planfix, task_id)
    ok(planfix.raw(req("task.update", f"<task><id>{task_id}</id><title>new</title></task>")))
    after = get_task(planfix, task_id)
    assert after == {**before, "title": "new"}


def test_the_lenient_mode_is_an_explicit_command_line_option() -> None:
    """``syncd emulate planfix --no-update-resets`` is the only way to the lenient task.update."""
    parser = argparse.ArgumentParser()
    add_options(parser)
    assert _config_from_args(parser.parse_args([])).update_resets is True
    assert _config_from_args(parser.parse_args(["--no-update-resets"])).update_resets is False


# ---------------------------------------------------------------- reading


CARD = (
    "id", "general", "title", "description", "importance", "status", "statusSet", "checkResult", "type",
    "owner/id", "owner/name", "parent/id", "template/id", "project/id", "project/title", "client/id",
    "client/name", "beginDateTime", "startTime", "endTime", "duration", "durationUnit", "isSummary",
    "starred", "workers/users/user/id", "workers/users/user/name", "workers/groups/group/id",
    "workers/groups/group/name", "members/users/user/name", "members/groups/group/name",
    "auditors/users/user/name", "auditors/groups/group/name", "customData/customValue/field/id",
    "customData/customValue/field/name", "customData/customValue/value", "customData/customValue/text",
)  # fmt: skip


def test_get_returns_the_documented_card(start_planfix: Callable[..., Planfix]) -> None:
    """ПланФикс_API_task.get.md: the card's elements; no startDate/endDate in the read shape."""
    planfix = start_planfix(reply_shape="plain")
    task = card(planfix, rich_task(planfix))
    missing = [path for path in CARD if task.find(path) is None]
    assert missing == []
    assert task.find("startDate") is None and task.find("endDate") is None
    assert task.findtext("type") == "task"


def test_get_list_leaves_out_members_and_auditors(planfix: Planfix) -> None:
    """ПланФикс_API_task.getList.md: "task.getList не возвращает аудиторов и участников задачи"."""
    rich_task(planfix)
    tasks = ok(planfix.raw(req("task.getList"))).findall("tasks/task")
    assert len(tasks) == 2
    for task in tasks:
        assert task.find("members") is None and task.find("auditors") is None
        assert task.find("workers") is not None
    assert ok(planfix.raw(req("task.getList", "<target>template</target>"))).findall("tasks/task") == []
    assert error_code(planfix.raw(req("task.getList", "<target>everything</target>"))) == "0015"


def test_get_multi_returns_full_cards_by_id_and_number(start_planfix: Callable[..., Planfix]) -> None:
    """ПланФикс_API_task.getMulti.md: ids and generals; each card as task.get gives it."""
    planfix = start_planfix(reply_shape="plain")
    task_id = rich_task(planfix)
    parent = get_task(planfix, task_id)["parent"]["id"]
    number = get_task(planfix, parent)["general"]
    body = f"<tasks><id>{task_id}</id><general>{number}</general><id>999</id></tasks>"
    tasks = ok(planfix.raw(req("task.getMulti", body))).find("tasks")
    assert tasks is not None and tasks.get("count") == "2"
    found = {t.findtext("id"): t for t in tasks.findall("task")}
    assert set(found) == {task_id, parent}
    assert found[task_id].findtext("members/users/user/id") == "5"


def test_records_are_the_task_get_card(planfix: Planfix) -> None:
    """/_emulator/records/tasks gives each task as task.get returns it (members and auditors too)."""
    task_id = rich_task(planfix)
    record = get_task(planfix, task_id)
    assert "startDate" not in record and "members" in record and "auditors" in record
    assert set(record["workers"]) == {"users", "groups"}


# ---------------------------------------------------------------- status and custom data


def test_change_status_stays_inside_the_process(planfix: Planfix) -> None:
    """ПланФикс_API_task.changeStatus.md: REJECTED is not allowed; a status must be one of the
    task's process (taskStatus.getListOfSet)."""
    task_id = add_task(planfix, "<title>t</title><statusSet>2</statusSet>")
    change = "<task><id>{}</id></task><status>{}</status>"
    assert error_code(planfix.raw(req("task.changeStatus", change.format(task_id, "REJECTED")))) == "0015"
    assert error_code(planfix.raw(req("task.changeStatus", change.format(task_id, "DRAFT")))) == "0015"
    ok(planfix.raw(req("task.changeStatus", change.format(task_id, "COMPLETED"))))
    assert get_task(planfix, task_id)["status"] == "3"


def test_update_custom_data_changes_only_the_values_given(planfix: Planfix) -> None:
    """ПланФикс_API_task.updateCustomData.md: only custom values, only those given."""
    task_id = rich_task(planfix)
    value = "<customData><customValue><id>103</id><value>7</value></customValue></customData>"
    ok(planfix.raw(req("task.updateCustomData", f"<task><id>{task_id}</id>{value}</task>")))
    task = get_task(planfix, task_id)
    assert custom(task)["103"] == ("7", "7") and custom(task)["104"] == ("2", "Кондиционер")
    assert ids(task["members"]) == (["5"], ["2"])


# ---------------------------------------------------------------- seed


def test_seed_fills_tasks_and_contacts_richly(start_planfix: Callable[..., Planfix]) -> None:
    """Seeded tasks carry what people fill in (task.get.md card) and contacts include companies
    (contact.getList.md target=company), deterministically for a seed."""
    planfix = start_planfix(clock=FakeClock())
    planfix.seed(tasks=60, contacts=30, seed=5)
    tasks, contacts = planfix.records("tasks"), planfix.records("contacts")
    assert {t["statusSet"] for t in tasks} == {"1", "2"}
    assert any(t["members"]["users"] for t in tasks) and any(t["auditors"]["groups"] for t in tasks)
    assert any(t["workers"]["groups"] for t in tasks)
    assert any(t["parent"]["id"] != "0" for t in tasks) and any(t["isSummary"] == "1" for t in tasks)
    assert any(t["project"]["id"] != "0" for t in tasks) and any(t["duration"] for t in tasks)
    assert any(t["checkResult"] == "1" for t in tasks)
    assert max(len(custom(t)) for t in tasks) >= 3
    assert all(t["beginDateTime"] for t in tasks)
    companies = [c for c in contacts if c["isCompany"] == "1"]
    people = [c for c in contacts if c["isCompany"] == "0"]
    assert companies and people and all(c["name"] and not c["lastName"] for c in companies)
    company_ids = {c["id"] for c in companies}
    linked = [p for p in people if p["contractors"]]
    assert linked and all(link["id"] in company_ids for p in linked for link in p["contractors"])
    planfix.control("POST", "reset")
    planfix.seed(tasks=60, contacts=30, seed=5)
    assert (planfix.records("tasks"), planfix.records("contacts")) == (tasks, contacts)
