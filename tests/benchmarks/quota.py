"""Table 5: the largest account syncd keeps in step within Planfix's daily quota.

Planfix is the side with a daily quota (20,000 / 50,000 / 100,000 requests by plan) and 1
request/s; syncd keeps 10 % of it in reserve. A day of the default schedule costs, in Planfix
requests:

- a tasks cycle every 60 s: one "modified since" read, one page per 100 tasks changed in its
  window (the minute since the last cycle + the 2-minute overlap + up to a minute of flooring);
- a contacts cycle every 15 min: Planfix has no "modified since" for contacts, so a full read.
  People and companies are two listings (``contact.getList`` lists people unless asked for
  companies), so a read costs the pages of each: a configurable share of the contacts are
  companies (default 20 %);
- a daily full scan: every task and every contact once more;
- per change made in PlanningPME, one Planfix write plus the reads it needs first (a task is
  read again, in ``task.getMulti`` batches, right before it is written).

What each operation costs is taken from tables 1 and 3 of the same run where they measure it:
the Planfix requests per write of each entity (as a write itself plus reads per write, so a
cycle with few writes pays a whole batch read for them), the requests of an empty tasks poll,
and how many listings a contacts read makes and what it costs beyond their pages. Changes made
in Planfix cost Planfix nothing beyond the pages above (they are written to PlanningPME). Changes
are assumed to fall in 8 working hours, half in each system, and to split between tasks and
contacts as the records do (2 : 1). The model is checked against the measured cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from tests.benchmarks.api import Measurements, pages, planfix_requests_per_write
from tests.benchmarks.tables import Table

QUOTAS = (20_000, 50_000, 100_000)
RESERVE = 0.10
RATE = 1.0
"""Planfix requests per second (the documented limit)."""
CHANGES = (1_000, 5_000, 20_000)
TASKS_PER_CONTACT = 2
COMPANY_SHARE = 0.20
"""The share of companies among the contacts, unless ``--companies`` says otherwise."""
WORK_MINUTES = 8 * 60
WINDOW_MINUTES = 1 + 2 + 0.5
TASK_POLLS = 24 * 60
CONTACT_SCANS = 24 * 4
CONTACT_CYCLES_AT_WORK = WORK_MINUTES // 15


@dataclass(frozen=True)
class WriteCost:
    """Planfix requests for the writes of one cycle: each write, plus reads per write."""

    reads_per_write: float

    def per_cycle(self, writes: float) -> float:
        """Requests of a cycle with ``writes`` writes on average: a cycle with any write reads
        at least one batch, so below one write per cycle every write pays a whole batch."""
        if writes <= 0:
            return 0.0
        if writes < 1:
            return writes * (1 + _ceil(self.reads_per_write))
        return writes + _ceil(writes * self.reads_per_write)

    @property
    def per_write(self) -> float:
        return 1 + self.reads_per_write


@dataclass(frozen=True)
class Coefficients:
    tasks: WriteCost
    contacts: WriteCost
    poll: int
    """Planfix requests of a tasks poll that finds nothing."""
    listings: int
    """Listings of a contacts read: 2 when people and companies are listed apart."""
    scan_extra: int
    """Requests of a contacts read beyond the pages of its listings (measured; 0 expected)."""
    company_share: float

    def scan(self, contacts: int) -> int:
        """Planfix requests of one full contacts read."""
        companies = round(contacts * self.company_share)
        if self.listings == 1:
            return _listing(contacts) + self.scan_extra
        return _listing(contacts - companies) + _listing(companies) + self.scan_extra


def _ceil(value: float) -> int:
    """``math.ceil`` that does not turn 0.1 × 30 (3.0000000000000004 in floats) into 4."""
    return math.ceil(round(value, 9))


def _listing(records: int) -> int:
    """Requests of one listing: a page per 100 records, and an empty listing still asks once."""
    return max(1, pages(records))


def _measured_write_cost(m: Measurements, pair: str) -> WriteCost:
    """Reads per Planfix write of ``pair`` from the measured cycles with the most writes (where
    read batches are as full as they get): table 1's largest k, without limits, and table 3's,
    at its rates (where a batch that gathers writes for a few seconds could hold fewer); the
    larger of the two."""
    top = max(m.scale.wall_ks)
    steps = [m.row(pair, "incremental", max(m.scale.ks)).step]
    steps += [
        s for row in m.wall if (row.pair, row.cycle, row.k) == (pair, "incremental", top) for s in row.steps
    ]
    reads = [per_write - 1 for per_write in map(planfix_requests_per_write, steps) if per_write is not None]
    return WriteCost(max(0.0, *reads) if reads else 1.0)


def listings_of(measured: int, people: int, companies: int) -> tuple[int, int]:
    """(listings, requests beyond their pages) of a full contacts read that took ``measured``
    requests: two listings (people, then companies) if it cost at least their pages, else one
    listing of everyone."""
    two = _listing(people) + _listing(companies)
    if measured >= two:
        return 2, measured - two
    return 1, max(0, measured - _listing(people + companies))


def coefficients(m: Measurements, company_share: float = COMPANY_SHARE) -> Coefficients:
    measured = m.row("contacts", "full scan", 0).step.result.listings["planfix"].requests
    listings, extra = listings_of(measured, m.census.people, m.census.companies)
    return Coefficients(
        tasks=_measured_write_cost(m, "tasks"),
        contacts=_measured_write_cost(m, "contacts"),
        poll=m.row("tasks", "incremental", 0).step.wire.requests["planfix"],
        listings=listings,
        scan_extra=extra,
        company_share=company_share,
    )


@dataclass(frozen=True)
class Day:
    polls: int
    contact_scans: int
    full_scan: int
    writes: int

    @property
    def total(self) -> int:
        return self.polls + self.contact_scans + self.full_scan + self.writes


def _task_writes_per_minute(changes: int) -> float:
    """Planfix task writes per working minute: PlanningPME's half of the task changes."""
    return changes * TASKS_PER_CONTACT / (TASKS_PER_CONTACT + 1) / 2 / WORK_MINUTES


def _contact_writes_per_cycle(changes: int) -> float:
    return changes / (TASKS_PER_CONTACT + 1) / 2 / CONTACT_CYCLES_AT_WORK


def day(tasks: int, contacts: int, changes: int, c: Coefficients) -> Day:
    per_minute = changes / WORK_MINUTES
    busy_pages = max(c.poll, math.ceil(per_minute * WINDOW_MINUTES / 100))
    polls = WORK_MINUTES * busy_pages + (TASK_POLLS - WORK_MINUTES) * c.poll
    writes = WORK_MINUTES * c.tasks.per_cycle(_task_writes_per_minute(changes))
    writes += CONTACT_CYCLES_AT_WORK * c.contacts.per_cycle(_contact_writes_per_cycle(changes))
    return Day(
        polls=polls,
        contact_scans=CONTACT_SCANS * c.scan(contacts),
        full_scan=_listing(tasks) + c.scan(contacts),
        writes=math.ceil(writes),
    )


def fits(tasks: int, contacts: int, changes: int, quota: int, c: Coefficients) -> bool:
    usable = quota * (1 - RESERVE)
    d = day(tasks, contacts, changes, c)
    if d.total > usable or d.total > RATE * 86_400:
        return False
    # Each cycle must also fit its interval at 1 request/s: a busy minute's tasks poll and task
    # writes within the minute, and a contacts read and its writes within 15 min beside 15 such
    # minutes of tasks cycles.
    minute = c.poll + math.ceil(c.tasks.per_cycle(_task_writes_per_minute(changes)))
    contacts_cycle = c.scan(contacts) + c.contacts.per_cycle(_contact_writes_per_cycle(changes))
    return minute <= 60 * RATE and (contacts_cycle + 15 * minute) / RATE <= 900


def largest(quota: int, changes: int, c: Coefficients) -> int:
    """The most contacts (with twice as many tasks) that fit, to the nearest 100."""
    low, high = 0, 1_000_000
    while high - low > 100:
        mid = (low + high) // 2 // 100 * 100
        if mid <= low:
            break
        if fits(TASKS_PER_CONTACT * mid, mid, changes, quota, c):
            low = mid
        else:
            high = mid
    return low


def table(m: Measurements, company_share: float = COMPANY_SHARE) -> Table:
    c = coefficients(m, company_share)
    t = Table(
        "quota",
        "5. Daily quota fit (Planfix, default schedule, 10 % reserve)",
        [
            "quota/day",
            "usable",
            "changes/day",
            "tasks",
            "contacts",
            "polls",
            "req/contacts read",
            "contact reads",
            "full scan",
            "writes",
            "total/day",
        ],
    )
    for quota in QUOTAS:
        for changes in CHANGES:
            contacts = largest(quota, changes, c)
            tasks = TASKS_PER_CONTACT * contacts
            d = day(tasks, contacts, changes, c)
            t.add(
                quota,
                int(quota * (1 - RESERVE)),
                changes,
                tasks,
                contacts,
                d.polls,
                c.scan(contacts),
                d.contact_scans,
                d.full_scan,
                d.writes,
                d.total,
            )
    census = m.census
    t.notes += [
        "the largest account (tasks = 2 × contacts) whose day of Planfix requests fits the quota "
        "less the reserve, and whose cycles fit their intervals at 1 request/s",
        f"contacts = people + companies, {c.company_share:.0%} of them companies (--companies); "
        f"req/contacts read = {_listings_text(c)}; contact reads = 96 such reads a day",
        f"measured contacts read (table 1, full scan, k = 0): "
        f"{m.row('contacts', 'full scan', 0).step.result.listings['planfix'].requests} Planfix "
        f"requests for {census.people} people + {census.companies} companies, "
        f"{_listings_found(c)}",
        f"measured Planfix requests per write (the larger of table 1's k = {max(m.scale.ks)} and "
        f"table 3's k = {max(m.scale.wall_ks)}): tasks {c.tasks.per_write:.2f}, "
        f"contacts {c.contacts.per_write:.2f}; "
        "a cycle with w writes costs w + ceil(w × reads per write), so a minute with a single task "
        "write pays a whole batch read for it; a tasks poll that finds nothing costs "
        f"{c.poll} request(s); changes split 2 : 1 between tasks and contacts, half made in each system",
        "the contacts read every 15 min is most of the bill (96 full reads a day): contacts_every = "
        '"1h" would fit about 4 times as many contacts',
        "at 1 request/s Planfix serves at most 86,400 requests a day, and a contacts read must end "
        "within its 15 minutes beside the tasks cycles: the 100,000 plan is bound by these, not by "
        "its quota",
        f"model check: {_check(m, c)}",
    ]
    return t


def _listings_text(c: Coefficients) -> str:
    if c.listings == 1:
        return "pages(contacts) (one listing of people and companies together)"
    return "pages(people) + pages(companies) (two listings)"


def _listings_found(c: Coefficients) -> str:
    kind = "two listings (people, companies)" if c.listings == 2 else "one listing of everyone"
    extra = (
        f", {c.scan_extra} request(s) beyond their pages" if c.scan_extra else ", nothing beyond their pages"
    )
    return f"i.e. {kind}{extra}"


def _check(m: Measurements, c: Coefficients) -> str:
    """Predicted vs measured Planfix requests of the measured steady-state cycles."""
    parts = []
    census = m.census
    for pair in ("tasks", "contacts"):
        row = m.row(pair, "incremental", max(m.scale.ks))
        k = row.k
        if pair == "tasks":
            changed = 2 * k * WINDOW_MINUTES  # k people + k syncd writes per minute, over the window
            predicted = max(c.poll, math.ceil(changed / 100)) + c.tasks.per_cycle(k)
        else:
            share = census.companies / max(1, census.people + census.companies)
            predicted = replace(c, company_share=share).scan(
                census.people + census.companies
            ) + c.contacts.per_cycle(k)
        parts.append(
            f"{pair} k={k}: predicted {math.ceil(predicted)}, measured {row.step.wire.requests['planfix']}"
        )
    return "; ".join(parts)
