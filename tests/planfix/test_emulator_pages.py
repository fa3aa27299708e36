"""The emulator's contacts, filters, auth and silent mode against their method pages.

Each test names the page in ../shared/reference/planfix-docs/ it comes from; every behaviour is
observed over real HTTP with XML as a curl user would write it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from syncd.emulators.common import Stats
from tests.planfix.conftest import Planfix
from tests.planfix.test_emulator import add_task, custom_value, error_code, ids_listed, ok, req

LEGACY = ("demo-key", "")


def add_contact(planfix: Planfix, inner: str) -> str:
    return ok(planfix.raw(req("contact.add", f"<contact>{inner}</contact>"))).findtext("contact/id") or ""


def people_and_companies(planfix: Planfix) -> tuple[str, str]:
    person = add_contact(planfix, "<name>Ольга</name><lastName>Попова</lastName>")
    company = add_contact(planfix, "<name>ООО «Ромашка»</name><isCompany>1</isCompany>")
    return person, company


def a_filter(kind: str, field: str, value: str, operator: str = "equal") -> str:
    inner = f"<type>{kind}</type><operator>{operator}</operator><value>{value}</value><field>{field}</field>"
    return f"<filters><filter>{inner}</filter></filters>"


# ---------------------------------------------------------------- contacts


def test_get_list_lists_people_by_default_and_companies_on_request(planfix: Planfix) -> None:
    """ПланФикс_API_contact.getList.md: target = contact (the default), company, template."""
    person, company = people_and_companies(planfix)
    assert ids_listed(planfix, "contact.getList", "") == [person]
    assert ids_listed(planfix, "contact.getList", "<target>contact</target>") == [person]
    assert ids_listed(planfix, "contact.getList", "<target>company</target>") == [company]
    assert ids_listed(planfix, "contact.getList", "<target>template</target>") == []
    assert error_code(planfix.raw(req("contact.getList", "<target>all</target>"))) == "0015"


def test_get_list_by_company_lists_its_people(planfix: Planfix) -> None:
    """ПланФикс_API_contact.getList.md: <company> limits the list to that company's contacts."""
    planfix.seed(contacts=30, seed=5)
    linked = [c for c in planfix.records("contacts") if c["contractors"]]
    company = linked[0]["contractors"][0]["id"]
    expected = [c["id"] for c in linked if company in {link["id"] for link in c["contractors"]}]
    assert (
        ids_listed(planfix, "contact.getList", f"<company>{company}</company><pageSize>100</pageSize>")
        == expected
    )


def test_a_company_is_named_by_name_and_company_name_is_no_field(planfix: Planfix) -> None:
    """ПланФикс_API_contact.add.md: a company is isCompany = 1 with its name in ``name``;
    there is no companyName parameter (it is ignored, and never returned)."""
    company = add_contact(
        planfix, "<name>Acme S.L.</name><isCompany>1</isCompany><companyName>Other</companyName>"
    )
    reply = ok(planfix.raw(req("contact.get", f"<contact><id>{company}</id></contact>")))
    assert (reply.findtext("contact/name"), reply.find("contact/companyName")) == ("Acme S.L.", None)
    assert reply.findtext("contact/isCompany") in ("1", "true")


def test_update_is_partial_and_cannot_change_is_company(planfix: Planfix) -> None:
    """ПланФикс_API_contact.update.md: only what is given changes (the page says nothing of defaults);
    isCompany is no parameter of contact.update."""
    person = add_contact(
        planfix, "<name>Ольга</name><email>o@example.com</email>" + custom_value("202", "C-1")
    )
    update = f"<contact><id>{person}</id><lastName>Попова</lastName><isCompany>1</isCompany></contact>"
    ok(planfix.raw(req("contact.update", update)))
    record = planfix.records("contacts")[0]
    assert (record["name"], record["lastName"], record["email"], record["isCompany"]) == (
        "Ольга",
        "Попова",
        "o@example.com",
        "0",
    )
    assert {"field": {"id": "202", "name": "Customer number"}, "value": "C-1", "text": "C-1"} in record[
        "customData"
    ]


@pytest.mark.parametrize("method", ["contact.getList", "contact.get"])
def test_last_update_date_only_when_asked(planfix: Planfix, method: str) -> None:
    """ПланФикс_API_contact.getList.md, ПланФикс_API_contact.get.md: lastUpdateDate (and
    lastCommentDate) are added to the contact only when <fields><field> asks for them."""
    person = add_contact(planfix, "<name>Ольга</name>")
    body = f"<contact><id>{person}</id></contact>" if method == "contact.get" else ""
    path = "contact" if method == "contact.get" else "contacts/contact"
    plain = ok(planfix.raw(req(method, body))).find(path)
    assert (
        plain is not None and plain.find("lastUpdateDate") is None and plain.find("lastCommentDate") is None
    )
    asked = body + "<fields><field>lastUpdateDate</field></fields>"
    contact = ok(planfix.raw(req(method, asked))).find(path)
    assert contact is not None and contact.find("lastCommentDate") is None
    assert re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d", contact.findtext("lastUpdateDate") or "")
    both = body + "<fields><field>lastUpdateDate</field><field>lastCommentDate</field></fields>"
    contact = ok(planfix.raw(req(method, both))).find(path)
    assert contact is not None and contact.find("lastCommentDate") is not None
    bad = body + "<fields><field>everything</field></fields>"
    assert error_code(planfix.raw(req(method, bad))) == "0015"


def test_records_of_contacts_carry_last_update_date(planfix: Planfix) -> None:
    """/_emulator/records/contacts: the contact.get card with lastUpdateDate, without companyName."""
    people_and_companies(planfix)
    records = planfix.records("contacts")
    assert all(r["lastUpdateDate"] and "companyName" not in r for r in records)
    assert sorted(r["isCompany"] for r in records) == ["0", "1"]


# ---------------------------------------------------------------- filters


def test_task_string_filter_101_matches_by_contains(planfix: Planfix) -> None:
    """ПланФикс_API_Фильтры_задач.md: 101 (String field) — equal is "contains", notequal "does not"."""
    exact = add_task(planfix, "<title>a</title>" + custom_value("101", "E-7"))
    longer = add_task(planfix, "<title>b</title>" + custom_value("101", "E-77"))
    other = add_task(planfix, "<title>c</title>" + custom_value("101", "X-1"))
    assert ids_listed(planfix, "task.getList", a_filter("101", "101", "E-7")) == [exact, longer]
    assert ids_listed(planfix, "task.getList", a_filter("101", "101", "e-7")) == [exact, longer]
    assert ids_listed(planfix, "task.getList", a_filter("101", "101", "E-7", "notequal")) == [other]


def test_task_handbook_filter_107_takes_a_record_id(planfix: Planfix) -> None:
    """ПланФикс_API_Фильтры_задач.md: 107 (Handbook field) — value is an integer record id."""
    boiler = add_task(planfix, "<title>a</title>" + custom_value("104", "1"))
    add_task(planfix, "<title>b</title>" + custom_value("104", "2"))
    assert ids_listed(planfix, "task.getList", a_filter("107", "104", "1")) == [boiler]
    assert error_code(planfix.raw(req("task.getList", a_filter("107", "104", "abc")))) == "0015"
    assert error_code(planfix.raw(req("task.getList", a_filter("107", "104", "1", "gt")))) == "0015"


@pytest.mark.parametrize(
    ("kind", "field"),
    [("107", "101"), ("101", "104"), ("102", "101"), ("106", "103"), ("101", "999"), ("4101", "101")],
)
def test_a_filter_on_a_field_of_another_type_is_refused(planfix: Planfix, kind: str, field: str) -> None:
    """ПланФикс_API_Фильтры_задач.md: each custom-field filter type is for fields of one type."""
    assert error_code(planfix.raw(req("task.getList", a_filter(kind, field, "1")))) == "0015"


def test_task_number_filter_102_compares_numbers(planfix: Planfix) -> None:
    """ПланФикс_API_Фильтры_задач.md: 102 (Number field) with equal, notequal, gt, lt."""
    small = add_task(planfix, "<title>a</title>" + custom_value("103", "1500"))
    big = add_task(planfix, "<title>b</title>" + custom_value("103", "18000"))
    assert ids_listed(planfix, "task.getList", a_filter("102", "103", "2000", "gt")) == [big]
    assert ids_listed(planfix, "task.getList", a_filter("102", "103", "2000", "lt")) == [small]
    assert error_code(planfix.raw(req("task.getList", a_filter("102", "103", "many")))) == "0015"


def test_contact_string_filter_4101_matches_by_contains(planfix: Planfix) -> None:
    """ПланФикс_API_Фильтры_контактов.md: 4101 (String field) — "contains"; 4107 needs a handbook."""
    exact = add_contact(planfix, "<name>a</name>" + custom_value("201", "K-1"))
    longer = add_contact(planfix, "<name>b</name>" + custom_value("201", "K-10"))
    assert ids_listed(planfix, "contact.getList", a_filter("4101", "201", "K-1")) == [exact, longer]
    assert ids_listed(planfix, "contact.getList", a_filter("4101", "201", "K-10")) == [longer]
    assert error_code(planfix.raw(req("contact.getList", a_filter("4107", "201", "1")))) == "0015"


# ---------------------------------------------------------------- legacy auth


def legacy_sid(planfix: Planfix) -> str:
    login = req("auth.login", "<login>demo</login><password>demo</password>")
    return ok(planfix.raw(login, auth=LEGACY)).findtext("sid") or ""


def test_legacy_calls_need_the_basic_api_key_header(planfix: Planfix) -> None:
    """ПланФикс_API__Авторизация_по_логину_и_паролю.md: every request, auth.login included,
    carries Basic base64(apiKey + ":") besides <sid>."""
    login = req("auth.login", "<login>demo</login><password>demo</password>")
    assert error_code(planfix.raw(login, auth=None)) == "0001"
    assert error_code(planfix.raw(login, auth=("wrong-key", ""))) == "0001"
    sid = legacy_sid(planfix)
    call = req("task.getList", f"<sid>{sid}</sid>")
    assert error_code(planfix.raw(call, auth=None)) == "0001"
    assert error_code(planfix.raw(call, auth=("wrong-key", ""))) == "0001"
    assert error_code(planfix.raw(call, auth=("demo-key", "demo-token"))) == "0012"
    assert ok(planfix.raw(call, auth=LEGACY)).find("tasks") is not None


def test_legacy_wrong_login_or_password_is_1001(planfix: Planfix) -> None:
    """Коды ошибок (planfix-xml-api.md table): 1001 wrong login or password."""
    for login, password in (("demo", "nope"), ("nobody", "demo")):
        body = req("auth.login", f"<login>{login}</login><password>{password}</password>")
        assert error_code(planfix.raw(body, auth=LEGACY)) == "1001"


# ---------------------------------------------------------------- silent and notifications


def test_a_write_without_silent_is_a_notification(planfix: Planfix) -> None:
    """XML_API_v1.md "Режим без уведомлений", task.update.md, contact.update.md: <silent>1</silent>
    at the request root of any request; without it a write notifies people."""
    task_id = add_task(planfix, "<title>t</title>")
    assert planfix.stats()["notifications"] == 1
    ok(planfix.raw(req("task.update", f"<silent>1</silent><task><id>{task_id}</id><title>a</title></task>")))
    ok(planfix.raw(req("task.getList", "<silent>1</silent>")))
    ok(planfix.raw(req("task.getList")))
    assert planfix.stats()["notifications"] == 1, "silent writes and reads notify nobody"
    ok(planfix.raw(req("task.update", f"<task><id>{task_id}</id><title>b</title></task>")))
    ok(planfix.raw(req("task.update", f"<silent>0</silent><task><id>{task_id}</id><title>c</title></task>")))
    contact = add_contact(planfix, "<name>c</name>")
    ok(planfix.raw(req("contact.update", f"<contact><id>{contact}</id><name>d</name></contact>")))
    assert planfix.stats()["notifications"] == 5
    refused = req("task.update", "<task><id>1</id><title>x</title></task>")
    assert error_code(planfix.raw(refused)) == "3001"
    assert planfix.stats()["notifications"] == 5, "a refused write notifies nobody"
    assert error_code(planfix.raw(req("task.getList", "<silent>maybe</silent>"))) == "0015"


def test_silent_is_accepted_on_every_method(start_planfix: Callable[..., Planfix]) -> None:
    """XML_API_v1.md: "В корень любого запроса возможно добавить параметр <silent>1</silent>"."""
    planfix = start_planfix()
    sid = legacy_sid(planfix)
    task_id = add_task(planfix, "<title>t</title>")
    contact = add_contact(planfix, "<name>c</name>")
    bodies = [
        ("task.get", f"<task><id>{task_id}</id></task>"),
        ("task.getMulti", f"<tasks><id>{task_id}</id></tasks>"),
        ("task.changeStatus", f"<task><id>{task_id}</id></task><status>2</status>"),
        ("task.updateCustomData", f"<task><id>{task_id}</id>{custom_value('102', 'x')}</task>"),
        ("contact.get", f"<contact><id>{contact}</id></contact>"),
        ("contact.getList", ""),
        ("contact.delete", f"<contact><id>{contact}</id></contact>"),
    ]
    before = planfix.stats()["notifications"]
    for method, inner in bodies:
        ok(planfix.raw(req(method, "<silent>1</silent>" + inner)))
    ok(planfix.raw(req("task.getList", f"<sid>{sid}</sid><silent>1</silent>"), auth=LEGACY))
    assert planfix.stats()["notifications"] == before


def test_stats_report_notifications_for_planningpme_too() -> None:
    """The shared Stats keep PlanningPME's JSON working: notifications is reported as 0 there."""
    stats = Stats()
    stats.count("GET /api/customer", write=False)
    assert stats.as_json() == {
        "total": 1,
        "writes": 0,
        "notifications": 0,
        "by_method": {"GET /api/customer": 1},
    }
