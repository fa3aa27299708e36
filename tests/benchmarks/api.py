"""Tables 1–3: requests per cycle against the lower bound and the naive baseline (one world, the
same data, one run), and wall time against the rate-limit bound (a smaller world of its own, at
slow rates, each cycle repeated; see ``measure_wall``).

The schedule is the daemon's default: a tasks cycle every 60 s (incremental), a contacts cycle
every 15 min, a daily full scan. "Steady state with k changes" means people change k linked
records on each side between two cycles of the pair, cycle after cycle; the measured cycle is the
last of several such rounds, so the incremental reads' overlap windows hold earlier rounds'
changes (and syncd's own writes) just as they do in a running daemon.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from syncd.engine.planner import SIDES, Side
from tests.benchmarks.edits import Edit, People, kept
from tests.benchmarks.naive import MarkerLinks, NaiveSync
from tests.benchmarks.tables import Table, ratio
from tests.benchmarks.world import Limits, Step, World

PAGE = 100
PAIRS = ("contacts", "tasks")
INTERVAL = {"tasks": 60.0, "contacts": 900.0}
"""The default schedule: seconds between two incremental cycles of the pair."""
RATES = Limits(planfix=4.0, planningpme=8.0)
"""Table 3's rates. Slow enough that what a request costs to serve (both emulators) and to
process (syncd parses and maps a page of 100 records in some 20–40 ms of CPU, serially with asking
for the next page) stays a small part of the interval between two requests, even on a 2-core
machine shared with other work: otherwise the ratio measures the machine, not syncd. At 20 and
40 requests/s two quiet runs disagreed (1.02–1.13 against 1.07–2.58)."""


@dataclass(frozen=True)
class Scale:
    tasks: int
    contacts: int
    ks: tuple[int, ...]
    rounds: dict[str, int]
    """Rounds of edits before the measured cycle, per pair (enough to fill the overlap windows)."""
    wall: tuple[int, int]
    """Tasks and contacts of the world for table 3 (see ``measure_wall``)."""
    wall_ks: tuple[int, int]
    """Table 3's small and large k (records changed per side)."""
    repeats: int
    """Table 3 measures each kind of cycle this many times and shows the spread."""


FULL = Scale(2000, 1000, (0, 10, 100), {"tasks": 6, "contacts": 2}, (300, 150), (5, 20), 3)
QUICK = Scale(500, 250, (0, 10, 50), {"tasks": 3, "contacts": 2}, (200, 100), (5, 10), 3)


@dataclass
class Row:
    pair: str
    cycle: str
    k: int
    step: Step
    bound: int
    kept: int | None = None
    echo: int | None = None


@dataclass
class WallRow:
    """One kind of cycle of table 3, measured ``repeats`` times in a row."""

    pair: str
    cycle: str
    k: int
    steps: list[Step]


@dataclass(frozen=True)
class Census:
    """The Planfix contacts of table 1's world: people and companies (Planfix lists them apart)."""

    people: int
    companies: int


@dataclass
class Measurements:
    """Everything tables 1–3 measured; table 5 is computed from it."""

    scale: Scale
    linked: dict[str, int] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    naive: dict[tuple[str, int], tuple[int, int, int, int, int]] = field(default_factory=dict)
    """(pair, k) → (requests, writes, echo writes, edits kept, records created)."""
    census: Census = Census(0, 0)
    wall: list[WallRow] = field(default_factory=list)
    wall_linked: dict[str, int] = field(default_factory=dict)
    wall_load: tuple[float, float] = (0.0, 0.0)
    """The machine's 1-minute load average when table 3 started and ended."""

    def row(self, pair: str, cycle: str, k: int) -> Row:
        return next(r for r in self.rows if (r.pair, r.cycle, r.k) == (pair, cycle, k))


def pages(records: int) -> int:
    return math.ceil(records / PAGE)


def planfix_requests_per_write(step: Step) -> float | None:
    """Planfix requests beyond the cycle's listing, per Planfix write (the write itself and any
    read it needs first); None when the cycle wrote nothing to Planfix."""
    writes = step.wire.writes["planfix"]
    extra = step.wire.requests["planfix"] - step.result.listings["planfix"].requests
    return extra / writes if writes else None


def _census(world: World) -> Census:
    companies = sum(1 for c in world.records("contacts") if str(c.get("isCompany")) in ("1", "true"))
    return Census(len(world.records("contacts")) - companies, companies)


def _taking_part(world: World, step: Step) -> dict[Side, int]:
    """Records of a complete listing that take part: in the mapping's scope and not archived."""
    mapper = world.pairs[step.pair].mapper
    return {
        side: sum(
            1
            for r in step.result.listings[side].records
            if mapper.included(side, r.data) and not mapper.is_archived(side, r.data)
        )
        for side in SIDES
    }


def _settle(world: World) -> None:
    """Move past the overlap windows of earlier writes, and let syncd see them once."""
    world.advance(600)
    for pair in PAIRS:
        world.cycle(pair)


def measure(world: World, scale: Scale, progress: Callable[[str], None]) -> Measurements:
    m = Measurements(scale)
    people = People(world)
    world.seed(scale.tasks, scale.contacts)
    progress(f"first sync of {scale.tasks} tasks/events and {scale.contacts} contacts/customers")
    for pair in PAIRS:
        step = world.cycle(pair)
        part = _taking_part(world, step)
        linked = len(world.links(pair))
        m.linked[pair] = linked
        creates = max(0, 2 * linked - sum(part.values()))
        m.rows.append(Row(pair, "first sync", 0, step, sum(pages(n) for n in part.values()) + creates))
    m.census = _census(world)
    _settle(world)
    for k in scale.ks:
        progress(f"steady state, k = {k}")
        for pair in PAIRS:
            _steady(world, people, m, pair, k)
    progress("naive baseline")
    links = MarkerLinks()
    for k in scale.ks:
        _naive(world, people, m, links, k)
    return m


def measure_wall(world: World, m: Measurements, progress: Callable[[str], None]) -> None:
    """Table 3, in a world of its own: small, and at slow rates (see ``RATES``), so that serving
    and processing a request is a small part of the interval between two and the limits are what
    a cycle waits for, as with the real services (Planfix: 1 request/s). The PlanningPME emulator
    filters and sorts every event for each list page (about 25 ms per 1,000 events): a small
    world keeps that cheap too. Each kind of cycle runs ``repeats`` times; the spread shows how
    much the machine (other work on the same cores) moved the figure."""
    tasks, contacts = m.scale.wall
    progress(f"wall time: first sync of {tasks} tasks/events and {contacts} contacts/customers")
    world.seed(tasks, contacts)
    for pair in PAIRS:
        world.cycle(pair)
        m.wall_linked[pair] = len(world.links(pair))
    _settle(world)
    progress(
        f"wall time at {RATES.planfix:g} + {RATES.planningpme:g} requests/s, {m.scale.repeats} times each"
    )
    world.limit(RATES)
    started = os.getloadavg()[0]
    _wall(world, People(world), m)
    m.wall_load = (started, os.getloadavg()[0])


def _steady(world: World, people: People, m: Measurements, pair: str, k: int) -> None:
    bound = 2 * pages(m.linked[pair]) + 2 * k
    edits: list[Edit] = []
    for _ in range(m.scale.rounds[pair]):
        edits = people.edit(pair, k)
        world.advance(INTERVAL[pair])
        step = world.cycle(pair)
    row = Row(pair, "incremental", k, step, bound, kept=kept(world, edits) if k else None)
    world.advance(INTERVAL[pair])
    row.echo = world.cycle(pair).wire.total_writes  # nobody changed anything: any write is an echo
    m.rows.append(row)
    edits = people.edit(pair, k)
    world.advance(60)
    step = world.cycle(pair, full=True)
    m.rows.append(Row(pair, "full scan", k, step, bound, kept=kept(world, edits) if k else None))


def _naive(world: World, people: People, m: Measurements, links: MarkerLinks, k: int) -> None:
    for pair in PAIRS:
        edits = people.edit(pair, k)
        naive = NaiveSync(world.pairs[pair], links)
        world.reset_stats()
        created = naive.run().creates
        wire = world.wire()
        held = kept(world, edits) if k else 0
        world.reset_stats()
        naive.run()  # nobody changed anything since: every write now is an echo
        m.naive[(pair, k)] = (wire.total, wire.total_writes, world.wire().total_writes, held, created)


WARM_ROUNDS = {"tasks": 2, "contacts": 1}
"""Scheduled rounds before the measured ones, so the incremental reads' overlap windows (Planfix
2 min, PlanningPME 5 min) hold earlier rounds' changes as in a running daemon."""


def _wall(world: World, people: People, m: Measurements) -> None:
    small, top = m.scale.wall_ks
    n = m.scale.repeats

    def full(pair: str, k: int) -> WallRow:
        steps = []
        for _ in range(n):
            people.edit(pair, k)
            world.advance(60)
            steps.append(world.cycle(pair, full=True))
        return WallRow(pair, "full scan", k, steps)

    def scheduled(pair: str, k: int) -> WallRow:
        steps = []
        for i in range(WARM_ROUNDS[pair] + n):
            people.edit(pair, k)
            world.advance(INTERVAL[pair])
            step = world.cycle(pair)
            if i >= WARM_ROUNDS[pair]:
                steps.append(step)
        return WallRow(pair, "incremental", k, steps)

    m.wall += [full(pair, 0) for pair in PAIRS]
    m.wall += [scheduled("tasks", small), scheduled("tasks", top), scheduled("contacts", top)]
    m.wall += [full(pair, top) for pair in PAIRS]


# -- tables ------------------------------------------------------------------------------------


def requests_table(m: Measurements) -> Table:
    t = Table(
        "requests",
        "1. Requests per cycle vs the lower bound",
        [
            "pair",
            "cycle",
            "k",
            "planfix",
            "planningpme",
            "requests",
            "writes",
            "bound",
            "ratio",
            "pf req/write",
            "kept",
            "s",
        ],
        goal="ratio ≤ 1.10 in steady state; exactly 0 writes when nothing changed",
    )
    for r in m.rows:
        w = r.step.wire
        t.add(
            r.pair,
            r.cycle,
            r.k,
            w.requests["planfix"],
            w.requests["planningpme"],
            w.total,
            w.total_writes,
            r.bound,
            ratio(w.total, r.bound),
            _round(planfix_requests_per_write(r.step)),
            f"{r.kept}/{2 * r.k}" if r.kept is not None else None,
            round(r.step.seconds, 2),
        )
    t.notes += [
        f"seeded {m.scale.tasks} tasks + {m.scale.tasks} events, {m.scale.contacts} contacts + "
        f"{m.scale.contacts} customers; no rate limits (requests counted by the emulators)",
        "bound = pages a complete read of the records that take part needs (100 per page, per side) "
        "+ one write per changed record (k per side; at first sync one create per record without "
        "a counterpart). Only dated Planfix tasks take part in default:tasks (and unlinked canceled "
        "ones do not), so the bound counts those; syncd must still page through every task",
        f"linked after the first sync: {', '.join(f'{p} {n}' for p, n in m.linked.items())}",
        "k = records changed by people on each side since the pair's previous cycle; incremental = "
        "the scheduled cycle (tasks every 60 s, contacts every 15 min), measured after "
        f"{m.scale.rounds['tasks']} (tasks) / {m.scale.rounds['contacts']} (contacts) such rounds; "
        "full scan = the daily reconciliation",
        "pf req/write = Planfix requests beyond the cycle's listing pages, per Planfix write: the "
        "write itself plus any read it needs (a task is read again, in batches of task.getMulti, "
        "right before it is written); table 5 prices writes with these figures",
        "kept = edits both systems hold after the cycle (the rest would be lost edits); s = seconds "
        "the cycle took (each emulator runs in a process of its own on this machine)",
    ]
    return t


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def naive_table(m: Measurements) -> Table:
    t = Table(
        "naive",
        "2. syncd vs a naive stateless sync (same connectors and mapping, same data)",
        [
            "pair",
            "k",
            "syncd req",
            "naive req",
            "syncd writes",
            "naive writes",
            "syncd echo",
            "naive echo",
            "syncd kept",
            "naive kept",
            "naive dupes",
        ],
    )
    for (pair, k), (requests, writes, echo, held, created) in m.naive.items():
        r = m.row(pair, "incremental", k)
        t.add(
            pair,
            k,
            r.step.wire.total,
            requests,
            r.step.wire.total_writes,
            writes,
            r.echo,
            echo,
            f"{r.kept}/{2 * k}" if k else None,
            f"{held}/{2 * k}" if k else None,
            created,
        )
    t.notes += [
        "naive = read both systems completely, pair records by marker, write every field whose "
        "mapped value differs; with no state it cannot tell which side changed, so the mapping's "
        "conflict rule decides (newest, else Planfix): PlanningPME edits are overwritten",
        "syncd = its scheduled incremental cycle with the same k (table 1); echo = writes of the "
        "next run when nobody changed anything; naive dupes = records the naive sync created on "
        "its first run although they had a counterpart: pairs syncd linked by match key carry no "
        "marker, and without link state the naive sync cannot know them",
    ]
    return t


@dataclass(frozen=True)
class WallFigures:
    """One measured cycle of table 3, against the bounds its requests imply."""

    seconds: float
    bound: float
    phases: float
    syncd_cpu: float
    serving_cpu: float
    requests: int

    @property
    def ratio(self) -> float:
        return self.seconds / self.bound

    @staticmethod
    def of(step: Step) -> WallFigures:
        rates = {"planfix": RATES.planfix, "planningpme": RATES.planningpme}
        requests = step.wire.requests
        reads = {s: step.result.listings[s].requests for s in SIDES}
        return WallFigures(
            seconds=step.seconds,
            bound=max(requests[s] / rates[s] for s in SIDES),
            phases=max(reads[s] / rates[s] for s in SIDES)
            + max((requests[s] - reads[s]) / rates[s] for s in SIDES),
            syncd_cpu=step.cpu["syncd"],
            serving_cpu=sum(step.cpu[s] for s in SIDES),
            requests=step.wire.total,
        )


def _spread(values: Sequence[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def wall_table(m: Measurements) -> Table:
    t = Table(
        "wall",
        "3. Wall time vs the rate-limit bound",
        [
            "pair",
            "cycle",
            "k",
            "planfix",
            "planningpme",
            "bound s",
            "wall s",
            "ratio min",
            "ratio med",
            "ratio max",
            "phase bound s",
            "phase ratio med",
            "syncd ms/req",
            "syncd cpu %",
            "serving cpu %",
            "copy age s",
        ],
        goal="ratio ≤ 1.15 (phase ratio where one system is read longer and the other written more)",
    )
    for row in m.wall:
        runs = sorted(((WallFigures.of(step), step) for step in row.steps), key=lambda r: r[0].ratio)
        figures = [f for f, _ in runs]
        middle, middle_step = runs[len(runs) // 2]
        low, med, high = _spread([f.ratio for f in figures])
        requests = middle_step.wire.requests
        t.add(
            row.pair,
            row.cycle,
            row.k,
            requests["planfix"],
            requests["planningpme"],
            round(middle.bound, 2),
            round(statistics.median(f.seconds for f in figures), 2),
            round(low, 3),
            round(med, 3),
            round(high, 3),
            round(middle.phases, 2),
            round(statistics.median(f.seconds / f.phases for f in figures), 3),
            round(statistics.median(1000 * f.syncd_cpu / f.requests for f in figures), 1),
            round(statistics.median(100 * f.syncd_cpu / f.seconds for f in figures)),
            round(statistics.median(100 * f.serving_cpu / f.seconds for f in figures)),
            round(max(step.copy_age for step in row.steps), 2),
        )
    tasks, contacts = m.scale.wall
    t.notes += [
        "copy age = the oldest copy of a Planfix task that a task.update wrote back, over the runs "
        "(seconds from the end of its read to the end of the write; task.update replaces what it is "
        f"not given, so the copy is read right before): at {RATES.planfix:g} requests/s; at Planfix's "
        f"real 1 request/s it is about {RATES.planfix:g} times as long",
        f"both emulators enforce {RATES.planfix:g} (Planfix) and {RATES.planningpme:g} (PlanningPME) "
        "requests/s and syncd paces itself at the same rates (one request per 1/rate s plus its 3 % "
        "guard, as it paces Planfix at the real 1 request/s); bound = max over the systems of "
        "requests / rate: both systems are read, and written, at the same time",
        "phase bound = the slower system's reads + the slower system's writes: a cycle plans from "
        "both listings, so no write can start before both systems were read; where one system is "
        "read longer and the other written more (a small scheduled tasks cycle: PlanningPME scans, "
        "Planfix writes) the bound cannot be reached and the phase ratio is the figure to read",
        f"each kind of cycle ran {m.scale.repeats} times in a row (scheduled cycles after "
        f"{WARM_ROUNDS['tasks']} (tasks) / {WARM_ROUNDS['contacts']} (contacts) unmeasured rounds "
        "of the same k); ratio min / med / max = the spread of wall / bound over those runs, the "
        "other columns are medians (requests and bounds of the median run). Extra time only ever "
        "comes from waiting, so the minimum is the best estimate of syncd's own overlap and a wide "
        "spread means the machine was busy",
        "syncd ms/req = CPU seconds of the syncd process (every thread: reading, mapping, planning, "
        "writing) per request; syncd cpu % and serving cpu % = CPU seconds of syncd and of both "
        "emulator processes together per wall second. At these rates a request's processing and "
        "serving are a small part of the interval between two requests, so the ratio measures "
        "syncd's waiting and overlap; at Planfix's real 1 request/s they are smaller still",
        f"a world of its own: {tasks} tasks + {tasks} events, {contacts} contacts + {contacts} "
        f"customers seeded (linked: {', '.join(f'{p} {n}' for p, n in m.wall_linked.items())}), "
        "first synced without limits; the machine's 1-minute load average was "
        f"{m.wall_load[0]:.1f} when the table started and {m.wall_load[1]:.1f} when it ended "
        f"({os.cpu_count()} CPUs)",
    ]
    return t
