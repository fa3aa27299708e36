"""The daemon's push endpoint under a flood of idle connections (the reported fault: 400 of them
exhausted the file descriptors of a default unit): the daemon's descriptors stay bounded by
``push.max_connections``, the idle sockets are closed after ``push.header_timeout``, and a real
push then goes through. A real ``syncd run`` process; every wait is bounded."""

from __future__ import annotations

import os
import select
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import World
from tests.e2e.push_daemon import push_daemon

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
    options = f'max_connections = {MAX_CONNECTIONS}\nheader_timeout = "2s"\n'
    with push_daemon(world, TOKEN, options) as daemon:
        pid = daemon.proc.pid
        flood: list[socket.socket] = []
        try:
            baseline = _open_fds(pid)
            for _ in range(FLOOD):
                flood.append(socket.create_connection(("127.0.0.1", daemon.port), timeout=SAFETY_S))
            bound = baseline + MAX_CONNECTIONS + 5
            deadline = time.monotonic() + SAFETY_S
            while _open_fds(pid) > bound:  # the extra connections are closed as they are accepted
                assert time.monotonic() < deadline, f"{_open_fds(pid)} descriptors open, bound {bound}"
                time.sleep(0.05)
            deadline = time.monotonic() + SAFETY_S
            assert all(_closed_by_server(sock, deadline) for sock in flood), "idle sockets must be closed"
            reply = httpx.post(
                f"http://127.0.0.1:{daemon.port}/planfix",
                json={"action": "createList", "authToken": TOKEN, "data": {"listName": "Plan"}},
                timeout=SAFETY_S,
            )
            assert reply.json()["success"] is True
            assert any(e.get("event") == "push.rejected" for e in daemon.logged())
        finally:
            for sock in flood:
                sock.close()
    assert daemon.returncode == 0
