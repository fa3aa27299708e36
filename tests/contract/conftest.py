"""Plumbing for the Connector contract suite: both emulators on 127.0.0.1, one shared clock, a wire.

Both emulators and every connector in the suite read the same ``FakeClock``, so modification times,
history entries and cursors live on one time line that a test can move forward on purpose (to get
past the connectors' overlap windows) and retry back-off costs no real time. The ``Wire`` between
a connector and its emulator is real HTTP; it moves that clock forward a little on every request —
so "the moment the read started" is a sharp point a cursor can be checked against — and can ask the
emulator for a fault just before the n-th request of a kind (to break page 2 of a listing).

Nothing here knows what a task or an event is: that is the suite's own table
(test_connector_contract.py). Here only the wiring differs: which emulator, which record kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
import pytest

from syncd.connectors.base import Connector
from syncd.connectors.http import HttpTransport, RetryPolicy
from syncd.connectors.planfix import build_planfix
from syncd.connectors.planningpme.connector import build_planningpme
from syncd.emulators.common import EmulatorServer
from syncd.emulators.planfix import PlanfixEmulatorConfig, create_app
from syncd.emulators.planningpme import EmulatorOptions, PlanningPmeEmulator
from syncd.ratelimit import planfix_limiter, planningpme_limiter
from syncd.settings import PlanfixSettings, PlanningPmeSettings
from tests.clocks import FakeClock

EmulatorName = Literal["planfix", "planningpme"]

RETRY = RetryPolicy(attempts=3, base=0.01, cap=0.02)
"""Three attempts per request; the back-off sleeps on the fake clock."""
TICK = 1.0
"""How many seconds the shared clock moves on every request a connector sends."""
PLANFIX_QUOTA = 1_000_000
"""Big enough never to run out, but set, so the emulator reports what is left (quota_hint)."""


RequestTest = Callable[[httpx.Request], bool]


@dataclass
class _Hook:
    matches: RequestTest
    nth: int
    action: Callable[[], None]
    seen: int = 0


class Wire(httpx.BaseTransport):
    """Real HTTP to the emulator, ticking the shared clock, with optional fault hooks."""

    def __init__(self, clock: FakeClock) -> None:
        self._inner = httpx.HTTPTransport()
        self._clock = clock
        self._hooks: list[_Hook] = []

    def before(self, matches: RequestTest, nth: int, action: Callable[[], None]) -> None:
        """Run ``action`` just before the ``nth`` request that ``matches`` goes out."""
        self._hooks.append(_Hook(matches, nth, action))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._clock.advance(TICK)
        for hook in self._hooks:
            if hook.matches(request):
                hook.seen += 1
                if hook.seen == hook.nth:
                    hook.action()
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@dataclass
class Emulator:
    """A running emulator, driven from outside through its control API like a test script would."""

    name: EmulatorName
    server: EmulatorServer
    http: httpx.Client

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.control("POST", "reset")

    def seed(self, **counts: int) -> None:
        self.control("POST", "seed", {**counts, "seed": 3})

    def faults(self, **faults: Any) -> None:
        self.control("POST", "faults", faults)

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def records(self, kind: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control("GET", f"records/{kind}")
        return found

    def writes(self) -> int:
        """Write requests the emulator received since the last reset."""
        count: int = self.control("GET", "stats")["writes"]
        return count


@dataclass(frozen=True)
class Wiring:
    """Where one connector's records live and how to reach them from outside."""

    emulator: EmulatorName
    entity: str
    records_kind: str
    """The control API's name for the records (``/_emulator/records/<kind>``, ``seed``)."""
    key_field: str
    custom: str
    """The native record's container of custom fields."""
    marker_field: str
    is_listing_page: RequestTest
    """True for a request that reads one page of a full listing."""


def _planfix_method(method: str) -> RequestTest:
    needle = f'method="{method}"'.encode()
    return lambda request: needle in request.content


def _path_ends(verb: str, suffix: str) -> RequestTest:
    return lambda request: request.method == verb and request.url.path.endswith(suffix)


PLANFIX_TASK = Wiring("planfix", "task", "tasks", "id", "customData", "101", _planfix_method("task.getList"))
PLANFIX_CONTACT = Wiring(
    "planfix", "contact", "contacts", "id", "customData", "201", _planfix_method("contact.getList")
)
PME_EVENT = Wiring(
    "planningpme", "event", "events", "key", "fields", "PLANFIX_ID", _path_ends("POST", "/api/do/list")
)
PME_CUSTOMER = Wiring(
    "planningpme", "customer", "customers", "key", "fields", "PLANFIX_ID", _path_ends("GET", "/api/customer")
)


def emulator_marker(wiring: Wiring, record: dict[str, Any]) -> str | None:
    """The marker as the emulator stores it (its control API shows the wire shape, not ours)."""
    custom = record.get(wiring.custom)
    if wiring.emulator == "planningpme":
        value = custom.get(wiring.marker_field) if isinstance(custom, dict) else None
        return None if value is None else str(value)
    items = custom if isinstance(custom, list) else [custom] if isinstance(custom, dict) else []
    for item in items:
        if item["field"]["id"] == wiring.marker_field:
            return str(item["value"]) or None
    return None


@dataclass
class Opened:
    """A connector under test, its wire, and how to let go of it."""

    connector: Connector
    wire: Wire
    close: Callable[[], None] = field(repr=False)


def open_connector(wiring: Wiring, emulator: Emulator, clock: FakeClock, *, timeout: float = 10.0) -> Opened:
    """A connector built the way the daemon builds one (real limiter, real client), on a Wire."""
    wire = Wire(clock)
    if wiring.emulator == "planfix":
        settings = PlanfixSettings(
            url=f"{emulator.base_url}/xml/",
            account="demo",
            api_key="demo-key",
            token="demo-token",
            timeout=timeout,
        )
        limiter = planfix_limiter(50, PLANFIX_QUOTA, 0.0, ZoneInfo(settings.timezone), clock)
        planfix = build_planfix(settings, limiter, transport=wire, retry=RETRY)
        chosen: Connector = planfix.tasks if wiring.entity == "task" else planfix.contacts
        return Opened(chosen, wire, planfix.close)
    pme_settings = PlanningPmeSettings(
        url=emulator.base_url, brand="demo", app_key="demo-appkey", username="demo", password="demo"
    )
    limiter = planningpme_limiter(1_000_000, clock)
    http = HttpTransport("planningpme", httpx.Client(timeout=timeout, transport=wire), limiter, RETRY)
    events, customers = build_planningpme(pme_settings, limiter, transport=http)
    chosen = events if wiring.entity == "event" else customers
    return Opened(chosen, wire, events.client.close)


def _serve(name: EmulatorName, app: Any) -> Emulator:
    server = EmulatorServer(app).start()
    return Emulator(name, server, httpx.Client(base_url=server.base_url, timeout=10))


@pytest.fixture(scope="session")
def contract_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def contract_emulators(contract_clock: FakeClock) -> Iterator[dict[EmulatorName, Emulator]]:
    """One emulator of each system for the whole suite (each test starts from a reset)."""
    planfix_app = create_app(
        PlanfixEmulatorConfig(rate=0, daily_quota=PLANFIX_QUOTA, random_seed=7), contract_clock
    )
    pme_app = PlanningPmeEmulator(EmulatorOptions(hourly_limit=0), clock=contract_clock).app
    emulators: dict[EmulatorName, Emulator] = {
        "planfix": _serve("planfix", planfix_app),
        "planningpme": _serve("planningpme", pme_app),
    }
    yield emulators
    for emulator in emulators.values():
        emulator.http.close()
        emulator.server.stop()
