"""The audit log, cycles, conflicts waiting for a person, and what `syncd status` shows."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from state.migrations import CURRENT_VERSION
from state.rows import AuditRow, ConflictRow, CycleRow
from state.store import Store
from tests.state.conftest import NOW


def entry(key: str, *, pair: str = "tasks", cycle_id: int | None = None) -> AuditRow:
    return AuditRow(
        at=NOW,
        pair=pair,
        operation="update",
        side="planningpme",
        key=key,
        other_key="123",
        fields={"title": ("Ремонт", "Ремонт котла"), "workers": (["1"], ["1", "3"])},
        rule="planfix changed",
        detail="title edited in Planfix",
        cycle_id=cycle_id,
    )


def test_audit_entries_come_back_newest_first_with_ids(store: Store) -> None:
    cycle_id = store.start_cycle("tasks", False, NOW)
    store.audit([entry("17", cycle_id=cycle_id), entry("18", cycle_id=cycle_id)])
    store.audit([entry("5", pair="contacts")])

    log = store.audit_log()
    assert [e.key for e in log] == ["5", "18", "17"]
    assert log[2] == replace(entry("17", cycle_id=cycle_id), id=1)
    assert [e.key for e in store.audit_log("tasks", limit=1)] == ["18"]
    assert [e.key for e in store.audit_log(cycle_id=cycle_id)] == ["18", "17"]


def test_a_decision_that_wrote_to_neither_side_is_audited_without_side(store: Store) -> None:
    store.audit([AuditRow(at=NOW, pair="tasks", operation="link", side=None, key=None, other_key="17")])

    assert [(e.operation, e.side, e.key) for e in store.audit_log()] == [("link", None, None)]


def test_an_audit_batch_is_all_or_nothing(store: Store) -> None:
    # Foreign keys are on: an entry naming a cycle that does not exist fails the whole batch.
    with pytest.raises(IntegrityError):
        store.audit([entry("17"), entry("18", cycle_id=42)])
    assert store.audit_log() == []


def test_cycles_are_started_finished_and_listed_newest_first(store: Store) -> None:
    first = store.start_cycle("tasks", False, NOW)
    second = store.start_cycle("contacts", True, NOW + timedelta(seconds=1))
    store.finish_cycle(first, "ok", {"writes": 3, "failed": 0}, NOW + timedelta(seconds=2))

    assert store.last_cycles() == [
        CycleRow(second, "contacts", NOW + timedelta(seconds=1), None, True, None, {}),
        CycleRow(first, "tasks", NOW, NOW + timedelta(seconds=2), False, "ok", {"writes": 3, "failed": 0}),
    ]
    assert [c.id for c in store.last_cycles(1)] == [second]
    assert [c.id for c in store.last_cycles(pair="tasks")] == [first]


def test_finishing_an_unknown_cycle_is_an_error(store: Store) -> None:
    with pytest.raises(LookupError, match="cycle 7"):
        store.finish_cycle(7, "ok", {}, NOW)


def test_the_same_pending_conflict_is_recorded_once(store: Store) -> None:
    assert store.record_conflict("tasks", "123", "17", "title", "A", "B", "base", NOW) is True
    assert store.record_conflict("tasks", "123", "17", "title", "A", "B", "base", NOW) is False

    assert store.pending_conflicts() == [
        ConflictRow(1, "tasks", "123", "17", "title", "A", "B", "base", NOW, None, None)
    ]


def test_a_conflict_whose_values_moved_on_is_news_and_updated(store: Store) -> None:
    store.record_conflict("tasks", "123", "17", "workers", ["1"], ["2"], None, NOW)

    assert store.record_conflict("tasks", "123", "17", "workers", ["1", "3"], ["2"], None, NOW) is True
    (pending,) = store.pending_conflicts("tasks")
    assert (pending.planfix_value, pending.planningpme_value, pending.base_value) == (["1", "3"], ["2"], None)


def test_conflicts_are_per_field_and_resolved_once(store: Store) -> None:
    store.record_conflict("tasks", "123", "17", "title", "A", "B", "base", NOW)
    store.record_conflict("tasks", "123", "17", "remark", "x", "y", "", NOW)
    title, remark = store.pending_conflicts()

    assert store.resolve_conflict(title.id, "planfix", NOW) is True
    assert store.resolve_conflict(title.id, "planningpme", NOW) is False
    assert store.pending_conflicts() == [remark]
    assert store.pending_conflicts("contacts") == []
    # The same disagreement coming back after a resolution is a new conflict.
    assert store.record_conflict("tasks", "123", "17", "title", "A", "B", "base", NOW) is True


def test_resolving_an_unknown_conflict_is_an_error(store: Store) -> None:
    with pytest.raises(LookupError, match="conflict 5"):
        store.resolve_conflict(5, "planfix", NOW)


def test_stats_count_what_status_shows(store: Store) -> None:
    store.upsert_link("tasks", "1", "17", {}, "a", "b", NOW)
    store.upsert_link("tasks", "2", "18", {}, "a", "b", NOW)
    store.upsert_link("contacts", "12", "5", {}, "a", "b", NOW)
    store.record_failure(
        "tasks", "planfix", "1", "update", "boom", NOW, max_attempts=2, backoff_base_s=1.0, backoff_cap_s=1.0
    )
    for _ in range(2):
        store.record_failure(
            "tasks",
            "planfix",
            "2",
            "update",
            "boom",
            NOW,
            max_attempts=2,
            backoff_base_s=1.0,
            backoff_cap_s=1.0,
        )
    store.record_conflict("tasks", "1", "17", "title", "A", "B", "", NOW)
    store.open_intent("tasks", "planningpme", "3", "3", {}, NOW)
    store.enqueue_pushed_change("12", None, "update", {}, "push-1", NOW)

    stats = store.stats()

    assert dict(stats.links) == {"contacts": 1, "tasks": 2}
    assert (stats.failures, stats.parked, stats.pending_conflicts) == (1, 1, 1)
    assert (stats.open_intents, stats.pending_pushed_changes, stats.schema_version) == (1, 1, CURRENT_VERSION)


def test_the_status_summary_is_plain_json(store: Store) -> None:
    store.upsert_link("tasks", "1", "17", {}, "a", "b", NOW)
    cycle_id = store.start_cycle("tasks", False, NOW)
    store.finish_cycle(cycle_id, "ok", {"writes": 1}, NOW)
    store.record_failure(
        "tasks", "planfix", "1", "update", "boom", NOW, max_attempts=3, backoff_base_s=1, backoff_cap_s=1
    )
    store.record_conflict("tasks", "1", "17", "title", "A", "B", "", NOW)

    summary = json.loads(json.dumps(store.status_summary()))

    assert summary["links"] == {"tasks": 1}
    assert summary["last_cycles"][0]["finished_at"] == NOW.isoformat()
    assert summary["failing_records"][0]["key"] == "1"
    assert summary["conflicts_waiting"][0]["field"] == "title"
