"""Fixtures for the Planfix side: emulators on 127.0.0.1 (port 0), clients and connectors.

Most tests share one emulator (reset before each test) with the rate limit off. Tests that need
other options (a short session lifetime, a real rate limit, a small quota) start their own with
``start_planfix``. The client's limiter runs on a ``FakeClock`` unless a test says otherwise, so
retry backoff and 0007 pauses cost no real time; the emulator can share that clock when a test
needs to control modification times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from syncd.connectors.http import RetryPolicy
from syncd.connectors.planfix import PlanfixConnectors, build_planfix
from syncd.emulators.common import EmulatorServer
from syncd.emulators.planfix import PlanfixEmulator, PlanfixEmulatorConfig
from syncd.ratelimit import AccountLimiter, Clock, DailyQuota
from syncd.settings import PlanfixSettings
from tests.clocks import FakeClock as BaseFakeClock

ZONE = ZoneInfo("Europe/Moscow")
FAST_RETRY = RetryPolicy(attempts=3, base=0.01, cap=0.02)


class FakeClock(BaseFakeClock):
    """The shared fake clock, which a test can also set to a Moscow wall time (the emulator's)."""

    def set_local(self, naive: datetime) -> None:
        """Jump to a naive Moscow time (the emulator's zone)."""
        self.t = naive.replace(tzinfo=ZONE).timestamp()


@dataclass
class Planfix:
    """A running emulator and the means to drive it from outside, as a test script would."""

    emulator: PlanfixEmulator
    server: EmulatorServer
    http: httpx.Client

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/xml/"

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def seed(self, tasks: int = 0, contacts: int = 0, seed: int = 1) -> None:
        self.control("POST", "seed", {"tasks": tasks, "contacts": contacts, "seed": seed})

    def faults(self, **faults: Any) -> None:
        self.control("POST", "faults", faults)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "stats")
        return result

    def records(self, kind: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.control("GET", f"records/{kind}")
        return result

    def raw(
        self, body: str | bytes, *, auth: tuple[str, str] | None = ("demo-key", "demo-token")
    ) -> httpx.Response:
        """POST an XML body to /xml/ as is."""
        content = body.encode() if isinstance(body, str) else body
        if auth is None:
            return self.http.post("/xml/", content=content)
        return self.http.post("/xml/", content=content, auth=auth)

    def settings(self, **overrides: Any) -> PlanfixSettings:
        values: dict[str, Any] = {
            "url": self.url,
            "account": "demo",
            "api_key": "demo-key",
            "token": "demo-token",
        }
        values.update(overrides)
        return PlanfixSettings(**values)


def _start(config: PlanfixEmulatorConfig, clock: Clock | None) -> Planfix:
    emulator = PlanfixEmulator(config, clock)
    server = EmulatorServer(emulator.build_app()).start()
    return Planfix(emulator, server, httpx.Client(base_url=server.base_url, timeout=10))


def _stop(planfix: Planfix) -> None:
    planfix.http.close()
    planfix.server.stop()


@pytest.fixture(scope="session")
def _shared_planfix() -> Iterator[Planfix]:
    planfix = _start(PlanfixEmulatorConfig(rate=0, daily_quota=0, random_seed=7), None)
    yield planfix
    _stop(planfix)


@pytest.fixture
def planfix(_shared_planfix: Planfix) -> Planfix:
    """The shared emulator (no rate limit, no quota, random reply shapes), emptied."""
    _shared_planfix.control("POST", "reset")
    return _shared_planfix


@pytest.fixture
def start_planfix() -> Iterator[Callable[..., Planfix]]:
    """Start an emulator of its own: ``start_planfix(rate=5, clock=FakeClock())``."""
    started: list[Planfix] = []

    def start(clock: Clock | None = None, **options: Any) -> Planfix:
        config = replace(PlanfixEmulatorConfig(rate=0, daily_quota=0, random_seed=7), **options)
        planfix = _start(config, clock)
        started.append(planfix)
        return planfix

    yield start
    for planfix in started:
        _stop(planfix)


def fast_limiter(clock: Clock | None = None, daily_quota: int = 100_000) -> AccountLimiter:
    """A limiter without a per-second window (the emulator's is off too), on a fake clock."""
    clk = clock or FakeClock()
    return AccountLimiter("planfix", [], DailyQuota(daily_quota, 0.0, ZONE, clk.now()), clk)


def connect(planfix: Planfix, limiter: AccountLimiter | None = None, **overrides: Any) -> PlanfixConnectors:
    return build_planfix(planfix.settings(**overrides), limiter or fast_limiter(), retry=FAST_RETRY)


@pytest.fixture
def pf(planfix: Planfix) -> Iterator[PlanfixConnectors]:
    """Connectors for the shared emulator."""
    connectors = connect(planfix)
    yield connectors
    connectors.close()
