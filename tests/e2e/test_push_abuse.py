"""The daemon's push endpoint under a flood of idle connections (the reported fault: 400 of them
exhausted the file descriptors of a default unit): the daemon's descriptors stay bounded by
``push.max_connections``, the idle sockets are closed after ``push.header_timeout``, and a real
push then goes through. A real ``syncd run`` process; every wait is bounded."""

from __future__ import annotations

import os
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import World
from tests.e2e.test_push_daemon import _free_port, _lines, _wait_for

TOKEN = "push-token-for-the-abuse-test"
MAX_CONNECTIONS = 40
FLOOD = 200
SAFETY_S = 30.0


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            return False
        try:
            if sock.recv(4096) == b"":
                return True
        except ConnectionResetError:
            return True
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to count descriptors")
def test_a_flood_of_idle_connections_neither_exhausts_descriptors_nor_blocks_pushes(world: World) -> None:
    port = _free_port()
    with world.config_path.open("a") as f:
        f.write(
            f'\n[schedule]\ntasks_every = "1h"\ncontacts_every = "1h"\nfull_scan_every = "24h"\njitter = 0\n'
            f'\n[push]\nenabled = true\nlisten = "127.0.0.1:{port}"\ntoken = "{TOKEN}"\ndebounce = "1s"\n'
            f'max_connections = {MAX_CONNECTIONS}\nheader_timeout = "2s"\n'
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
    flood: list[socket.socket] = []
    try:
        _wait_for(
            events,
            seen,
            lambda s: {e.get("pair") for e in s if e.get("event") == "cycle.done"} >= {"contacts", "tasks"},
        )
        baseline = _open_fds(proc.pid)
        for _ in range(FLOOD):
            flood.append(socket.create_connection(("127.0.0.1", port), timeout=SAFETY_S))
        bound = baseline + MAX_CONNECTIONS + 5
        deadline = time.monotonic() + SAFETY_S
        while _open_fds(proc.pid) > bound:  # the extra connections are closed as they are accepted
            assert time.monotonic() < deadline, f"{_open_fds(proc.pid)} descriptors open, bound {bound}"
            time.sleep(0.05)
        deadline = time.monotonic() + SAFETY_S
        assert all(_closed_by_server(sock, deadline) for sock in flood), "idle sockets must be closed"
        reply = httpx.post(
            f"http://127.0.0.1:{port}/planfix",
            json={"action": "createList", "authToken": TOKEN, "data": {"listName": "Plan"}},
            timeout=SAFETY_S,
        )
        assert reply.json()["success"] is True
        assert any(e.get("event") == "push.rejected" for e in [*seen, *list(events.queue)])
    finally:
        for sock in flood:
            sock.close()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
    assert code == 0
