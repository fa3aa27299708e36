"""Tables 1–3: requests per cycle against the lower bound and the naive baseline (one world, the
same data, one run), and wall time against the rate-limit bound (a smaller world of its own, see
``measure_wall``).

The schedule is the daemon's default: a tasks cycle every 60 s (incremental), a contacts cycle
every 15 min, a daily full scan. "Steady state with k changes" means people change k linked
records on each side between two cycles of the pair, cycle after cycle; the measured cycle is the
last of several such rounds, so the incremental reads' overlap windows hold earlier rounds'
changes (and syncd's own writes) just as they do in a running daemon.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from syncd.planner import SIDES, Side
from tests.benchmarks.edits import Edit, People, kept
from tests.benchmarks.naive import MarkerLinks, NaiveSync
from tests.benchmarks.tables import Table, ratio
from tests.benchmarks.world import Limits, Step, World

PAGE = 100
PAIRS = ("contacts", "tasks")
INTERVAL = {"tasks": 60.0, "contacts": 900.0}
"""The default schedule: seconds between two incremental cycles of the pair."""
RATES = Limits(planfix=20.0, planningpme=40.0)


@dataclass(frozen=True)
class Scale:
    tasks: int
    contacts: int
    ks: tuple[int, ...]
    rounds: dict[str, int]
    """Rounds of edits before the measured cycle, per pair (enough to fill the overlap windows)."""
    wall: tuple[int, int]
    """Tasks and contacts of the world for table 3 (see ``measure_wall``)."""


FULL = Scale(2000, 1000, (0, 10, 100), {"tasks": 6, "contacts": 2}, (1000, 500))
QUICK = Scale(500, 250, (0, 10, 50), {"tasks": 3, "contacts": 2}, (500, 250))


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
class Measurements:
    """Everything tables 1–3 measured; table 5 is computed from it."""

    scale: Scale
    linked: dict[str, int] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    naive: dict[tuple[str, int], tuple[int, int, int, int, int]] = field(default_factory=dict)
    """(pair, k) → (requests, writes, echo writes, edits kept, records created)."""
    wall: list[tuple[str, str, int, Step]] = field(default_factory=list)
    wall_linked: dict[str, int] = field(default_factory=dict)

    def row(self, pair: str, cycle: str, k: int) -> Row:
        return next(r for r in self.rows if (r.pair, r.cycle, r.k) == (pair, cycle, k))


def pages(records: int) -> int:
    return math.ceil(records / PAGE)


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
    """Table 3, in a world of its own: smaller, because the PlanningPME emulator filters and sorts
    every event for each list page (about 25 ms per 1,000 events), and at 2,900 events that alone
    is slower than 40 pages a second. At this size both emulators answer faster than the limits,
    so the limits are what a cycle waits for, as with the real services."""
    tasks, contacts = m.scale.wall
    progress(f"wall time: first sync of {tasks} tasks/events and {contacts} contacts/customers")
    world.seed(tasks, contacts)
    for pair in PAIRS:
        world.cycle(pair)
        m.wall_linked[pair] = len(world.links(pair))
    _settle(world)
    progress(f"wall time at {RATES.planfix:g} + {RATES.planningpme:g} requests/s")
    world.limit(RATES)
    _wall(world, People(world), m)


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


def _wall(world: World, people: People, m: Measurements) -> None:
    top = max(m.scale.ks)
    for pair in PAIRS:
        world.advance(60)
        m.wall.append((pair, "full scan", 0, world.cycle(pair, full=True)))
    for k in sorted({min(10, top), top}):
        for _ in range(3):
            people.edit("tasks", k)
            world.advance(INTERVAL["tasks"])
            step = world.cycle("tasks")
        m.wall.append(("tasks", "incremental", k, step))
    for _ in range(2):
        people.edit("contacts", top)
        world.advance(INTERVAL["contacts"])
        step = world.cycle("contacts")
    m.wall.append(("contacts", "incremental", top, step))
    for pair in PAIRS:
        people.edit(pair, top)
        world.advance(60)
        m.wall.append((pair, "full scan", top, world.cycle(pair, full=True)))


# -- tables ------------------------------------------------------------------------------------


def requests_table(m: Measurements) -> Table:
    t = Table(
        "requests",
        "1. Requests per cycle vs the lower bound",
        ["pair", "cycle", "k", "planfix", "planningpme", "requests", "writes", "bound", "ratio", "kept", "s"],
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
        "kept = edits both systems hold after the cycle (the rest would be lost edits); s = seconds "
        "the cycle took (each emulator runs in a process of its own on this machine)",
    ]
    return t


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
            "wall s",
            "bound s",
            "ratio",
            "phase bound s",
            "phase ratio",
        ],
        goal="ratio ≤ 1.15",
    )
    rates = {"planfix": RATES.planfix, "planningpme": RATES.planningpme}
    for pair, cycle, k, step in m.wall:
        requests = step.wire.requests
        bound = max(requests[s] / rates[s] for s in SIDES)
        reads = {s: step.result.listings[s].requests for s in SIDES}
        phases = max(reads[s] / rates[s] for s in SIDES) + max(
            (requests[s] - reads[s]) / rates[s] for s in SIDES
        )
        t.add(
            pair,
            cycle,
            k,
            requests["planfix"],
            requests["planningpme"],
            round(step.seconds, 2),
            round(bound, 2),
            ratio(step.seconds, bound),
            round(phases, 2),
            ratio(step.seconds, phases),
        )
    tasks, contacts = m.scale.wall
    t.notes += [
        f"both emulators enforce {RATES.planfix:g} (Planfix) and {RATES.planningpme:g} (PlanningPME) "
        "requests/s; syncd paces each system at that rate (one request per 1/rate s plus its 3 % "
        "guard, as it paces Planfix at the real 1 request/s); bound = max over the systems of "
        "requests / rate (both are read, and written, at once)",
        f"a world of its own: {tasks} tasks + {tasks} events, {contacts} contacts + {contacts} "
        f"customers (linked: {', '.join(f'{p} {n}' for p, n in m.wall_linked.items())}), first "
        "synced without limits; the PlanningPME emulator spends about 25 ms per 1,000 events on "
        "each list page, so with the 2,000 of table 1 it could not serve 40 pages a second",
        "phase bound = the slower system's reads + the slower system's writes: a cycle plans from "
        "both listings, so no write can start before both systems were read; where one system "
        "is read longer and the other written more (a small incremental tasks cycle: PlanningPME "
        "scans, Planfix writes) the bound above cannot be reached",
        "incremental rows: the 3rd round (tasks, 60 s apart) or 2nd round (contacts, 15 min apart) "
        "of k edits per side",
    ]
    return t
