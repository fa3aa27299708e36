"""Native records → write parameters, and Planfix error codes → the exception tree (pure parts)."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.connectors.planfix.codes import error_for_code, error_for_status
from syncd.connectors.planfix.contacts import contact_add_params, contact_update_params
from syncd.connectors.planfix.tasks import task_params, task_update_params
from syncd.connectors.planfix.values import merge_record
from syncd.connectors.planfix.xml import Param
from syncd.errors import (
    AuthError,
    FatalRemoteError,
    NotFoundError,
    ProtocolError,
    QuotaExhaustedError,
    RateLimitedError,
    RecordError,
    ServerError,
)


def as_dict(params: list[Param]) -> dict[str, Any]:
    return {tag: value for tag, value in params}


def test_a_full_task_is_written_in_the_write_shape() -> None:
    params = as_dict(
        task_params(
            {
                "title": "T",
                "description": "<p>d</p>",
                "importance": "high",
                "status": "2",
                "owner": {"id": "3", "name": "Олег"},
                "client": None,
                "project": {"id": "1", "title": "Maintenance"},
                "startDate": "23-11-2026",
                "startTime": "09:00",
                "endDate": "24-11-2026",
                "endTime": None,
                "workers": [{"id": "4", "name": "John"}, {"id": "2"}, "4"],
                "customData": {"101": "E-1", "102": ""},
            }
        )
    )
    assert params["importance"] == "HIGH"
    assert params["owner"] == [("id", "3")]
    assert params["client"] == [("id", "0")]
    assert params["project"] == [("id", "1")]
    assert (params["startDateIsSet"], params["startDate"], params["startTimeIsSet"], params["startTime"]) == (
        "1",
        "23-11-2026",
        "1",
        "09:00",
    )
    assert (params["endDateIsSet"], params["endTimeIsSet"]) == ("1", "0")
    assert "endTime" not in params
    assert params["workers"] == [("users", [("id", "2"), ("id", "4")])]
    assert params["customData"] == [
        ("customValue", [("id", "101"), ("value", "E-1")]),
        ("customValue", [("id", "102"), ("value", "")]),
    ]


def test_only_the_given_fields_are_written() -> None:
    assert task_params({"title": "only"}) == [("title", "only")]
    assert contact_add_params({"email": " a@b.example "}) == [("email", "a@b.example"), ("isCompany", "0")]


def test_an_unset_date_is_cleared_explicitly() -> None:
    params = as_dict(task_params({"startDate": None, "startTime": None}))
    assert (params["startDateIsSet"], params["startTimeIsSet"]) == ("0", "0")


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"startDate": "2026-11-23"}, "startDate"),
        ({"startDate": "23-11-2026", "startTime": "9h"}, "startTime"),
        ({"startTime": "09:00"}, "startTime"),
        ({"importance": "URGENT"}, "importance"),
        ({"owner": {"id": "abc"}}, "owner"),
        ({"workers": "1,2"}, "workers"),
        ({"customData": {"x": "1"}}, "customData"),
        ({"title": ["not", "text"]}, "title"),
    ],
)
def test_impossible_values_are_refused_before_sending_naming_the_field(
    record: dict[str, Any], field: str
) -> None:
    with pytest.raises(RecordError, match=f"task field '{field}"):
        task_params(record)


def test_update_writes_every_writable_parameter_of_the_page_even_when_unset() -> None:
    """ПланФикс_API_task.update.md: parameters not given are reset, so all of them are written."""
    params = as_dict(
        task_update_params({"title": "T", "owner": {"id": "1"}, "status": "2", "statusSet": "1"})
    )
    assert set(params) >= {
        "title", "description", "importance", "status", "checkResult", "owner", "parent", "project",
        "client", "startDateIsSet", "startTimeIsSet", "endDateIsSet", "endTimeIsSet", "isSummary",
        "durationIsSet", "workers", "members", "auditors", "customData",
    }  # fmt: skip
    assert params["workers"] == [("users", []), ("groups", [])]
    assert params["parent"] == params["client"] == [("id", "0")]
    assert params["durationIsSet"] == "0"


def test_a_task_read_without_its_process_is_not_written() -> None:
    with pytest.raises(RecordError, match="statusSet"):
        task_update_params({"title": "T", "status": "2"})


def test_update_writes_people_groups_duration_and_every_custom_value_as_read() -> None:
    task = {
        "title": "T",
        "statusSet": "2",
        "checkResult": True,
        "parent": {"id": "1000007"},
        "isSummary": False,
        "duration": "90",
        "durationUnit": "0",
        "workers": [{"id": "2", "name": "M"}],
        "workerGroups": [{"id": "11", "name": "Field team"}],
        "members": [{"id": "3", "name": "O"}],
        "memberGroups": [],
        "auditors": [{"id": "4", "name": "J"}],
        "auditorGroups": [{"id": "12", "name": "Office"}],
        "customData": {"101": "E-1", "103": "1500", "104": "7"},
    }
    params = as_dict(task_update_params(task))
    assert (params["statusSet"], params["checkResult"], params["parent"]) == ("2", "1", [("id", "1000007")])
    assert (params["duration"], params["durationUnit"], params["durationIsSet"]) == ("90", "0", "1")
    assert params["workers"] == [("users", [("id", "2")]), ("groups", [("id", "11")])]
    assert params["members"] == [("users", [("id", "3")]), ("groups", [])]
    assert params["auditors"] == [("users", [("id", "4")]), ("groups", [("id", "12")])]
    assert [dict(v)["id"] for _, v in params["customData"]] == ["101", "103", "104"]


def test_a_company_is_written_by_its_name_and_its_kind_cannot_change_on_update() -> None:
    """ПланФикс_API_contact.add.md has isCompany; contact.update.md has not."""
    assert contact_add_params({"isCompany": True, "name": "", "companyName": "ACME"}) == [
        ("name", "ACME"),
        ("isCompany", "1"),
    ]
    person = {"isCompany": False, "name": "Ana"}
    assert contact_update_params(person, {"name": "Ana María", "companyName": ""}) == [("name", "Ana María")]
    with pytest.raises(RecordError, match="isCompany"):
        contact_update_params(person, {"isCompany": True})


def test_a_name_planfix_cannot_keep_fails_the_record_rather_than_vanish() -> None:
    with pytest.raises(RecordError, match=r"'name'.*a company has no first name"):
        contact_add_params({"isCompany": True, "name": "John", "companyName": "ACME"})
    with pytest.raises(RecordError, match=r"'companyName'.*a person has no company name"):
        contact_update_params({"isCompany": False}, {"companyName": "ACME"})


def test_contact_params_write_phones_and_booleans() -> None:
    params = as_dict(
        contact_add_params(
            {
                "isCompany": True,
                "phones": [{"number": "+7 1", "typeId": "2"}, {"number": " "}],
                "customData": {},
            }
        )
    )
    assert params == {"isCompany": "1", "phones": [("phone", [("number", "+7 1"), ("typeId", "2")])]}


def test_merge_keeps_unmapped_fields_and_merges_custom_values() -> None:
    current = {"title": "a", "description": "keep", "customData": {"101": "E-1", "102": "site"}}
    merged = merge_record(current, {"title": "b", "customData": {"102": "new"}})
    assert merged == {"title": "b", "description": "keep", "customData": {"101": "E-1", "102": "new"}}


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("0001", AuthError),
        ("0012", AuthError),
        ("0005", AuthError),
        ("0004", FatalRemoteError),
        ("0006", FatalRemoteError),
        ("0008", FatalRemoteError),
        ("0022", FatalRemoteError),
        ("0024", FatalRemoteError),
        ("3014", ServerError),
        ("0011", ServerError),
        ("0002", FatalRemoteError),
        ("0010", FatalRemoteError),
        ("0013", FatalRemoteError),
        ("0014", FatalRemoteError),
        ("0020", FatalRemoteError),
        ("0023", FatalRemoteError),
        ("1001", AuthError),
        ("0104", RecordError),
        ("0105", RecordError),
        ("0007", QuotaExhaustedError),
        ("0015", RecordError),
        ("8010", RecordError),
        ("0003", RecordError),
        ("0009", RecordError),
        ("0021", RecordError),
        ("0101", NotFoundError),
        ("3001", NotFoundError),
        ("8002", NotFoundError),
    ],
)
def test_every_documented_code_has_its_place_in_the_tree(code: str, kind: type[Exception]) -> None:
    error = error_for_code(code, "said", method="task.get")
    assert type(error) is kind
    assert error.code == code and "task.get" in str(error) and "said" in str(error)


def test_wrong_data_centre_names_the_setting_and_the_endpoints() -> None:
    message = str(error_for_code("0024", "", method="task.getList"))
    assert "planfix.url" in message
    for url in (
        "https://api.planfix.com/xml/",
        "https://api-sg.planfix.com/xml/",
        "https://api-us.planfix.com/xml/",
    ):
        assert url in message


def test_an_unknown_code_keeps_its_code() -> None:
    error = error_for_code("4242", "new thing", method="task.get")
    assert isinstance(error, RecordError) and error.code == "4242" and "4242" in str(error)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (301, FatalRemoteError),
        (401, AuthError),
        (403, AuthError),
        (404, FatalRemoteError),
        (418, ProtocolError),
        (429, RateLimitedError),
        (503, ServerError),
    ],
)
def test_http_statuses(status: int, kind: type[Exception]) -> None:
    assert type(error_for_status(status, "http://x/xml/", method="m", retry_after=None)) is kind


def test_no_access_and_no_right_to_edit_say_what_to_give_the_api_user() -> None:
    assert "no access" in str(error_for_code("0104", "", method="task.get"))
    assert "no right to edit" in str(error_for_code("0105", "", method="task.update"))
