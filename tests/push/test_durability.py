"""An acknowledged push is never lost: not in a burst, not beside a consuming cycle, not by kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from state.rows import PushedChangeRow
from state.store import Store
from tests.push.conftest import TOKEN, Push, contact

BURST = 200


async def _burst(base_url: str, list_id: str, ids: range) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(ids), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def one(n: int) -> httpx.Response:
            body = {
                "action": "updateContact",
                "authToken": TOKEN,
                "data": {"listId": list_id, "action": "add", "contact": contact(n)},
            }
            return await client.post("/", json=body)

        return await asyncio.gather(*(one(n) for n in ids))


def test_a_burst_of_concurrent_pushes_is_accepted_and_queued_without_loss(push: Push) -> None:
    list_id = push.create_list()
    ids = range(1, BURST + 1)

    replies = asyncio.run(_burst(push.server.base_url, list_id, ids))

    assert [r.json() for r in replies] == [{"success": True}] * BURST
    expected = {str(n) for n in ids}
    pending = push.pending()
    assert sorted(c.contact_id for c in pending) == sorted(expected)
    assert {m.contact_id for m in push.store.memberships(list_id)} == expected
    assert sorted(push.notified) == sorted(expected)


def test_pushes_arriving_while_the_cycle_consumes_the_queue_are_not_lost(push: Push) -> None:
    list_id = push.create_list()
    consumed: list[PushedChangeRow] = []
    done = threading.Event()

    def consume() -> None:
        # What the contact cycle does with the queue: take a batch, handle it, mark it processed.
        while True:
            batch = push.store.pending_pushed_changes(limit=7)
            consumed.extend(batch)
            push.store.mark_pushed_processed([c.id for c in batch], push.clock())
            if not batch:
                if done.is_set():
                    return
                done.wait(0.002)  # an idle cycle does not spin; this is pacing, not an assertion

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        replies = asyncio.run(_burst(push.server.base_url, list_id, range(1, BURST + 1)))
    finally:
        done.set()
        consumer.join(timeout=60)

    assert all(r.json() == {"success": True} for r in replies)
    assert push.pending() == []
    assert sorted(int(c.contact_id) for c in consumed) == list(range(1, BURST + 1))


def _post(base_url: str, action: str, data: dict[str, Any]) -> dict[str, Any]:
    reply = httpx.post(base_url, json={"action": action, "authToken": TOKEN, "data": data}, timeout=30)
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def test_an_acknowledged_push_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("serve_child.py")), str(db), TOKEN],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:"), base_url
        list_id = _post(base_url, "createList", {"listName": "Customers to plan"})["listId"]
        _post(base_url, "importContacts", {"listId": list_id, "contacts": [contact(1), contact(2)]})
        _post(base_url, "updateContact", {"listId": list_id, "action": "add", "contact": contact(3)})
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()

    assert child.returncode == -signal.SIGKILL
    with Store.open(db) as reopened:
        assert [(c.contact_id, c.action) for c in reopened.pending_pushed_changes()] == [
            ("1", "import"),
            ("2", "import"),
            ("3", "add"),
        ]
        assert [m.contact_id for m in reopened.memberships(list_id)] == ["1", "2", "3"]
