"""The daemon serves the push endpoint: a contact Planfix pushes reaches PlanningPME at once, long
before the next scheduled contact cycle, and SIGTERM still ends the daemon cleanly."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import World

TOKEN = "push-token-for-the-daemon-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines(stream: object, out: queue.Queue[dict]) -> None:
    for raw in stream:  # type: ignore[attr-defined]
        try:
            out.put(json.loads(raw))
        except ValueError:
            out.put({"event": "raw", "text": raw})


def _wait_for(events: queue.Queue[dict], seen: list[dict], predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = events.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if predicate(seen):
            return
    raise AssertionError(f"timed out; log was: {seen[-20:]}")


def test_a_pushed_contact_is_synced_without_waiting_for_the_schedule(world: World) -> None:
    port = _free_port()
    with world.config_path.open("a") as f:
        f.write(
            f'\n[schedule]\ntasks_every = "1h"\ncontacts_every = "1h"\nfull_scan_every = "24h"\njitter = 0\n'
            f'\n[push]\nenabled = true\nlisten = "127.0.0.1:{port}"\ntoken = "{TOKEN}"\ndebounce = "1s"\n'
            '\n[logging]\nformat = "json"\n'
        )
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncd", "run", "--config", str(world.config_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    events: queue.Queue[dict] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stderr, events), daemon=True).start()
    seen: list[dict] = []
    try:
        # the start-up pass of both mappings is over
        _wait_for(
            events,
            seen,
            lambda s: {e.get("pair") for e in s if e.get("event") == "cycle.done"} >= {"contacts", "tasks"},
        )
        remotes = world.remotes()
        try:
            contact = remotes.by_entity["contact"].create(
                {"name": "Pavel", "lastName": "Pushkin", "email": "pavel@example.com"}, None
            )
        finally:
            remotes.close()
        url = f"http://127.0.0.1:{port}/planfix"
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
        assert len(customers) == 1, seen[-20:]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0
