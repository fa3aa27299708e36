"""A benchmark world: both emulators on 127.0.0.1, a syncd state database, and cycles run on demand.

Each emulator runs in a process of its own (``emulator_process``), so serving requests does not
compete with syncd for this interpreter's lock, as a remote service would not. The world keeps
one clock that syncd and both emulators follow: its wall time can be moved forward (``advance``)
while its monotonic time stays real, so a benchmark can put a minute between two cycles (the
default task schedule) without waiting for it: the overlap windows of the incremental reads
(Planfix 2 min, PlanningPME 5 min) then behave as they do in production, where a cycle re-reads
only what changed in the last few minutes, instead of everything the first sync wrote a second
ago. Rate limits still run on real time.

Requests are counted on the wire by the emulators (``/_emulator/stats``), so they include every
retry, log-in and read-before-write that syncd makes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from mappings.spec import MappingSpec
from state.store import Store
from syncd.connectors.base import Connector
from syncd.connectors.planfix.connector import CopyAges, PlanfixTaskConnector, build_planfix
from syncd.connectors.planningpme.connector import build_planningpme
from syncd.emulators.config import emulator_config
from syncd.engine.applier import FailurePolicy
from syncd.engine.cycle import Cycle, CycleOptions, CycleResult
from syncd.engine.pairs import Pair
from syncd.engine.planner import SIDES, GuardLimits, Side
from syncd.ratelimit import AccountLimiter, DailyQuota, SlidingWindow
from syncd.runtime import Remotes, build_pairs, load_mappings
from syncd.settings import Settings, load_settings
from tests.benchmarks.clock import OffsetClock

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Limits:
    """Requests per second each emulator enforces and syncd keeps to; 0 = unlimited."""

    planfix: float = 0.0
    planningpme: float = 0.0


@dataclass(frozen=True)
class Wire:
    """What the emulators saw during one step."""

    requests: Mapping[Side, int]
    writes: Mapping[Side, int]
    by_method: Mapping[Side, Mapping[str, int]]

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def total_writes(self) -> int:
        return sum(self.writes.values())


@dataclass
class Step:
    """One cycle of one pair, as measured."""

    pair: str
    result: CycleResult
    wire: Wire
    seconds: float
    cpu: Mapping[str, float]
    """CPU seconds spent during the cycle: ``syncd`` (this process, every thread of it) and each
    emulator's process by side, so a wall time can be told apart from a machine that was busy."""
    copy_age: float = 0.0
    """The oldest copy of a Planfix task a ``task.update`` of this cycle wrote back: seconds from
    the end of its read to the end of the write (``PlanfixTaskConnector.copy_ages``)."""


class EmulatorProcess:
    """``python -m tests.benchmarks.emulator_process SYSTEM``, started and stopped by the world."""

    def __init__(self, system: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks.emulator_process", system],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the {system} emulator did not start (said {self.base_url!r})")

    def cpu_seconds(self, http: httpx.Client) -> float:
        """CPU seconds the emulator's process has used so far (it reports its own process_time)."""
        response = http.get(f"{self.base_url}/_bench/cpu")
        response.raise_for_status()
        return float(response.json()["cpu"])

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # the emulator's signal to stop
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Emulators:
    planfix: EmulatorProcess
    planningpme: EmulatorProcess
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=300))

    def url(self, side: Side) -> str:
        return (self.planfix if side == "planfix" else self.planningpme).base_url

    def bench(self, path: str, body: dict[str, float]) -> None:
        for side in SIDES:
            self.http.post(f"{self.url(side)}/_bench/{path}", json=body).raise_for_status()

    def cpu(self) -> dict[str, float]:
        return {
            "planfix": self.planfix.cpu_seconds(self.http),
            "planningpme": self.planningpme.cpu_seconds(self.http),
        }

    def limit(self, limits: Limits) -> None:
        """Enforce ``limits`` from now on (the emulators' own gates, as a fresh account has)."""
        rates: dict[Side, float] = {"planfix": limits.planfix, "planningpme": limits.planningpme}
        for side, rate in rates.items():
            self.http.post(f"{self.url(side)}/_bench/rate", json={"rate": rate}).raise_for_status()

    def stop(self) -> None:
        self.http.close()
        self.planfix.stop()
        self.planningpme.stop()


@dataclass
class World:
    limits: Limits
    clock: OffsetClock
    emulators: Emulators
    settings: Settings
    specs: list[MappingSpec]
    store: Store
    remotes: Remotes = field(init=False)
    people: Remotes = field(init=False)
    """A second set of connectors, for the edits "people" make between cycles."""
    pairs: dict[str, Pair] = field(init=False)
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=120))

    def __post_init__(self) -> None:
        self._connect()

    def _connect(self) -> None:
        self.remotes = _remotes(self.settings, self.clock, self.limits)
        # People edit through the systems' own screens, which no API limit paces: their
        # connectors keep no rate, and the emulators lift theirs while they edit (``unthrottled``).
        self.people = _remotes(self.settings, self.clock, Limits())
        self.pairs = {p.name: p for p in build_pairs(self.settings, self.specs, self.remotes, self.store)}

    def limit(self, limits: Limits) -> None:
        """From now on both emulators enforce ``limits`` and syncd keeps to them."""
        self.remotes.close()
        self.people.close()
        self.limits = limits
        self.emulators.limit(limits)
        self._connect()
        for entity in ("task", "event"):  # log in now, so the first measured cycle does not
            self.remotes.by_entity[entity].get("0")
        with self.unthrottled():
            for entity in ("task", "event"):
                self.people.by_entity[entity].get("0")

    @contextmanager
    def unthrottled(self) -> Iterator[None]:
        """Both emulators enforce no rate inside the block (people's edits), ``limits`` after it."""
        if self.limits == Limits():
            yield
            return
        self.emulators.limit(Limits())
        try:
            yield
        finally:
            self.emulators.limit(self.limits)

    def advance(self, seconds: float) -> None:
        """Move wall time forward for syncd and both emulators."""
        self.clock.advance(seconds)
        self.emulators.bench("clock", {"offset": self.clock.offset})

    # -- the emulators' control API ----------------------------------------------------------

    def _control(self, side: Side, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.emulators.url(side)}/_emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def seed(self, tasks: int, contacts: int) -> None:
        self._control("planfix", "POST", "seed", {"tasks": tasks, "contacts": contacts, "seed": 1})
        self._control("planningpme", "POST", "seed", {"events": tasks, "customers": contacts, "seed": 2})

    def reset_stats(self) -> None:
        for side in SIDES:
            self._control(side, "POST", "stats/reset")

    def wire(self) -> Wire:
        stats = {side: self._control(side, "GET", "stats") for side in SIDES}
        return Wire(
            requests={s: int(stats[s]["total"]) for s in SIDES},
            writes={s: int(stats[s]["writes"]) for s in SIDES},
            by_method={s: dict(stats[s]["by_method"]) for s in SIDES},
        )

    def records(self, kind: str) -> list[dict[str, Any]]:
        side: Side = "planfix" if kind in ("tasks", "contacts") else "planningpme"
        return list(self._control(side, "GET", f"records/{kind}"))

    # -- syncd ---------------------------------------------------------------------------------

    def cycle(self, pair: str, *, full: bool = False) -> Step:
        """One cycle of ``pair``, as the daemon's job would run it; requests counted on the wire."""
        options = CycleOptions(
            full=full,
            guard=GuardLimits(max_delete=1000, max_delete_percent=100),
            failures=FailurePolicy(max_attempts=8, backoff_base_s=60.0),
        )
        self.reset_stats()
        ages = CopyAges()
        tasks = self.remotes.by_entity["task"]
        if isinstance(tasks, PlanfixTaskConnector):
            tasks.copy_ages = ages
        served = self.emulators.cpu()
        cpu = time.process_time()
        started = time.perf_counter()
        result = Cycle(self.store, self.pairs[pair], options, self.clock.now).run()
        seconds = time.perf_counter() - started
        used = {"syncd": time.process_time() - cpu}
        used |= {side: after - served[side] for side, after in self.emulators.cpu().items()}
        return Step(pair, result, self.wire(), seconds, used, ages.max)

    def links(self, pair: str) -> list[tuple[str, str]]:
        return [(link.planfix_key, link.planningpme_key) for link in self.store.links(pair)]

    def connector(self, entity: str) -> Connector:
        return self.people.by_entity[entity]

    def close(self) -> None:
        self.remotes.close()
        self.people.close()
        self.store.close()
        self.http.close()


def scaled_window(rate: float) -> SlidingWindow:
    """One request per ``1 / rate`` seconds, with the 3 % guard syncd's own windows keep.

    This is how syncd paces Planfix at its real 1 request/s (``per_second_window(1)``), sped up:
    the window syncd would use for 20 requests/s lets 20 go at once and then waits, which would
    make a short cycle look faster than the rate allows.
    """
    return SlidingWindow(1, 1.0 / rate, guard=0.03 / rate)


def _remotes(settings: Settings, clock: OffsetClock, limits: Limits) -> Remotes:
    """syncd's connectors, each account behind a limiter that keeps to the emulator's rate."""
    zone = ZoneInfo(settings.planfix.timezone)
    daily = DailyQuota(settings.planfix.daily_quota, settings.planfix.quota_reserve, zone, clock.now())
    limiters: dict[Side, AccountLimiter] = {
        "planfix": AccountLimiter(
            "planfix", [scaled_window(limits.planfix)] if limits.planfix else [], daily, clock
        ),
        # The hourly budget as syncd keeps it, and the benchmark's scaled per-second rate.
        "planningpme": AccountLimiter(
            "planningpme",
            [
                SlidingWindow(settings.planningpme.requests_per_hour, 3600.0),
                *([scaled_window(limits.planningpme)] if limits.planningpme else []),
            ],
            None,
            clock,
        ),
    }
    planfix = build_planfix(settings.planfix, limiters["planfix"])
    events, customers = build_planningpme(settings.planningpme, limiters["planningpme"])
    return Remotes(
        limiters,
        {"task": planfix.tasks, "contact": planfix.contacts, "event": events, "customer": customers},
        [planfix.close, events.client.close],
    )


@contextmanager
def world(limits: Limits = Limits()) -> Iterator[World]:
    """A fresh world in a temporary directory; everything is stopped and removed afterwards."""
    clock = OffsetClock()
    planfix = EmulatorProcess("planfix")
    try:
        planningpme = EmulatorProcess("planningpme")
    except BaseException:
        planfix.stop()
        raise
    emulators = Emulators(planfix, planningpme)
    try:
        emulators.limit(limits)
        with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp:
            config = Path(tmp) / "syncd.toml"
            sections: dict[str, dict[str, Any]] = {
                # Both limits are kept by the world's own limiters (see _remotes); these only pass
                # the settings' checks. The quota is out of the way: table 5 works it out.
                "planfix": {"requests_per_second": 50.0, "daily_quota": 1_000_000, "quota_reserve": 0.1},
                "planningpme": {"requests_per_hour": 1_000_000},
                "sync": {"max_delete": 1000, "max_delete_percent": 100},
            }
            config.write_text(emulator_config(planfix.base_url, planningpme.base_url, sections))
            settings = load_settings(config)
            specs = load_mappings(settings, config.parent)
            store = Store.open(settings.state.path)
            w = World(limits, clock, emulators, settings, specs, store)
            try:
                yield w
            finally:
                w.close()
    finally:
        emulators.stop()
