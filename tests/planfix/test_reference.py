"""The reference-data methods (users, task processes, their statuses) as their method pages show
them, over HTTP against the emulator, and the read-only reader ``syncd check`` uses on them."""

from __future__ import annotations

import pytest

from syncd.connectors.planfix import reference
from syncd.connectors.planfix.client import PlanfixClient
from syncd.errors import RemoteError
from tests.planfix.conftest import Planfix, fast_limiter
from tests.planfix.test_emulator import error_code, ok, req


def test_user_get_list_reply_shape(planfix: Planfix) -> None:
    """ПланФикс_API_user.getList.md: <users count totalCount><user>…, at most pageSize per page."""
    root = ok(planfix.raw(req("user.getList", "<pageCurrent>1</pageCurrent><pageSize>2</pageSize>")))
    users = root.find("users")
    assert users is not None
    assert (users.get("count"), users.get("totalCount")) == ("2", "6")
    assert [u.findtext("id") for u in users.findall("user")] == ["1", "2"]
    second = ok(planfix.raw(req("user.getList", "<pageCurrent>3</pageCurrent><pageSize>2</pageSize>")))
    assert [u.findtext("id") for u in second.findall("users/user")] == ["5", "6"]
    assert users.findall("user")[1].findtext("email") == "maria.garcia@example.com"


def test_task_status_get_set_list_reply_shape(planfix: Planfix) -> None:
    """ПланФикс_API_taskStatus.getSetList.md: <taskStatusSets totalCount><taskStatusSet><id/><name/>."""
    root = ok(planfix.raw(req("taskStatus.getSetList")))
    sets = root.find("taskStatusSets")
    assert sets is not None and sets.get("totalCount") == "2"
    assert [(s.findtext("id"), bool(s.findtext("name"))) for s in sets.findall("taskStatusSet")] == [
        ("1", True),
        ("2", True),
    ]


def test_task_status_get_list_of_set_reply_shape(planfix: Planfix) -> None:
    """ПланФикс_API_taskStatus.getListOfSet.md: the statuses of taskStatusSet/id, with texts per language."""
    root = ok(planfix.raw(req("taskStatus.getListOfSet", "<taskStatusSet><id>2</id></taskStatusSet>")))
    statuses = root.find("taskStatuses")
    assert statuses is not None and statuses.get("totalCount") == "4"
    first = statuses.findall("taskStatus")[0]
    assert first.findtext("id") == "1" and first.findtext("name") == "New"
    assert first.findtext("isActive") == "1"
    assert [t.findtext("lang") for t in first.findall("texts/text")] == ["Ru", "En"]
    assert error_code(planfix.raw(req("taskStatus.getListOfSet"))) == "0009"
    unknown = req("taskStatus.getListOfSet", "<taskStatusSet><id>9</id></taskStatusSet>")
    assert error_code(planfix.raw(unknown)) == "0015"


def _client(planfix: Planfix) -> PlanfixClient:
    return PlanfixClient(planfix.settings(), fast_limiter())


def test_the_reader_lists_users_and_every_status(planfix: Planfix) -> None:
    client = _client(planfix)
    try:
        users = reference.users(client)
        assert [u.id for u in users] == ["1", "2", "3", "4", "5", "6"]
        assert users[1].name == "María García"
        assert sorted(reference.all_statuses(client), key=int) == ["1", "2", "3", "4", "5"]
        assert [p.id for p in reference.status_sets(client)] == ["1", "2"]
    finally:
        client.close()


def test_the_marker_probe_refuses_a_field_that_is_not_a_string_field(planfix: Planfix) -> None:
    client = _client(planfix)
    try:
        assert reference.probe_marker_filter(client, "task", "101").total == 0
        assert reference.probe_marker_filter(client, "contact", "201").total == 0
        for field_id, said in (("103", "is number"), ("999", "no custom field 999")):
            with pytest.raises(RemoteError, match=said):
                reference.probe_marker_filter(client, "task", field_id)
    finally:
        client.close()
