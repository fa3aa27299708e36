"""What the daemon tests share: the e2e emulator world, a daemon config with a schedule and
limits, a controllable clock, a real sd_notify datagram socket, and captured structlog events."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from apscheduler.executors.debug import DebugExecutor
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from structlog.testing import capture_logs

from mappings.spec import MappingSpec
from syncd.emulators.common import EmulatorServer
from syncd.emulators.config import emulator_config
from syncd.emulators.planfix import PlanfixEmulatorConfig, create_app
from syncd.emulators.planningpme import EmulatorOptions, PlanningPmeEmulator
from syncd.runtime import Remotes, build_remotes, open_store
from syncd.service.daemon import Daemon
from syncd.service.systemd import Notifier
from syncd.settings import Settings, load_settings
from tests.e2e.conftest import World, world  # noqa: F401  (the fixture, reused as is)

Event = MutableMapping[str, Any]
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
"""Where the scheduler's clock starts."""


DEFAULTS: dict[str, Any] = {
    "token": "demo-token",
    "pf_rate": 50,
    "quota": 20000,
    "reserve": 0.1,
    "tasks_every": "1h",
    "contacts_every": "1h",
    "full_every": "24h",
    "jitter": 0,
    "level": "INFO",
}


def daemon_config(w: World, **overrides: Any) -> str:
    v = {**DEFAULTS, **overrides}
    return emulator_config(
        w.planfix.base_url,
        w.planningpme.base_url,
        {
            "planfix": {
                "token": v["token"],
                "requests_per_second": v["pf_rate"],
                "daily_quota": v["quota"],
                "quota_reserve": v["reserve"],
            },
            "sync": {"max_delete": 50, "max_delete_percent": 100, "max_attempts": 3, "retry_backoff": "1s"},
            "schedule": {
                "tasks_every": v["tasks_every"],
                "contacts_every": v["contacts_every"],
                "full_scan_every": v["full_every"],
                "jitter": v["jitter"],
            },
            "logging": {"level": v["level"], "format": "json"},
        },
    )


def write_daemon_config(w: World, **overrides: Any) -> Path:
    """The daemon's config at the world's config path, so ``world.sync()`` shares its state."""
    w.config_path.write_text(daemon_config(w, **overrides))
    return w.config_path


class FakeClock:
    """Wall and monotonic time that move only when told (or when the limiter "sleeps")."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self.wall = start or datetime.now(UTC)
        self.mono = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.mono

    def now(self) -> datetime:
        return self.wall

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self.slept.append(seconds)
            self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.mono += seconds
            self.wall += timedelta(seconds=seconds)


class NotifySocket:
    """A real AF_UNIX datagram socket standing in for systemd's ``$NOTIFY_SOCKET``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.received: list[str] = []

    @property
    def env(self) -> dict[str, str]:
        return {"NOTIFY_SOCKET": str(self.path)}

    def wait_for(self, prefix: str, timeout: float = 60.0) -> str:
        """Collect datagrams until one holds a line starting with ``prefix``; return that line."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.received:
                for line in message.split("\n"):
                    if line.startswith(prefix):
                        return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {prefix!r} among {self.received}")
            self.sock.settimeout(remaining)
            try:
                self.received.append(self.sock.recv(65536).decode())
            except TimeoutError:
                continue

    def drain(self) -> list[str]:
        self.sock.setblocking(False)
        try:
            while True:
                self.received.append(self.sock.recv(65536).decode())
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
        return self.received

    def lines(self) -> list[str]:
        return [line for message in self.drain() for line in message.split("\n")]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    # AF_UNIX paths are limited to ~100 bytes: pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="sd-") as tmp:
        sock = NotifySocket(Path(tmp) / "notify")
        try:
            yield sock
        finally:
            sock.close()


@pytest.fixture
def logs() -> Iterator[list[Event]]:
    """Every structlog event of the test, any level, from any thread."""
    structlog.reset_defaults()
    with capture_logs() as captured:
        yield captured
    structlog.reset_defaults()


def named(events: list[Event], name: str, **match: Any) -> list[Event]:
    return [e for e in list(events) if e["event"] == name and all(e.get(k) == v for k, v in match.items())]


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    """Poll ``condition``; the timeout is a safety net against hangs, never the assertion."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


DaemonFactory = Callable[..., Daemon]


@pytest.fixture
def make_daemon() -> Iterator[DaemonFactory]:
    """Build daemons on a world's config and state; closed at the end of the test."""
    with ExitStack() as stack:

        def make(
            w: World,
            clock: FakeClock | None = None,
            limiter_clock: FakeClock | None = None,
            notifier: Notifier | None = None,
            env: dict[str, str] | None = None,
            now: Callable[[], datetime] | None = None,
            scheduler_factory: Callable[[], BaseScheduler] | None = None,
            **config: Any,
        ) -> Daemon:
            path = write_daemon_config(w, **config)
            settings = load_settings(path)
            store = stack.enter_context(open_store(settings.state.path))

            def remotes(s: Settings, specs: list[MappingSpec]) -> Remotes:
                return build_remotes(s, specs, clock=limiter_clock or clock)

            extra: dict[str, Any] = {}
            if clock is not None:
                extra = {"now": clock.now, "monotonic": clock.monotonic}
            if now is not None:
                extra["now"] = now
            if scheduler_factory is not None:
                extra["scheduler_factory"] = scheduler_factory
            daemon = Daemon(
                settings,
                path.parent,
                path,
                store,
                notifier=notifier or Notifier({}),
                remotes_factory=remotes,
                env=env or {},
                **extra,
            )
            stack.callback(daemon.close)
            return daemon

        yield make


@pytest.fixture
def sched_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The time APScheduler sees: it reads ``datetime.now`` in its scheduler and executor
    modules, so those two names are replaced by a class whose ``now`` reads this clock."""
    import apscheduler.executors.base
    import apscheduler.schedulers.base

    clock = FakeClock(T0)

    class ClockedDatetime(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return clock.now() if tz is None else clock.now().astimezone(tz)

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", ClockedDatetime)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", ClockedDatetime)
    return clock


class ManualScheduler(BaseScheduler):  # type: ignore[misc]
    """Runs due jobs when ``tick`` is called, never on its own (no thread)."""

    def __init__(self, threaded: bool = False) -> None:
        executor = ThreadPoolExecutor(4) if threaded else DebugExecutor()
        super().__init__(timezone=UTC, executors={"default": executor})

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def tick(self) -> None:
        self._process_jobs()


@pytest.fixture
def manual() -> Iterator[ManualScheduler]:
    sched = ManualScheduler()
    yield sched
    if sched.running:
        sched.shutdown(wait=False)


def planfix_server(**config: Any) -> EmulatorServer:
    options = {"rate": 0, "daily_quota": 0, **config}
    return EmulatorServer(create_app(PlanfixEmulatorConfig(**options)))


def planningpme_server(port: int = 0) -> EmulatorServer:
    return EmulatorServer(PlanningPmeEmulator(EmulatorOptions(hourly_limit=0)).app, port=port)


@pytest.fixture
def world_with(tmp_path: Path) -> Iterator[Callable[..., World]]:
    """A world whose servers the test chooses (e.g. a rate-limited Planfix); stopped at the end."""
    with ExitStack() as stack:
        http = stack.enter_context(httpx.Client(timeout=30))

        def make(planfix: EmulatorServer, planningpme: EmulatorServer) -> World:
            for server in (planfix, planningpme):
                stack.callback(server.stop)
                server.start()
            w = World(planfix, planningpme, tmp_path / "syncd.toml", http)
            w.write_config()
            return w

        yield make
