"""The expected daily Planfix bill of the configured schedule, against the plan's quota.

A rough lower bound, said as such: each task poll reads at least one page of changes; each full
scan reads every page of tasks; each contact read lists every page of people and of companies
(there is no "changed since" filter for contacts). Writes come on top, and depend on the traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from syncd.cli.preflight.checks import Preflight
from syncd.cli.preflight.planfix import PlanfixTotals
from syncd.connectors.planfix.paging import PAGE_SIZE
from syncd.settings import Settings

DAY_S = 86400.0


def pages(total: int | None) -> int:
    """Pages of a listing of ``total`` records (an empty list still costs its one request)."""
    return max(1, math.ceil((total or 0) / PAGE_SIZE))


@dataclass(frozen=True)
class Bill:
    requests: int
    allowed: int
    detail: str


def daily_bill(settings: Settings, totals: PlanfixTotals) -> Bill:
    s = settings.schedule
    polls = DAY_S / s.tasks_every
    scans = DAY_S / s.full_scan_every
    contact_reads = DAY_S / s.contacts_every
    contact_pages = pages(totals.people) + pages(totals.companies)
    requests = math.ceil(polls * 1 + scans * pages(totals.tasks) + contact_reads * contact_pages)
    quota = settings.planfix.daily_quota
    allowed = math.floor(quota * (1 - settings.planfix.quota_reserve))
    detail = (
        f"about {requests} reads a day ({polls:g} task polls, {scans:g} full scans × {pages(totals.tasks)}"
        f" pages, {contact_reads:g} contact reads × {contact_pages} pages) before any write;"
        f" the quota leaves {allowed} of {quota} after the reserve"
    )
    return Bill(requests, allowed, detail)


def check_budget(pre: Preflight, settings: Settings, totals: PlanfixTotals) -> None:
    if totals.tasks is None and totals.people is None:
        return  # the listings could not be read: their failures say why
    bill = daily_bill(settings, totals)
    pre.add(
        "planfix daily request budget",
        bill.requests <= bill.allowed,
        bill.detail,
        "poll less often ([schedule] tasks_every, contacts_every, full_scan_every) or raise"
        " planfix.daily_quota if the plan allows more",
    )
