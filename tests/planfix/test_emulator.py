"""The Planfix emulator over real HTTP, driven with hand-written XML as a curl user would."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest
from lxml import etree

from tests.planfix.conftest import FakeClock, Planfix


def req(method: str, inner: str = "", account: str = "demo") -> str:
    return f'<request method="{method}"><account>{account}</account>{inner}</request>'


def ok(response: httpx.Response) -> etree._Element:
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    assert root.get("status") == "ok", response.text
    return root


def error_code(response: httpx.Response) -> str:
    assert response.status_code == 200, "Planfix errors come with HTTP 200"
    root = etree.fromstring(response.content)
    assert root.get("status") == "error", response.text
    return root.findtext("code") or ""


def is_a_reply(body: bytes) -> bool:
    try:
        return etree.fromstring(body).tag == "response"
    except etree.XMLSyntaxError:
        return False


def add_task(planfix: Planfix, inner: str) -> str:
    return ok(planfix.raw(req("task.add", f"<task>{inner}</task>"))).findtext("task/id") or ""


def get_task(planfix: Planfix, task_id: str) -> dict[str, object]:
    return next(t for t in planfix.records("tasks") if t["id"] == task_id)


# ---------------------------------------------------------------- envelope and auth


def test_credentials_and_account_errors(planfix: Planfix) -> None:
    body = req("task.getList")
    assert error_code(planfix.raw(body, auth=None)) == "0012"
    assert error_code(planfix.raw(body, auth=("wrong-key", "demo-token"))) == "0001"
    assert error_code(planfix.raw(body, auth=("demo-key", "wrong-token"))) == "0012"
    assert error_code(planfix.raw(req("task.getList", account="other"))) == "0004"
    bad_basic = planfix.http.post("/xml/", content=body, headers={"Authorization": "Basic !!!"})
    assert error_code(bad_basic) == "0012"
    assert ok(planfix.raw(body)).find("tasks") is not None


def test_a_basic_header_built_by_hand_is_accepted(planfix: Planfix) -> None:
    token = base64.b64encode(b"demo-key:demo-token").decode()
    response = planfix.http.post(
        "/xml/", content=req("task.getList"), headers={"Authorization": f"Basic {token}"}
    )
    assert ok(response).find("tasks") is not None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not xml at all", "0003"),
        ("<other/>", "0003"),
        ('<!DOCTYPE r [<!ENTITY x "y">]><request method="task.get"><account>&x;</account></request>', "0003"),
        (req("task.delete", "<task><id>1</id></task>"), "0008"),
        (req("task.explode"), "0008"),
        (req("task.getList", "<pageSize>101</pageSize>"), "0021"),
        (req("task.getList", "<pageCurrent>0</pageCurrent>"), "0015"),
        (req("task.getMulti", "<tasks>" + "<id>1</id>" * 101 + "</tasks>"), "0021"),
        (req("task.add", "<task><description>no title</description></task>"), "0009"),
        (req("task.get", "<task><id>42</id></task>"), "3001"),
        (req("contact.get", "<contact><id>42</id></contact>"), "8002"),
        (req("contact.add", "<contact><email>not-an-address</email></contact>"), "8010"),
        (req("task.getList", "<filters><filter><type>1</type></filter></filters>"), "0015"),
    ],
)
def test_request_errors(planfix: Planfix, body: str, code: str) -> None:
    assert error_code(planfix.raw(body)) == code


def test_legacy_login_gives_a_session_that_expires(start_planfix: Callable[..., Planfix]) -> None:
    """ПланФикс_API__Авторизация_по_логину_и_паролю.md: the session lives an hour (here: sid_ttl)."""
    clock = FakeClock()
    planfix = start_planfix(clock=clock, sid_ttl=60)
    legacy = ("demo-key", "")
    wrong = req("auth.login", "<login>demo</login><password>nope</password>")
    assert error_code(planfix.raw(wrong, auth=legacy)) == "1001"
    login = req("auth.login", "<login>demo</login><password>demo</password>")
    sid = ok(planfix.raw(login, auth=legacy)).findtext("sid") or ""
    assert len(sid) == 32
    with_sid = req("task.getList", f"<sid>{sid}</sid>")
    assert ok(planfix.raw(with_sid, auth=legacy)).find("tasks") is not None
    clock.advance(61)
    assert error_code(planfix.raw(with_sid, auth=legacy)) == "0005"
    assert error_code(planfix.raw(req("task.getList", "<sid>made-up</sid>"), auth=legacy)) == "0005"


# ---------------------------------------------------------------- tasks


def test_a_refused_add_writes_nothing(planfix: Planfix) -> None:
    body = req(
        "task.add", "<task><title>t</title><workers><users><id>1</id><id>99</id></users></workers></task>"
    )
    assert error_code(planfix.raw(body)) == "0015"
    assert planfix.records("tasks") == []


def test_update_resets_what_it_is_not_given(planfix: Planfix) -> None:
    """ПланФикс_API_task.update.md: parameters not given (except id) are replaced with defaults."""
    task_id = add_task(
        planfix,
        "<title>t</title><description>d</description><importance>HIGH</importance>"
        "<startDate>01-12-2026</startDate><startTime>09:30</startTime><workers><users><id>2</id></users></workers>"
        "<customData><customValue><id>101</id><value>E-1</value></customValue></customData>",
    )
    before = get_task(planfix, task_id)
    assert (before["startTime"], before["description"]) == ("01-12-2026 09:30", "d")
    ok(planfix.raw(req("task.update", f"<task><id>{task_id}</id><title>new</title></task>")))
    after = get_task(planfix, task_id)
    assert (after["title"], after["importance"], after["description"], after["startTime"]) == (
        "new",
        "AVERAGE",
        "",
        "",
    )
    assert after["workers"] == {"users": [], "groups": []}
    assert all(value["value"] == "" for value in after["customData"])  # type: ignore[union-attr]


def test_update_without_resets_keeps_fields(start_planfix: Callable[..., Planfix]) -> None:
    """The explicit lenient option (update_resets=False, --no-update-resets) keeps what is not given."""
    planfix = start_planfix(update_resets=False)
    task_id = add_task(
        planfix, "<title>t</title><description>d</description><startDate>01-12-2026</startDate>"
    )
    ok(planfix.raw(req("task.update", f"<task><id>{task_id}</id><title>new</title></task>")))
    after = get_task(planfix, task_id)
    assert (after["title"], after["description"], after["startTime"]) == ("new", "d", "01-12-2026")


def test_workers_bare_ids_and_add_del_users(planfix: Planfix) -> None:
    task_id = add_task(planfix, "<title>t</title><workers><users><id>3</id><id>1</id></users></workers>")
    assert [u["id"] for u in get_task(planfix, task_id)["workers"]["users"]] == ["1", "3"]  # type: ignore[index]
    patch = "<workers><addUsers><id>5</id></addUsers><delUsers><id>1</id></delUsers></workers>"
    ok(planfix.raw(req("task.update", f"<task><id>{task_id}</id>{patch}</task>")))
    assert [u["id"] for u in get_task(planfix, task_id)["workers"]["users"]] == ["3", "5"]  # type: ignore[index]


def test_change_status_by_id_and_by_name(planfix: Planfix) -> None:
    task_id = add_task(planfix, "<title>t</title>")
    ok(planfix.raw(req("task.changeStatus", f"<task><id>{task_id}</id></task><status>CANCELED</status>")))
    assert get_task(planfix, task_id)["status"] == "4"
    ok(planfix.raw(req("task.changeStatus", f"<task><id>{task_id}</id></task><status>2</status>")))
    assert get_task(planfix, task_id)["status"] == "2"
    assert error_code(
        planfix.raw(req("task.changeStatus", f"<task><id>{task_id}</id></task><status>77</status>"))
    )


def since_filter(operator: str, datefrom: str) -> str:
    value = f"<value><datetype>anotherdate_withtime</datetype><datefrom>{datefrom}</datefrom></value>"
    return f"<filters><filter><type>38</type><operator>{operator}</operator>{value}</filter></filters>"


def custom_filter(kind: str, field: str, value: str) -> str:
    inner = f"<type>{kind}</type><operator>equal</operator><value>{value}</value><field>{field}</field>"
    return f"<filters><filter>{inner}</filter></filters>"


def custom_value(field: str, value: str) -> str:
    return f"<customData><customValue><id>{field}</id><value>{value}</value></customValue></customData>"


def ids_listed(planfix: Planfix, method: str, inner: str) -> list[str]:
    item = "tasks/task" if method.startswith("task") else "contacts/contact"
    return [el.findtext("id") or "" for el in ok(planfix.raw(req(method, inner))).findall(item)]


def test_modified_since_compares_whole_minutes(start_planfix: Callable[..., Planfix]) -> None:
    clock = FakeClock()
    planfix = start_planfix(clock=clock, reply_shape="plain")
    clock.set_local(datetime(2026, 11, 21, 14, 5, 30))
    task_id = add_task(planfix, "<title>at 14:05:30</title>")

    def listed(operator: str, datefrom: str) -> list[str]:
        return ids_listed(planfix, "task.getList", since_filter(operator, datefrom))

    assert listed("gt", "21-11-2026 14:04") == [task_id]
    assert listed("gt", "21-11-2026 14:05") == [task_id], "the datefrom minute itself is included"
    assert listed("gt", "21-11-2026 14:06") == []
    assert listed("lt", "21-11-2026 14:05") == []
    assert listed("lt", "21-11-2026 14:06") == [task_id]
    assert listed("equal", "21-11-2026 14:05") == [task_id]
    assert error_code(planfix.raw(req("task.getList", since_filter("gt", "yesterday")))) == "0015"


def test_custom_field_filters(planfix: Planfix) -> None:
    wanted = add_task(planfix, "<title>a</title>" + custom_value("101", "E-7"))
    add_task(planfix, "<title>b</title>")
    assert ids_listed(planfix, "task.getList", custom_filter("101", "101", "E-7")) == [wanted]
    added = ok(
        planfix.raw(req("contact.add", "<contact><name>c</name>" + custom_value("201", "K-1") + "</contact>"))
    )
    contact_id = added.findtext("contact/id")
    assert ids_listed(planfix, "contact.getList", custom_filter("4101", "201", "K-1")) == [contact_id]
    assert ids_listed(planfix, "contact.getList", custom_filter("4101", "201", "K-2")) == []


def test_pages_report_count_and_total(planfix: Planfix) -> None:
    planfix.seed(tasks=130)
    pages = [
        ok(planfix.raw(req("task.getList", f"<pageCurrent>{n}</pageCurrent><pageSize>100</pageSize>"))).find(
            "tasks"
        )
        for n in (1, 2)
    ]
    first, second = pages
    assert first is not None and second is not None
    assert (first.get("count"), first.get("totalCount"), second.get("count")) == ("100", "130", "30")
    ids = [t.findtext("id") for t in [*first.findall("task"), *second.findall("task")]]
    assert len(set(ids)) == 130


def test_reply_shapes(start_planfix: Callable[..., Planfix]) -> None:
    """Both shapes carry task.get.md's startTime/endTime DateTime; wild drops the declaration."""
    inner = (
        "<title>t</title><startDate>01-12-2026</startDate><startTime>09:30</startTime>"
        "<endDate>02-12-2026</endDate>"
    )
    plain = start_planfix(reply_shape="plain")
    task_id = add_task(plain, inner)
    body = plain.raw(req("task.get", f"<task><id>{task_id}</id></task>")).content
    assert body.startswith(b"<?xml")
    task = etree.fromstring(body).find("task")
    assert task is not None
    assert (task.findtext("startTime"), task.findtext("endTime"), task.findtext("client/id")) == (
        "01-12-2026 09:30",
        "02-12-2026",
        "0",
    )
    assert task.find("startDate") is None and task.find("endDate") is None
    wild = start_planfix(reply_shape="wild")
    task_id = add_task(wild, inner)
    body = wild.raw(req("task.get", f"<task><id>{task_id}</id></task>")).content
    assert not body.startswith(b"<?xml")
    task = etree.fromstring(body).find("task")
    assert task is not None
    assert task.find("startDate") is None
    assert (task.findtext("startTime"), task.findtext("endTime"), task.findtext("checkResult")) == (
        "01-12-2026 09:30",
        "02-12-2026",
        "false",
    )


# ---------------------------------------------------------------- contacts


def test_contact_lifecycle(planfix: Planfix) -> None:
    added = ok(
        planfix.raw(
            req(
                "contact.add",
                "<contact><name>Ана</name><email>a@example.com</email>"
                "<phones><phone><number>+34 1</number><typeId>2</typeId></phone></phones></contact>",
            )
        )
    )
    contact_id = added.findtext("contact/id")
    assert added.findtext("contact/userid") and added.findtext("contact/general")
    ok(
        planfix.raw(
            req("contact.update", f"<contact><id>{contact_id}</id><lastName>López</lastName></contact>")
        )
    )
    record = planfix.records("contacts")[0]
    assert (record["name"], record["lastName"], record["email"]) == ("Ана", "López", "a@example.com")
    assert record["phones"] == [{"number": "+34 1", "typeId": "2", "typeName": "Mobile"}]
    ok(planfix.raw(req("contact.delete", f"<contact><id>{contact_id}</id></contact>")))
    assert error_code(planfix.raw(req("contact.get", f"<contact><id>{contact_id}</id></contact>"))) == "8002"


# ---------------------------------------------------------------- limits


def test_rate_reject_mode(start_planfix: Callable[..., Planfix]) -> None:
    clock = FakeClock()
    planfix = start_planfix(clock=clock, rate=1, over_rate="reject")
    ok(planfix.raw(req("task.getList")))
    over = planfix.raw(req("task.getList"))
    # Undocumented on the real service; never 0007, which is the daily limit (planfix-xml-api.md).
    assert (over.status_code, over.headers["Retry-After"]) == (429, "1")
    clock.advance(1.0)
    ok(planfix.raw(req("task.getList")))


def test_rate_delay_mode_answers_everything(start_planfix: Callable[..., Planfix]) -> None:
    planfix = start_planfix(rate=50, over_rate="delay")
    for _ in range(55):
        ok(planfix.raw(req("task.getList")))


def test_daily_quota_and_its_coarse_header(start_planfix: Callable[..., Planfix]) -> None:
    clock = FakeClock()
    planfix = start_planfix(clock=clock, daily_quota=3, quota_refresh=600)
    first = planfix.raw(req("task.getList"))
    assert first.headers["X-RateLimit-Remaining"] == "2"
    assert planfix.raw(req("task.getList")).headers["X-RateLimit-Remaining"] == "2", "not refreshed yet"
    clock.advance(600)
    assert planfix.raw(req("task.getList")).headers["X-RateLimit-Remaining"] == "0"
    over = planfix.raw(req("task.getList"))
    assert error_code(over) == "0007"
    assert "daily" in (etree.fromstring(over.content).findtext("message") or "")


# ---------------------------------------------------------------- control API


def test_stats_count_api_methods_only(planfix: Planfix) -> None:
    add_task(planfix, "<title>t</title>")
    planfix.raw(req("task.getList"))
    planfix.raw(req("task.getList"))
    planfix.records("tasks")
    planfix.seed(tasks=1)
    assert planfix.stats() == {
        "total": 3,
        "writes": 1,
        "notifications": 1,
        "by_method": {"task.add": 1, "task.getList": 2},
    }
    planfix.control("POST", "stats/reset")
    assert planfix.stats()["total"] == 0


def test_seed_is_realistic_and_deterministic(start_planfix: Callable[..., Planfix]) -> None:
    # A clock that stands still: seeded modification times count back from "now", and a real
    # clock crossing a minute between the two seeds would change them.
    planfix = start_planfix(clock=FakeClock())
    planfix.seed(tasks=40, contacts=12, seed=3)
    tasks, contacts = planfix.records("tasks"), planfix.records("contacts")
    planfix.control("POST", "reset")
    planfix.seed(tasks=40, contacts=12, seed=3)
    assert (planfix.records("tasks"), planfix.records("contacts")) == (tasks, contacts)
    contact_ids = {c["id"] for c in contacts}
    assert {t["client"]["id"] for t in tasks} <= contact_ids | {"0"}
    assert {u["id"] for t in tasks for u in t["workers"]["users"]} <= {"1", "2", "3", "4", "5"}
    assert len({t["status"] for t in tasks}) >= 4
    assert any(re.search("[а-я]", t["title"]) for t in tasks) and any(
        re.search("[a-z]", t["title"]) for t in tasks
    )
    assert any("<" in t["description"] for t in tasks) and any(t["description"] == "" for t in tasks)
    assert any(t["startTime"] == "" for t in tasks) and any(c["email"] == "" for c in contacts)
    assert any(c["isCompany"] == "1" and c["name"] for c in contacts)
    assert any(c["isCompany"] == "0" for c in contacts)


def test_seed_and_records_refuse_bad_input(planfix: Planfix) -> None:
    assert planfix.http.post("/_emulator/seed", json={"tasks": "many"}).status_code == 400
    assert planfix.http.post("/_emulator/seed", json={"events": 1}).status_code == 400
    assert planfix.http.get("/_emulator/records/events").status_code == 404


def test_injected_faults(planfix: Planfix) -> None:
    planfix.faults(fail_next=1, error="3014")
    assert error_code(planfix.raw(req("task.getList"))) == "3014"
    planfix.faults(fail_next=1, error=503)
    assert planfix.raw(req("task.getList")).status_code == 503
    planfix.faults(malformed_next=3)
    for _ in range(3):
        assert not is_a_reply(planfix.raw(req("task.getList")).content)
    planfix.faults(drop_next=1)
    with pytest.raises(httpx.HTTPError):
        planfix.raw(req("task.getList"))
    planfix.faults(unauthorized_next=1)
    assert error_code(planfix.raw(req("task.getList"))) == "0012"
    ok(planfix.raw(req("task.getList")))
    planfix.control("DELETE", "faults")


# ---------------------------------------------------------------- CLI


def test_the_cli_serves_until_terminated() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "syncd", "emulate", "planfix", "--port", "0", "--seed", "3", "--rate", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)/xml/", first)
        assert match, first + (process.stderr.read() if process.poll() is not None and process.stderr else "")
        banner = "".join(process.stdout.readline() for _ in range(4))
        assert "demo-key" in banner and "demo-token" in banner
        with httpx.Client(base_url=match[1], timeout=10) as http:
            body = req("task.getList")
            reply = etree.fromstring(
                http.post("/xml/", content=body, auth=("demo-key", "demo-token")).content
            )
            assert reply.find("tasks") is not None and reply.find("tasks").get("totalCount") == "3"  # type: ignore[union-attr]
            assert http.get("/_emulator/stats").json()["by_method"] == {"task.getList": 1}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_cli_refuses_a_bad_zone() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "emulate", "planfix", "--timezone", "Mars/Olympus"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "Mars/Olympus" in result.stderr and "Traceback" not in result.stderr
