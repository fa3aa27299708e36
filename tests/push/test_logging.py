"""Each request is logged with what it did; the token never appears in a log line or a reply."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import structlog
from structlog.testing import capture_logs

from syncd.logs import configure_logging
from tests.push.conftest import TOKEN, Push, contact


def _exercise(push: Push) -> list[Any]:
    """Successes and every kind of refusal, some with the token in places it does not belong."""
    list_id = push.create_list()
    replies = [
        push.send("importContacts", {"listId": list_id, "contacts": [contact(1), contact(2)]}),
        push.send("updateContact", {"listId": list_id, "action": "delete", "contact": contact(1)}),
        push.send("importContacts", {"listId": list_id, "contacts": [contact(3)]}, token=TOKEN[:-1]),
        push.send("importContacts", {"listId": list_id, "contacts": [contact(3)]}, token=TOKEN + TOKEN),
        push.send("importContacts", {"listId": "nope", "contacts": [contact(3)]}),
        push.send("importContacts", {"listId": list_id, "contacts": [contact(3, email=TOKEN)]}),
        push.send("updateContact", {"listId": list_id, "action": "add", "contact": contact(4, id=TOKEN)}),
        push.raw(json.dumps({"action": "createList", "authToken": TOKEN, "data": {"listName": 1}}).encode()),
        push.raw(b'{"authToken": "' + TOKEN.encode() + b'", broken', "application/json"),
        push.http.get("/", params={"authToken": TOKEN}),
    ]
    return [r.text for r in replies]


def test_each_request_is_logged_with_its_action_list_and_counts(push: Push) -> None:
    with capture_logs() as logs:
        list_id = push.create_list("Customers to plan")
        push.ok("importContacts", {"listId": list_id, "contacts": [contact(1), contact(2), contact(1)]})
        push.send("importContacts", {"listId": "nope", "contacts": []})

    created, imported, refused = (e for e in logs if e["event"].startswith("push."))
    assert created["event"] == "push.request"
    assert (created["action"], created["list_id"], created["list_name"]) == (
        "createList",
        list_id,
        "Customers to plan",
    )
    assert imported["event"] == "push.request"
    assert {k: imported[k] for k in ("action", "contacts", "memberships_changed", "queued", "status")} == {
        "action": "importContacts",
        "contacts": 2,
        "memberships_changed": 2,
        "queued": 2,
        "status": 200,
    }
    assert imported["feeds_planningpme"] is True
    assert (refused["event"], refused["log_level"], refused["status"], refused["error"]) == (
        "push.rejected",
        "warning",
        404,
        "unknown list",
    )


def test_the_token_never_appears_in_logs_or_replies(push: Push) -> None:
    with capture_logs() as logs:
        replies = _exercise(push)

    assert len([e for e in logs if e["event"].startswith("push.")]) >= len(replies)
    assert TOKEN not in repr(logs)
    assert not any(TOKEN in reply for reply in replies)


def test_the_token_never_reaches_the_rendered_log_output(start: Callable[..., Push]) -> None:
    out = io.StringIO()
    try:
        configure_logging(secrets=[], json=True, stream=out)  # no redaction to lean on
        _exercise(start())
    finally:
        structlog.reset_defaults()

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert any(line["event"] == "push.request" for line in lines)
    assert TOKEN not in out.getvalue()
