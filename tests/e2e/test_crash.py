"""Property 4: a real ``syncd run --once`` killed with SIGKILL at many points of a cycle, then run
again, leaves no duplicate and loses no edit.

Every request to the emulators is slowed down, so the test can kill the process while request N is
in flight. "before": the emulator has not carried the request out yet. "after": it has (a create
exists) but the reply has not left — the window where a naive sync makes duplicates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from state.store import Store
from tests.e2e.conftest import World

KILL_POINTS = (2, 4, 7, 10, 13, 17, 22, 28, 3, 6)
SLOW_MS = 60


def _requests(world: World) -> int:
    return int(world.pf("GET", "stats")["total"]) + int(world.pme("GET", "stats")["total"])


def _syncd(world: World) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "syncd", "run", "--once", "--config", str(world.config_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )


def _kill_after(world: World, n: int, timeout_s: float = 60) -> bool:
    """Start syncd, SIGKILL it once ``n`` requests reached the emulators. True if it was killed."""
    start = _requests(world)
    proc = _syncd(world)
    deadline = time.monotonic() + timeout_s
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if _requests(world) - start >= n:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                return True
            time.sleep(0.005)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def _run_to_completion(world: World) -> None:
    for _ in range(3):
        proc = _syncd(world)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            return
    raise AssertionError(f"syncd did not complete: exit {proc.returncode}: {err.decode()[-2000:]}")


def _markers(records: list[dict], marker: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for record in records:
        if marker == "customData":
            value = record.get("customData") or {}
            for item in value if isinstance(value, list) else [value]:
                for key in ("101", "201"):
                    if isinstance(item, dict) and item.get(key):
                        found[str(item[key])] += 1
        else:
            value = (record.get("fields") or {}).get("PLANFIX_ID")
            if value:
                found[str(value)] += 1
    return found


@pytest.mark.parametrize("when", ["before", "after"])
def test_sigkill_at_any_point_leaves_no_duplicate(world: World, when: str) -> None:
    world.pf("POST", "seed", {"tasks": 16, "contacts": 10, "seed": 3})
    world.pme("POST", "seed", {"events": 8, "customers": 6, "seed": 4})
    fault = {"latency_ms": SLOW_MS} if when == "before" else {"reply_delay_ms": SLOW_MS}
    killed = 0
    for n in KILL_POINTS:
        world.pf("POST", "faults", fault)
        world.pme("POST", "faults", fault)
        killed += _kill_after(world, n)
        world.pf("DELETE", "faults")
        world.pme("DELETE", "faults")
    assert killed >= len(KILL_POINTS) // 2, "too few runs were interrupted to prove anything"

    _run_to_completion(world)
    with Store.open(world.config_path.parent / "state.db", readonly=True) as store:
        assert store.open_intents() == []
        task_links, contact_links = store.links("tasks"), store.links("contacts")

    customers, contacts = world.records("customers"), world.records("contacts")
    events = world.records("events")
    # one counterpart per record: no marker twice, and the two sides have as many records as links
    assert all(n == 1 for n in _markers(customers, "fields").values())
    assert all(n == 1 for n in _markers(events, "fields").values())
    assert len(customers) == len(contacts) == len(contact_links)
    assert len(events) == len(task_links)
    # converged: one more run writes nothing
    world.reset_stats()
    _run_to_completion(world)
    assert world.writes() == {"planfix": 0, "planningpme": 0}
