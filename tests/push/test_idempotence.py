"""Repeating a request is harmless: Planfix resends what it got no answer to."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from state.store import Store
from syncd.push.endpoint import PushServer, create_push_app
from syncd.settings import PushSettings
from tests.push.conftest import TOKEN, Push, contact


def _requests(list_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "import": ("importContacts", {"listId": list_id, "contacts": [contact(2), contact(3)]}),
        "add": ("updateContact", {"listId": list_id, "action": "add", "contact": contact(4)}),
        "update": (
            "updateContact",
            {
                "listId": list_id,
                "action": "update",
                "contact": contact(1, email="moved@example.com"),
                "oldEmail": "contact1@example.com",
            },
        ),
        "delete": ("updateContact", {"listId": list_id, "action": "delete", "contact": contact(1)}),
        "deleteList": ("deleteList", {"listId": list_id}),
    }


@pytest.mark.parametrize("kind", ["import", "add", "update", "delete", "deleteList"])
@pytest.mark.parametrize("delete_means_delete", [False, True], ids=["unlist", "delete"])
@pytest.mark.parametrize("later", [0, 3 * 24 * 60], ids=["at-once", "days-later"])
def test_a_replayed_request_changes_nothing(
    start: Callable[..., Push], kind: str, delete_means_delete: bool, later: int
) -> None:
    push = start(delete_means_delete=delete_means_delete)
    list_id = push.create_list()
    push.ok("importContacts", {"listId": list_id, "contacts": [contact(1)]})
    action, data = _requests(list_id)[kind]
    first = push.send(action, data)
    assert first.status_code == 200, first.text
    before, told = push.snapshot(), list(push.notified)
    push.clock.advance(minutes=later)

    replay = push.send(action, data)

    assert (replay.status_code, replay.json()) == (first.status_code, first.json())
    assert push.snapshot() == before
    assert push.notified == told


def test_a_replayed_create_list_returns_the_same_list(push: Push) -> None:
    first = push.create_list("Customers to plan")
    push.clock.advance(minutes=9)

    assert push.create_list("Customers to plan") == first
    assert [pl.list_id for pl in push.store.push_lists()] == [first]


def test_the_same_list_name_much_later_is_a_new_list(push: Push) -> None:
    first = push.create_list("Customers to plan")
    push.clock.advance(minutes=11)

    assert push.create_list("Customers to plan") != first
    assert len(push.store.push_lists()) == 2


def test_a_replay_after_the_cycle_handled_the_change_queues_nothing(push: Push) -> None:
    list_id = push.create_list()
    data = {"listId": list_id, "contacts": [contact(1), contact(2)]}
    push.ok("importContacts", data)
    push.store.mark_pushed_processed([c.id for c in push.pending()], push.clock())

    push.ok("importContacts", data)

    assert push.pending() == []


class StoreFailingOnce(Store):
    """A store whose first membership write fails, as if the process died just after queuing."""

    failed = False

    def upsert_membership(self, *args: Any, **kwargs: Any) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("simulated crash between queuing and recording the membership")
        super().upsert_membership(*args, **kwargs)


@pytest.fixture
def failing_push(tmp_path: Path) -> Iterator[tuple[StoreFailingOnce, httpx.Client]]:
    with StoreFailingOnce.open(tmp_path / "state.db") as store:
        settings = PushSettings(enabled=True, token=TOKEN)
        app = create_push_app(store, settings, lambda _: None, lambda: datetime(2026, 5, 1, 9, 0, tzinfo=UTC))
        with PushServer(app, "127.0.0.1:0") as server, httpx.Client(base_url=server.base_url) as http:
            yield store, http


def test_a_resend_after_a_failure_between_queue_and_membership_queues_once(
    failing_push: tuple[StoreFailingOnce, httpx.Client],
) -> None:
    store, http = failing_push
    list_id = http.post(
        "/", json={"action": "createList", "authToken": TOKEN, "data": {"listName": "L"}}
    ).json()["listId"]
    body = {
        "action": "updateContact",
        "authToken": TOKEN,
        "data": {"listId": list_id, "action": "add", "contact": contact(5)},
    }

    failed = http.post("/", json=body)
    resent = http.post("/", json=body)

    assert failed.status_code == 500
    assert failed.json() == {"error": "internal error; the change may not be stored, send again"}
    assert resent.json() == {"success": True}
    assert [c.contact_id for c in store.pending_pushed_changes()] == ["5"]
    assert [m.contact_id for m in store.memberships(list_id)] == ["5"]
