"""The pure parts of ``syncd check``: the lines and JSON it prints, the daily-bill estimate, and
the time-zone comparison with what ``/api/config`` reports."""

from __future__ import annotations

import io
import json

from syncd.cli.preflight.budget import daily_bill, pages
from syncd.cli.preflight.checks import Check, Preflight, as_json, as_lines, passed
from syncd.cli.preflight.planfix import PlanfixTotals
from syncd.cli.preflight.planningpme import _check_zone
from syncd.logs import configure_logging
from syncd.settings import Settings


def _settings(**schedule: object) -> Settings:
    return Settings.model_validate(
        {
            "planfix": {"account": "a", "daily_quota": 10000, "quota_reserve": 0.2},
            "planningpme": {"brand": "b"},
            "schedule": schedule,
        }
    )


def test_lines_say_ok_or_problem_with_the_fix_and_mask_secrets() -> None:
    configure_logging(secrets=["s3cret-value"], json=True, stream=io.StringIO())
    checks = [
        Check("planfix credentials", True, "answers"),
        Check("planningpme history", False, "refused with s3cret-value", "set planningpme.history_path"),
    ]
    assert as_lines(checks) == [
        "ok      planfix credentials: answers",
        "problem planningpme history: refused with ***",
        "        fix: set planningpme.history_path",
    ]
    listed = json.loads(as_json(checks))
    assert listed[1] == {
        "check": "planningpme history",
        "ok": False,
        "detail": "refused with ***",
        "fix": "set planningpme.history_path",
    }
    assert not passed(checks) and passed(checks[:1])


def test_a_passed_check_carries_no_fix() -> None:
    pre = Preflight()
    pre.add("x", True, "fine", "never shown")
    assert pre.checks == [Check("x", True, "fine", "")]


def test_the_daily_bill_counts_polls_scans_and_contact_pages() -> None:
    assert (pages(None), pages(0), pages(100), pages(101)) == (1, 1, 1, 2)
    bill = daily_bill(
        _settings(tasks_every="60s", contacts_every="15m", full_scan_every="12h"),
        PlanfixTotals(tasks=250, people=120, companies=30),
    )
    # 1440 polls × 1 page + 2 scans × 3 pages + 96 reads × (2 + 1) pages
    assert bill.requests == 1440 + 6 + 288
    assert bill.allowed == 8000


def test_the_time_zone_is_compared_only_where_the_account_reports_one() -> None:
    pre = Preflight()
    _check_zone(pre, {}, "Europe/Madrid")
    _check_zone(pre, {"timeZone": "Europe/Madrid"}, "Europe/Madrid")
    _check_zone(pre, {"timeZone": "Europe/Paris"}, "Europe/Madrid")
    assert [c.ok for c in pre.checks] == [True, True, False]
    assert "not verified" in pre.checks[0].detail
    assert pre.checks[2].fix == 'set planningpme.timezone = "Europe/Paris"'
