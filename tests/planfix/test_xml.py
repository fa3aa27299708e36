"""The XML envelope: what we send is escaped, what we accept is whatever a real reply looks like,
and nothing a hostile reply carries (entities, DTDs, truncation) gets through."""

from __future__ import annotations

import pytest
from lxml import etree
from structlog.testing import capture_logs

from syncd.connectors.planfix.contacts import parse_contact
from syncd.connectors.planfix.tasks import parse_task
from syncd.connectors.planfix.xml import build_request, list_page, parse_reply, request_shape
from syncd.errors import ProtocolError


def test_a_request_is_escaped_and_keeps_repeated_tags() -> None:
    body = build_request(
        "task.getMulti",
        "acme",
        [("tasks", [("id", 1), ("id", "2")]), ("title", '<b>A & B</b> "quoted" ]]>')],
        sid="s1",
    )
    root = etree.fromstring(body)
    assert root.get("method") == "task.getMulti"
    assert [child.tag for child in root] == ["account", "sid", "tasks", "title"]
    assert [el.text for el in root.findall("tasks/id")] == ["1", "2"]
    assert root.findtext("title") == '<b>A & B</b> "quoted" ]]>'
    assert b"<b>" not in body


def test_characters_xml_cannot_carry_are_removed_with_a_warning() -> None:
    with capture_logs() as logs:
        body = build_request("task.add", "acme", [("task", [("title", "a\x00b\x0bc\ud800d\r\n")])])
    assert etree.fromstring(body).findtext("task/title") == "abcd\r\n"
    assert logs[0]["event"] == "planfix.xml.characters_removed"
    assert logs[0]["element"] == "request/task/title"
    assert "abcd" not in str(logs)


def test_the_request_shape_names_elements_but_never_values() -> None:
    shape = request_shape([("login", "admin"), ("password", "hunter2"), ("task", [("id", 5), ("id", 6)])])
    assert shape == ["login", "password", "task/id"]


PLAIN_TASK = """<?xml version="1.0" encoding="UTF-8"?>
<response status="ok">
  <task>
    <id>17</id><general>3</general>
    <title>Проверка &amp; ремонт</title>
    <description><![CDATA[<p>Код: <b>45#</b></p>]]></description>
    <importance>HIGH</importance><status>2</status><statusSet>1</statusSet>
    <owner><id>1</id><name>Иван Петров</name></owner>
    <client><id>0</id><name></name></client>
    <project><id>2</id><title>Installations</title></project>
    <beginDateTime>20-11-2026 17:42</beginDateTime>
    <startTime>23-11-2026 09:00</startTime>
    <endTime>24-11-2026</endTime>
    <workers><users>
      <user><id>4</id><name>John Smith</name></user><user><id>2</id><name>María</name></user>
    </users>
      <groups><group><id>9</id><name>Field team</name></group></groups></workers>
    <customData>
      <customValue><field><id>101</id><name>PlanningPME key</name></field>
        <value>E-5</value><text>E-5</text></customValue>
      <customValue><field><id>102</id><name>Site</name></field><value></value><text></text></customValue>
    </customData>
    <someFutureElement attr="x"><nested/></someFutureElement>
  </task>
</response>"""


def test_a_plain_task_reply_becomes_a_native_record() -> None:
    reply = parse_reply(PLAIN_TASK.encode(), method="task.get")
    task_el = reply.root.find("task")
    assert task_el is not None
    assert parse_task(task_el) == {
        "id": "17",
        "general": "3",
        "title": "Проверка & ремонт",
        "description": "<p>Код: <b>45#</b></p>",
        "importance": "HIGH",
        "status": "2",
        "statusSet": "1",
        "checkResult": False,
        "owner": {"id": "1", "name": "Иван Петров"},
        "parent": None,
        "template": None,
        "client": None,
        "project": {"id": "2", "title": "Installations"},
        "startDate": "23-11-2026",
        "startTime": "09:00",
        "endDate": "24-11-2026",
        "endTime": None,
        "isSummary": False,
        "duration": "",
        "durationUnit": "",
        "workers": [{"id": "2", "name": "María"}, {"id": "4", "name": "John Smith"}],
        "workerGroups": [{"id": "9", "name": "Field team"}],
        "customData": {"101": "E-5"},
    }


WILD_TASK = """<response totalCount="1" status="ok"><tasks totalCount="1" count="1"><task>
<id>18</id><title>x</title>
<beginDateTime>05-01-2027 14:30</beginDateTime><startTime>05-01-2027 14:30</startTime>
<endTime>06-01-2027</endTime>
</task></tasks></response>"""


def test_a_wild_task_reply_with_dates_in_start_time_and_missing_elements() -> None:
    reply = parse_reply(WILD_TASK.encode(), method="task.getList")
    page = list_page(reply.root, "tasks", "task", method="task.getList")
    assert page.total == 1
    task = parse_task(page.items[0])
    assert (task["startDate"], task["startTime"], task["endDate"], task["endTime"]) == (
        "05-01-2027",
        "14:30",
        "06-01-2027",
        None,
    )
    assert task["owner"] is None and task["workers"] == [] and task["customData"] == {}
    assert task["description"] == "" and task["importance"] == "AVERAGE" and task["general"] == ""


def test_begin_date_time_is_the_creation_time_never_the_start() -> None:
    """ПланФикс_API_task.get.md: beginDateTime is "время создания задачи"."""
    el = etree.fromstring("<task><id>1</id><beginDateTime>01-02-2027 08:15</beginDateTime></task>")
    task = parse_task(el)
    assert (task["startDate"], task["startTime"], task["endDate"]) == (None, None, None)


def test_members_and_auditors_are_read_only_where_the_reply_has_them() -> None:
    """ПланФикс_API_task.getList.md: getList returns no members and auditors; task.get does."""
    listed = parse_task(etree.fromstring("<task><id>1</id><workers><users/></workers></task>"))
    assert "members" not in listed and "auditors" not in listed
    card = parse_task(
        etree.fromstring(
            "<task><id>1</id><members><users><user><id>3</id><name>O</name></user></users>"
            "<groups><group><id>12</id><name>Office</name></group></groups></members>"
            "<auditors><users/><groups/></auditors></task>"
        )
    )
    assert card["members"] == [{"id": "3", "name": "O"}]
    assert card["memberGroups"] == [{"id": "12", "name": "Office"}]
    assert (card["auditors"], card["auditorGroups"]) == ([], [])


def test_an_unreadable_date_names_the_task_and_field() -> None:
    el = etree.fromstring("<task><id>9</id><startTime>soon</startTime></task>")
    with pytest.raises(ProtocolError, match=r"task 9: startTime 'soon'"):
        parse_task(el)


def test_an_unescaped_html_description_is_kept_as_markup() -> None:
    el = etree.fromstring("<task><id>1</id><description>Hi <b>there</b> you</description></task>")
    assert parse_task(el)["description"] == "Hi <b>there</b> you"


def test_a_contact_with_word_booleans_comments_and_unknown_attributes() -> None:
    body = """<response status="ok"><contact extra="1"><!-- note -->
      <id>501</id><userid>10001</userid><general>501</general>
      <name>Ольга</name><lastName><![CDATA[O'Brien & Co]]></lastName><isCompany>true</isCompany>
      <phones><phone><number>+7 900</number><typeId>2</typeId><typeName>Mobile</typeName></phone>
        <phone><number></number></phone></phones>
      <lastUpdateDate>22-11-2026 07:58</lastUpdateDate></contact></response>"""
    el = parse_reply(body.encode(), method="contact.get").root.find("contact")
    assert el is not None
    contact = parse_contact(el)
    assert contact["lastName"] == "O'Brien & Co"
    assert contact["isCompany"] is True
    assert (contact["name"], contact["companyName"]) == ("", "Ольга")
    assert contact["phones"] == [{"number": "+7 900", "typeId": "2"}]
    assert contact["email"] == "" and contact["customData"] == {}
    assert contact["lastUpdateDate"] == "22-11-2026 07:58"


def test_an_empty_list_and_a_missing_list() -> None:
    empty = parse_reply(b'<response status="ok"><tasks count="0" totalCount="0"/></response>', method="m")
    assert list_page(empty.root, "tasks", "task", method="m").items == []
    missing = parse_reply(b'<response status="ok"/>', method="m")
    page = list_page(missing.root, "tasks", "task", method="m")
    assert page.items == [] and page.total is None


def test_an_error_reply_carries_its_code_and_message() -> None:
    reply = parse_reply(
        b"<response status='error'><code> 0007 </code><message>Too many</message></response>", method="m"
    )
    assert (reply.ok, reply.code, reply.message) == (False, "0007", "Too many")


def test_an_error_without_status_attribute_is_still_an_error() -> None:
    reply = parse_reply(b"<response><code>3001</code></response>", method="m")
    assert (reply.ok, reply.code) == (False, "3001")


def test_a_legacy_encoding_declaration_is_honoured() -> None:
    body = '<?xml version="1.0" encoding="windows-1251"?><response status="ok"><sid>Привет</sid></response>'
    reply = parse_reply(body.encode("cp1251"), method="auth.login")
    assert reply.root.findtext("sid") == "Привет"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b'<?xml version="1.0"?><response status="ok"><tasks><task><id>1', "not well-formed"),
        (b"Internal Server Error", "not well-formed"),
        (b"<html><body>502</body></html>", "root element is <html>"),
        (b'<response status="maybe"/>', "neither"),
        (b'<response status="ok"><tasks count="many"/></response>', "count='many'"),
        (b'<response status="ok"><t>&nbsp;</t></response>', "not well-formed"),
    ],
)
def test_unusable_replies_are_protocol_errors(body: bytes, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        reply = parse_reply(body, method="task.getList")
        list_page(reply.root, "tasks", "task", method="task.getList")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<response status="ok"><task><id>1</id><title>&lol9;</title></task></response>"""


def test_a_billion_laughs_reply_is_refused_without_expanding() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_reply(BILLION_LAUGHS, method="task.get")
    assert "lollol" not in str(caught.value)
    assert len(str(caught.value)) < 500


def test_a_reply_with_an_internal_entity_is_refused() -> None:
    body = b'<!DOCTYPE r [<!ENTITY who "me">]><response status="ok"><sid>&who;</sid></response>'
    with pytest.raises(ProtocolError, match="DTD"):
        parse_reply(body, method="auth.login")


def test_an_xxe_reply_is_refused_and_reads_no_file(tmp_path: pytest.TempPathFactory) -> None:
    secret = tmp_path / "secret.txt"  # type: ignore[operator]
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<response status="ok"><task><id>1</id><title>&x;</title></task></response>'
    ).encode()
    with pytest.raises(ProtocolError) as caught:
        parse_reply(body, method="task.get")
    assert "TOP-SECRET" not in str(caught.value)


def test_an_external_dtd_is_not_fetched() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE response SYSTEM "http://127.0.0.1:9/evil.dtd">'
        b'<response status="ok"/>'
    )
    with pytest.raises(ProtocolError, match="DTD"):
        parse_reply(body, method="m")
