"""What a cycle's outcome does to its pair's health: each cycle counts once, whatever its end."""

from __future__ import annotations

from datetime import UTC, datetime

from syncd.connectors.base import Listing
from syncd.engine.applier import ApplyResult
from syncd.engine.cycle import CycleResult
from syncd.engine.planner import Plan
from syncd.service.health import PairHealth, cycle_done, rest

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def _result(aborted: str | None) -> CycleResult:
    listing = Listing(records=(), complete=True, full_scan=False)
    return CycleResult(
        pair="tasks",
        started_at=NOW,
        plan=Plan("tasks", ()),
        dry_run=False,
        listings={"planfix": listing, "planningpme": listing},
        applied=ApplyResult(aborted=aborted),
    )


def test_a_cycle_that_ran_to_its_end_counts_once_and_clears_the_rest() -> None:
    health = PairHealth()
    rest("tasks", health, "outage", "down", NOW)
    cycle_done("tasks", health, _result(None), False, stopping=lambda: False, now=lambda: NOW)
    assert (health.cycles, health.failed_cycles, health.failures_in_a_row) == (2, 1, 0)
    assert health.paused_for is None


def test_a_cycle_the_applier_gave_up_on_counts_once_as_an_outage() -> None:
    health = PairHealth()
    cycle_done(
        "tasks",
        health,
        _result("3 transient failures in a row"),
        False,
        stopping=lambda: False,
        now=lambda: NOW,
    )
    assert (health.cycles, health.failed_cycles, health.failures_in_a_row) == (1, 1, 1)
    assert health.paused_for == "outage"


def test_a_cycle_stopped_for_shutdown_counts_once_and_is_no_failure() -> None:
    health = PairHealth()
    cycle_done("tasks", health, _result("stopping"), False, stopping=lambda: True, now=lambda: NOW)
    assert (health.cycles, health.failed_cycles) == (1, 0)
    assert health.last_summary.startswith("stopped after the operation in flight")
