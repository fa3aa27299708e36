"""Table 5: the largest account syncd keeps in step within Planfix's daily quota.

Planfix is the side with a daily quota (20,000 / 50,000 / 100,000 requests by plan) and 1
request/s; syncd keeps 10 % of it in reserve. A day of the default schedule costs, in Planfix
requests:

- a tasks cycle every 60 s: one "modified since" read, one page per 100 tasks changed in its
  window (the minute since the last cycle + the 2-minute overlap + up to a minute of flooring);
- a contacts cycle every 15 min: Planfix has no "modified since" for contacts, so a full read,
  one page per 100 contacts;
- a daily full scan: every task and every contact once more;
- per change made in PlanningPME, one Planfix write at the measured cost (requests per write).

Changes made in Planfix cost Planfix nothing beyond the pages above (they are written to
PlanningPME). Changes are assumed to fall in 8 working hours, half in each system. The measured
coefficients come from tables 1–3 of the same run; the model is checked against them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tests.benchmarks.api import Measurements, pages
from tests.benchmarks.tables import Table

QUOTAS = (20_000, 50_000, 100_000)
RESERVE = 0.10
RATE = 1.0
"""Planfix requests per second (the documented limit)."""
CHANGES = (1_000, 5_000, 20_000)
TASKS_PER_CONTACT = 2
WORK_MINUTES = 8 * 60
WINDOW_MINUTES = 1 + 2 + 0.5
TASK_POLLS = 24 * 60
CONTACT_SCANS = 24 * 4


@dataclass(frozen=True)
class Coefficients:
    requests_per_write: float
    """Planfix requests per Planfix task write (the write, and any read it needs first); the
    larger of the two entities', so the table errs on the safe side."""
    per_pair: dict[str, float]


def coefficients(m: Measurements) -> Coefficients:
    per_pair: dict[str, float] = {}
    for pair in ("tasks", "contacts"):
        row = m.row(pair, "incremental", max(m.scale.ks))
        writes = row.step.wire.writes["planfix"]
        extra = row.step.wire.requests["planfix"] - row.step.result.listings["planfix"].requests
        per_pair[pair] = extra / writes if writes else 1.0
    return Coefficients(max(per_pair.values()), per_pair)


@dataclass(frozen=True)
class Day:
    polls: int
    contact_scans: int
    full_scan: int
    writes: int

    @property
    def total(self) -> int:
        return self.polls + self.contact_scans + self.full_scan + self.writes


def day(tasks: int, contacts: int, changes: int, c: Coefficients) -> Day:
    per_minute = changes / WORK_MINUTES
    busy_pages = max(1, math.ceil(per_minute * WINDOW_MINUTES / 100))
    polls = WORK_MINUTES * busy_pages + (TASK_POLLS - WORK_MINUTES)
    return Day(
        polls=polls,
        contact_scans=CONTACT_SCANS * max(1, pages(contacts)),
        full_scan=pages(tasks) + pages(contacts),
        writes=math.ceil(changes / 2 * c.requests_per_write),
    )


def fits(tasks: int, contacts: int, changes: int, quota: int, c: Coefficients) -> bool:
    usable = quota * (1 - RESERVE)
    d = day(tasks, contacts, changes, c)
    if d.total > usable or d.total > RATE * 86_400:
        return False
    # Each cycle must also fit its interval at 1 request/s: a contacts scan within 15 min
    # (with a minute's polls beside it), a busy minute's task writes within the minute.
    scan_seconds = pages(contacts) / RATE + 15 * (1 + math.ceil(changes / WORK_MINUTES / 2))
    minute_requests = 1 + math.ceil(changes / WORK_MINUTES / 2 * c.requests_per_write)
    return scan_seconds <= 900 and minute_requests <= 60 * RATE


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


def table(m: Measurements) -> Table:
    c = coefficients(m)
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
            "contact scans",
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
                d.contact_scans,
                d.full_scan,
                d.writes,
                d.total,
            )
    t.notes += [
        "the largest account (tasks = 2 × contacts) whose day of Planfix requests fits the quota "
        "less the reserve, and whose cycles fit their intervals at 1 request/s",
        f"measured (table 1, k = {max(m.scale.ks)}): Planfix requests per Planfix write "
        f"{c.per_pair['tasks']:.2f} for tasks (reads batched 10 per task.getMulti), "
        f"{c.per_pair['contacts']:.2f} for contacts; the model uses {c.requests_per_write:.2f}; one "
        "page per 100 records; a tasks poll that finds nothing is 1 request",
        "the contacts scan every 15 min is most of the bill (96 full reads a day): contacts_every = "
        '"1h" would fit about 4 times as many contacts',
        "at 1 request/s Planfix serves at most 86,400 requests a day, and a contacts scan must end "
        "within its 15 minutes (about 85,000 contacts): the 100,000 plan is bound by these, not by "
        "its quota",
        f"model check: {_check(m, c)}",
    ]
    return t


def _check(m: Measurements, c: Coefficients) -> str:
    """Predicted vs measured Planfix requests of the measured steady-state cycles."""
    parts = []
    for pair in ("tasks", "contacts"):
        row = m.row(pair, "incremental", max(m.scale.ks))
        k = row.k
        if pair == "tasks":
            changed = 2 * k * WINDOW_MINUTES  # k people + k syncd writes per minute, over the window
            predicted = max(1, math.ceil(changed / 100)) + math.ceil(k * c.per_pair[pair])
        else:
            predicted = pages(m.linked[pair]) + math.ceil(k * c.per_pair[pair])
        parts.append(f"{pair} k={k}: predicted {predicted}, measured {row.step.wire.requests['planfix']}")
    return "; ".join(parts)
