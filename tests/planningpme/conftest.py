"""Fixtures for the PlanningPME side: emulators on 127.0.0.1 (port 0), clients and connectors.

Most tests share one emulator (reset before each test) with the rate limit off. Tests that need
other options (a tiny token TTL, a small hourly limit, no history) start their own through
``start_emulator``. ``FakeClock`` replaces time for the client's limiter — so retry backoff and
``Retry-After`` pauses cost no real time — and, where a test shares it, for the emulator as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from syncd.connectors.http import HttpTransport, RetryPolicy
from syncd.connectors.planningpme.client import PlanningPmeClient
from syncd.connectors.planningpme.connector import (
    PlanningPmeCustomerConnector,
    PlanningPmeEventConnector,
    ScanOptions,
    build_planningpme,
)
from syncd.emulators.common import EmulatorServer
from syncd.emulators.planningpme import EmulatorOptions, PlanningPmeEmulator
from syncd.ratelimit import AccountLimiter, planningpme_limiter
from syncd.settings import PlanningPmeSettings
from tests.clocks import FakeClock

APP_KEY = "demo-appkey"


@dataclass
class Pme:
    """A running emulator and the means to drive it from outside, like a test script would."""

    emulator: PlanningPmeEmulator
    server: EmulatorServer
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.server.base_url

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def seed(self, customers: int = 0, events: int = 0, seed: int = 1) -> None:
        self.control("POST", "seed", {"customers": customers, "events": events, "seed": seed})

    def faults(self, **faults: Any) -> None:
        self.control("POST", "faults", faults)

    def stats(self) -> dict[str, int]:
        by_method: dict[str, int] = self.control("GET", "stats")["by_method"]
        return by_method

    def records(self, kind: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control("GET", f"records/{kind}")
        return found

    def token(self) -> str:
        reply = self.http.post(
            "/demo/token",
            data={"grant_type": "password", "username": "demo", "password": "demo"},
            headers={"X-APPKEY": APP_KEY},
        )
        reply.raise_for_status()
        value: str = reply.json()["access_token"]
        return value

    def api(self, token: str | None = None) -> httpx.Client:
        """A raw client for ``/demo/api/...`` with the app key and a bearer token."""
        headers = {"X-APPKEY": APP_KEY, "Authorization": f"Bearer {token or self.token()}"}
        return httpx.Client(base_url=f"{self.url}/demo/api/", headers=headers, timeout=10)


def _start(options: EmulatorOptions, clock: Callable[[], float]) -> Pme:
    emulator = PlanningPmeEmulator(options, clock=clock)
    server = EmulatorServer(emulator.app).start()
    return Pme(emulator, server, httpx.Client(base_url=server.base_url, timeout=10))


def _stop(pme: Pme) -> None:
    pme.http.close()
    pme.server.stop()


@pytest.fixture(scope="session")
def shared_pme() -> Iterator[Pme]:
    pme = _start(EmulatorOptions(hourly_limit=0), time.time)
    yield pme
    _stop(pme)


@pytest.fixture
def pme(shared_pme: Pme) -> Pme:
    shared_pme.control("POST", "reset")
    return shared_pme


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., Pme]]:
    """Start an emulator with non-default options: ``start_emulator(clock=..., token_ttl=...)``."""
    started: list[Pme] = []

    def start(clock: Callable[[], float] = time.time, **options: Any) -> Pme:
        pme = _start(replace(EmulatorOptions(hourly_limit=0), **options), clock)
        started.append(pme)
        return pme

    yield start
    for pme in started:
        _stop(pme)


def settings_for(url: str, **overrides: Any) -> PlanningPmeSettings:
    values: dict[str, Any] = {
        "url": url,
        "brand": "demo",
        "app_key": APP_KEY,
        "username": "demo",
        "password": "demo",
        "timeout": 5.0,
    }
    values.update(overrides)
    return PlanningPmeSettings.model_validate(values)


def limiter_for(clock: FakeClock, per_hour: int = 1_000_000) -> AccountLimiter:
    return planningpme_limiter(per_hour, clock=clock)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[Callable[..., PlanningPmeClient]]:
    made: list[PlanningPmeClient] = []

    def make(
        pme: Pme, *, attempts: int = 4, limiter: AccountLimiter | None = None, **settings: Any
    ) -> PlanningPmeClient:
        config = settings_for(pme.url, **settings)
        http = HttpTransport(
            "planningpme",
            httpx.Client(timeout=config.timeout),
            limiter or limiter_for(clock),
            RetryPolicy(attempts=attempts),
        )
        client = PlanningPmeClient(config, http.limiter, http=http)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def make_connectors(
    clock: FakeClock,
) -> Iterator[Callable[..., tuple[PlanningPmeEventConnector, PlanningPmeCustomerConnector]]]:
    made: list[PlanningPmeClient] = []

    def make(
        pme: Pme,
        options: ScanOptions | None = None,
        transport: httpx.BaseTransport | None = None,
        **settings: Any,
    ) -> tuple[PlanningPmeEventConnector, PlanningPmeCustomerConnector]:
        """``settings`` override ``[planningpme]`` keys (``history_path=""``, ``date_format=…``)."""
        events, customers = build_planningpme(
            settings_for(pme.url, **settings), limiter_for(clock), transport=transport, options=options
        )
        made.append(events.client)
        return events, customers

    yield make
    for client in made:
        client.close()


def local(moment: datetime, zone: str = "Europe/Madrid") -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")


def days_from_now(days: float, hour: int = 9) -> str:
    """A local event time ``days`` from today at ``hour`` o'clock (Europe/Madrid)."""
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Europe/Madrid"))
    moment = now.replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


class Rewriting(httpx.BaseTransport):
    """Real HTTP to the emulator, with a hook on each exchange: ``paths`` renames path prefixes
    (``{"/demo/api/planned": "/demo/api/do"}``: an account whose resources live elsewhere),
    ``reply(path, body)`` may replace a JSON reply body, and every request is kept in ``sent``."""

    def __init__(
        self,
        paths: dict[str, str] | None = None,
        reply: Callable[[str, Any], Any] | None = None,
    ) -> None:
        self._inner = httpx.HTTPTransport()
        self._paths = paths or {}
        self._reply = reply
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        path = request.url.path
        for old, new in sorted(self._paths.items(), key=lambda item: -len(item[0])):
            if path.startswith(old):
                path = new + path[len(old) :]
                break
        forwarded = httpx.Request(
            request.method,
            request.url.copy_with(path=path),
            headers=request.headers,
            content=request.content,
        )
        response = self._inner.handle_request(forwarded)
        if self._reply is None or not path.startswith("/demo/api/"):
            return response
        response.read()
        if response.status_code != 200:
            return response
        body = self._reply(path, response.json())
        return httpx.Response(200, json=body)

    def bodies(self, suffix: str) -> list[Any]:
        """The JSON bodies sent to paths ending in ``suffix``."""
        import json

        return [json.loads(r.content) for r in self.sent if r.url.path.endswith(suffix) and r.content]

    def close(self) -> None:
        self._inner.close()
