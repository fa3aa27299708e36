"""The daily full scan maps only records whose raw content changed since the last scan, keeps
only those, and still plans exactly what mapping every record would plan (``syncd/engine/scan.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from syncd.connectors.base import RemoteRecord
from syncd.engine.cycle import CycleResult
from syncd.engine.scan import FullScan
from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import links
from tests.e2e.scenarios.people import People


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    structlog.reset_defaults()
    with capture_logs() as captured:
        yield captured
    structlog.reset_defaults()


def _plans(results: list[CycleResult]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        r.pair: sorted(
            (op.kind, op.target or "", op.planfix_key or "", op.planningpme_key or "", repr(op.changes))
            for op in r.plan.operations
        )
        for r in results
    }


def _keep_everything(self: FullScan, batch: Sequence[RemoteRecord], keep: dict[str, Any]) -> set[str]:
    """The scan as it was before: every record mapped and kept."""
    for record in batch:
        self.present.add(record.key)
        keep[record.key] = (record, self._observe(record))
    return {record.key for record in batch}


def _sifted(logs: list[dict[str, Any]]) -> dict[str, int]:
    totals = {"skipped": 0, "unchanged": 0}
    for event in logs:
        if event["event"] == "scan.sifted":
            for name in totals:
                totals[name] += event[name]
    return totals


def test_a_full_scan_skips_unchanged_records_and_plans_as_if_it_mapped_them_all(
    world: World, people: People, logs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    world.pf("POST", "seed", {"tasks": 25, "contacts": 10, "seed": 3})
    world.pme("POST", "seed", {"events": 10, "customers": 8, "seed": 4})
    world.sync(full=True)  # creates: each link awaits the read-back of what syncd wrote
    world.sync(full=True)  # reads them back (never skipped while awaited) and settles the echo
    world.sync(full=True)  # converged: this scan maps every record and notes their digests
    logs.clear()
    world.sync(full=True, dry_run=True)
    assert _sifted(logs)["skipped"] > 0 and _sifted(logs)["unchanged"] == 0, _sifted(logs)

    task_links, contact_links = links(world, "tasks"), links(world, "contacts")
    tasks, events = sorted(task_links), sorted(task_links.values())
    people.edit_task(tasks[0], title="Edited in Planfix")
    people.edit_event(events[1], label="Edited in PlanningPME")
    people.delete_event(events[2])
    people.cancel_task(tasks[3])
    customer = sorted(contact_links.values())[0]
    people.edit_customer(customer, lastName="Renamed")
    people.add_task("Brand new task")

    logs.clear()
    sifted = _plans(world.sync(full=True, dry_run=True))
    assert _sifted(logs)["skipped"] > 0
    monkeypatch.setattr(FullScan, "sift", _keep_everything)
    whole = _plans(world.sync(full=True, dry_run=True))
    monkeypatch.undo()

    assert sifted == whole
    assert any(kind == "update" for kind, *_ in whole["tasks"]), whole

    world.sync(full=True)
    world.reset_stats()
    world.sync(full=True)
    assert world.writes() == {"planfix": 0, "planningpme": 0}
