"""``python -m syncd run`` as a real process against both emulators: SIGTERM mid-cycle, SIGHUP with a
good and a bad config, and fatal start-up errors with their exit codes and single log line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from state.store import Store
from tests.daemon.conftest import NotifySocket, daemon_config, wait_until, write_daemon_config
from tests.daemon.test_cycles import assert_no_duplicates, assert_state_is_whole
from tests.e2e.conftest import World

ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_S = 60  # TimeoutStopSec= in systemd/syncd.service


class SyncdProcess:
    """``syncd run`` in a child process; its stderr (JSON log lines) is collected as it comes."""

    def __init__(self, config: Path, notify: NotifySocket | None) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SYNCD_", "NOTIFY_", "WATCHDOG_", "CREDENTIALS_"))
        }
        if notify is not None:
            env.update(notify.env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncd", "run", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        found = []
        for line in list(self.lines):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if name is None or event.get("event") == name:
                found.append(event)
        return found

    def wait_for_event(self, name: str, count: int = 1) -> list[dict[str, Any]]:
        wait_until(
            lambda: len(self.events(name)) >= count or self.proc.poll() is not None,
            what=f"{name} in the daemon's log",
        )
        found = self.events(name)
        assert len(found) >= count, f"the daemon exited ({self.proc.returncode}) before {name}: {self.lines}"
        return found

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = STOP_TIMEOUT_S) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code

    def kill(self) -> None:
        """Make sure the child is gone and its pipe closed (also after a failed assertion)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@contextmanager
def syncd_run(config: Path, notify: NotifySocket | None = None) -> Iterator[SyncdProcess]:
    process = SyncdProcess(config, notify)
    try:
        yield process
    finally:
        process.kill()


def test_sigterm_mid_cycle_finishes_the_operation_in_flight_and_exits_0(
    world: World, notify_socket: NotifySocket
) -> None:
    world.pf("POST", "seed", {"tasks": 12, "contacts": 8, "seed": 1})
    world.pme("POST", "seed", {"events": 6, "customers": 5, "seed": 2})
    config = write_daemon_config(world)
    with syncd_run(config, notify_socket) as daemon:
        notify_socket.wait_for("READY=1")
        # Slow writes from now on, so the first cycle is still applying when the signal comes.
        world.pf("POST", "faults", {"latency_ms": 80})
        world.pme("POST", "faults", {"latency_ms": 80})
        wait_until(lambda: sum(world.writes().values()) >= 1, what="the first write")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.lines
    assert notify_socket.lines()[-1] == "STOPPING=1", "nothing after STOPPING=1"
    (stopping,) = daemon.events("daemon.stopping")
    assert stopping["signal"] == "SIGTERM"
    assert daemon.events("cycle.interrupted"), "the cycle stopped after its operation in flight"
    assert not [line for line in daemon.lines if "Traceback" in line]
    synced_before_rerun = len(world.records("customers")) + len(world.records("contacts"))

    state = Store.open(world.settings.state.path, readonly=True)
    try:
        assert_state_is_whole(state, world)
    finally:
        state.close()

    world.pf("DELETE", "faults")
    world.pme("DELETE", "faults")
    results = world.sync()  # what the next start would do: finish the job, without duplicates
    assert all(r.failed == 0 for r in results)
    assert_no_duplicates(world)
    assert len(world.records("contacts")) == len(world.records("customers")) == 13
    assert synced_before_rerun < 26, "the signal really came in the middle of the first cycle"


def test_sighup_reloads_a_good_config_and_keeps_the_old_one_when_the_new_is_bad(
    world: World, notify_socket: NotifySocket
) -> None:
    config = write_daemon_config(world, tasks_every="1h")
    with syncd_run(config, notify_socket) as daemon:
        notify_socket.wait_for("READY=1")
        daemon.wait_for_event("cycle.done", count=2)

        config.write_text(daemon_config(world, tasks_every="30m"))
        daemon.signal(signal.SIGHUP)
        (reloaded,) = daemon.wait_for_event("config.reloaded")
        assert reloaded["changes"] == ["schedule.tasks_every: 3600.0 -> 1800.0"]

        config.write_text(daemon_config(world, tasks_every="soon"))
        daemon.signal(signal.SIGHUP)
        (rejected,) = daemon.wait_for_event("config.reload_rejected")
        assert "schedule.tasks_every" in rejected["error"]
        assert rejected["kept"] == "the previous configuration"

        # Still running, and still on the 30-minute config: the next change is measured from it.
        config.write_text(daemon_config(world, tasks_every="20m"))
        daemon.signal(signal.SIGHUP)
        reloads = daemon.wait_for_event("config.reloaded", count=2)
        assert reloads[1]["changes"] == ["schedule.tasks_every: 1800.0 -> 1200.0"]
        assert daemon.proc.poll() is None

        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    assert notify_socket.lines().count("READY=1") == 1


def test_rejected_credentials_stop_the_daemon_with_exit_3_and_one_log_line(
    world: World, notify_socket: NotifySocket
) -> None:
    config = write_daemon_config(world, token="wrong-token-123")
    with syncd_run(config, notify_socket) as daemon:
        assert daemon.wait() == 3
    assert len(daemon.events()) == len(daemon.lines), "every line is a JSON log event"
    (fatal,) = [e for e in daemon.events() if e["level"] in ("warning", "error", "critical")]
    assert fatal["event"] == "daemon.fatal" and fatal["exit_code"] == 3
    assert "planfix.token" in fatal["error"]
    assert not [line for line in daemon.lines if "wrong-token-123" in line]
    assert "READY=1" not in notify_socket.lines()


def test_a_bad_config_file_stops_syncd_run_with_exit_2_and_a_located_message(world: World) -> None:
    config = write_daemon_config(world, contacts_every="often")
    with syncd_run(config) as daemon:
        assert daemon.wait() == 2
    text = "\n".join(daemon.lines)
    assert daemon.lines[0].startswith("syncd: error: ") and str(config) in daemon.lines[0]
    assert "schedule.contacts_every" in text
    assert "Traceback" not in text
