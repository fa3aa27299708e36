"""The daemon serves the push endpoint: a contact Planfix pushes reaches PlanningPME at once, long
before the next scheduled contact cycle, and SIGTERM still ends the daemon cleanly."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import World
from tests.e2e.push_daemon import push_daemon

TOKEN = "push-token-for-the-daemon-test"


def test_a_pushed_contact_is_synced_without_waiting_for_the_schedule(world: World) -> None:
    with push_daemon(world, TOKEN) as daemon:
        contact = world.create(
            "contact", {"name": "Pavel", "lastName": "Pushkin", "email": "pavel@example.com"}
        )
        url = f"http://127.0.0.1:{daemon.port}/planfix"
        listed = httpx.post(
            url, json={"action": "createList", "authToken": TOKEN, "data": {"listName": "Plan"}}
        ).json()
        body = {
            "listId": listed["listId"],
            "contacts": [
                {
                    "id": int(contact.key),
                    "email": "pavel@example.com",
                    "firstName": "Pavel",
                    "lastName": "Pushkin",
                }
            ],
        }
        assert httpx.post(
            url, json={"action": "importContacts", "authToken": TOKEN, "data": body}
        ).json() == {"success": True}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(c.get("email") == "pavel@example.com" for c in world.records("customers")):
                break
            time.sleep(0.2)
        customers = [c for c in world.records("customers") if c.get("email") == "pavel@example.com"]
        assert len(customers) == 1, daemon.seen[-20:]
    assert daemon.returncode == 0
