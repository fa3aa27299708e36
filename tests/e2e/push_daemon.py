"""``syncd run`` as a real process with its push endpoint on, for the e2e tests that push to it.

The daemon logs JSON to stderr; a thread queues the lines so a test can wait, bounded, for what it
needs to see. Leaving the ``with`` block sends SIGTERM and keeps the exit code for the test to check.
"""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.e2e.conftest import World

Event = dict[str, Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lines(stream: IO[str], out: queue.Queue[Event]) -> None:
    for raw in stream:
        try:
            out.put(json.loads(raw))
        except ValueError:
            out.put({"event": "raw", "text": raw})


@dataclass
class PushDaemon:
    """A running daemon: where its endpoint listens and what it has logged so far."""

    proc: subprocess.Popen[str]
    port: int
    events: queue.Queue[Event] = field(default_factory=queue.Queue)
    seen: list[Event] = field(default_factory=list)
    returncode: int | None = None

    def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if predicate(self.seen):
                return
        raise AssertionError(f"timed out; log was: {self.seen[-20:]}")

    def logged(self) -> list[Event]:
        """Every line so far, waited for or not."""
        return [*self.seen, *list(self.events.queue)]


@contextmanager
def push_daemon(world: World, token: str, push_options: str = "") -> Iterator[PushDaemon]:
    """The daemon on the world's config, hourly schedules, the endpoint on a free port; yielded once
    the start-up pass of both mappings is over. ``push_options`` are more ``[push]`` lines."""
    port = free_port()
    with world.config_path.open("a") as f:
        f.write(
            f'\n[schedule]\ntasks_every = "1h"\ncontacts_every = "1h"\nfull_scan_every = "24h"\njitter = 0\n'
            f'\n[push]\nenabled = true\nlisten = "127.0.0.1:{port}"\ntoken = "{token}"\ndebounce = "1s"\n'
            f"{push_options}"
            '\n[logging]\nformat = "json"\n'
        )
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncd", "run", "--config", str(world.config_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    daemon = PushDaemon(proc, port)
    threading.Thread(target=_lines, args=(proc.stderr, daemon.events), daemon=True).start()
    try:
        daemon.wait_for(
            lambda s: {e.get("pair") for e in s if e.get("event") == "cycle.done"} >= {"contacts", "tasks"},
        )
        yield daemon
    finally:
        proc.send_signal(signal.SIGTERM)
        daemon.returncode = proc.wait(timeout=60)
