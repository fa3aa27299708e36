"""Retention: history older than ``[state] keep_history`` goes, what the sync still needs stays."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from state.rows import AuditRow
from state.store import Store
from syncd.errors import ConfigError
from syncd.settings import parse_settings
from tests.state.conftest import NOW

OLD = NOW - timedelta(days=100)
YOUNG = NOW - timedelta(days=10)
CUTOFF = NOW - timedelta(days=90)


def _audit(store: Store, at: datetime, n: int = 1, cycle_id: int | None = None) -> None:
    store.audit(
        [
            AuditRow(at=at, pair="tasks", operation="update", side="planfix", key=str(i), cycle_id=cycle_id)
            for i in range(n)
        ]
    )


def _cycle(store: Store, pair: str, at: datetime) -> int:
    cycle_id = store.start_cycle(pair, False, at)
    store.finish_cycle(cycle_id, "ok", {}, at)
    return cycle_id


def test_rows_older_than_the_cutoff_go_and_younger_ones_stay(store: Store) -> None:
    old_cycle = _cycle(store, "tasks", OLD)
    _audit(store, OLD, 3, old_cycle)
    young_cycle = _cycle(store, "tasks", YOUNG)
    _audit(store, YOUNG, 2, young_cycle)
    for n, at in enumerate((OLD, YOUNG)):
        store.enqueue_pushed_change(str(n), None, "update", {}, f"d{n}", at)
    pushed = store.pending_pushed_changes()
    store.mark_pushed_processed([pushed[0].id], OLD)
    store.mark_pushed_processed([pushed[1].id], YOUNG)
    closed_old = store.open_intent("tasks", "planfix", "1", "1", {}, OLD)
    store.close_intent(closed_old, "created", "9", OLD)
    store.record_conflict("tasks", "1", "2", "title", "a", "b", "c", OLD)
    conflict = store.pending_conflicts()[0]
    store.resolve_conflict(conflict.id, "planfix", OLD)

    deleted = store.prune_history(CUTOFF)

    assert deleted == {"audit_entry": 3, "pushed_change": 1, "intent": 1, "conflict": 1, "cycle": 1}
    assert {(e.cycle_id, e.at) for e in store.audit_log()} == {(young_cycle, YOUNG)}
    assert [c.id for c in store.last_cycles()] == [young_cycle]
    assert store.pending_conflicts() == []
    assert store.stats().pending_pushed_changes == 0
    assert store.prune_history(CUTOFF) == dict.fromkeys(deleted, 0)


def test_what_the_sync_still_needs_stays_however_old(store: Store) -> None:
    store.open_intent("tasks", "planfix", "1", "1", {"title": "x"}, OLD)
    store.record_failure(
        "tasks", "planfix", "7", "update", "boom", OLD, max_attempts=1, backoff_base_s=1, backoff_cap_s=1
    )
    store.record_failure(
        "tasks", "planfix", "8", "update", "boom", OLD, max_attempts=9, backoff_base_s=1, backoff_cap_s=1
    )
    store.record_conflict("tasks", "1", "2", "title", "a", "b", "c", OLD)
    store.enqueue_pushed_change("5", None, "update", {}, "waiting", OLD)
    store.add_tombstone("tasks", "planfix", "3", "deleted in PlanningPME", OLD)
    store.upsert_link("tasks", "1", "2", {"title": "x"}, "h", "h", OLD)
    only_cycle = _cycle(store, "contacts", OLD)

    store.prune_history(CUTOFF)

    assert len(store.open_intents()) == 1
    assert {(f.key, f.parked) for f in store.failures()} == {("7", True), ("8", False)}
    assert len(store.pending_conflicts()) == 1
    assert [p.dedupe_key for p in store.pending_pushed_changes()] == ["waiting"]
    assert store.tombstones("tasks") == {("planfix", "3")}
    assert store.link_count("tasks") == 1
    assert [c.id for c in store.last_cycles()] == [only_cycle], "each pair's newest cycle stays"


def test_many_rows_go_in_batches_and_the_boundary_row_stays(store: Store) -> None:
    cycle_id = _cycle(store, "tasks", OLD)
    _audit(store, OLD, 1234, cycle_id)
    _audit(store, CUTOFF, 1)
    for _ in range(5):
        _cycle(store, "tasks", OLD)
    _cycle(store, "tasks", YOUNG)

    deleted = store.prune_history(CUTOFF, batch=100)

    assert deleted["audit_entry"] == 1234
    assert deleted["cycle"] == 6
    assert [e.at for e in store.audit_log()] == [CUTOFF], "a row exactly at the cutoff is kept"


def test_each_batch_is_its_own_transaction(db_path: Path) -> None:
    """A reader sees the history shrink batch by batch: the writer never holds one long transaction."""
    with Store.open(db_path) as store:
        _audit(store, OLD, 250)
        seen: list[int] = []
        original = store._prune_batch

        def spy(*args: object) -> int:
            with Store.open(db_path, readonly=True) as reader:
                seen.append(len(reader.audit_log(limit=1000)))
            return original(*args)  # type: ignore[arg-type]

        store._prune_batch = spy  # type: ignore[method-assign]
        store.prune_history(CUTOFF, batch=100)
    assert seen[:4] == [250, 150, 50, 0]


def test_a_naive_cutoff_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.prune_history(CUTOFF.replace(tzinfo=None))


CONFIG = """
[planfix]
account = "acme"
api_key = "k"
token = "t"
[planningpme]
brand = "acme"
app_key = "a"
assertion = "s"
"""


def test_keep_history_defaults_to_90_days_and_reads_durations(tmp_path: Path) -> None:
    path = tmp_path / "syncd.toml"
    assert parse_settings(CONFIG, path, env={}).state.keep_history == 90 * 86400
    custom = parse_settings(CONFIG + '[state]\nkeep_history = "30d"\n', path, env={})
    assert custom.state.keep_history == 30 * 86400
    assert custom.state.path == tmp_path / "state.db"


@pytest.mark.parametrize(("value", "why"), [('"soon"', "not a duration"), ('"30s"', "at least a minute")])
def test_a_bad_keep_history_names_the_key(tmp_path: Path, value: str, why: str) -> None:
    with pytest.raises(ConfigError, match=rf"state\.keep_history.*{why}"):
        parse_settings(CONFIG + f"[state]\nkeep_history = {value}\n", tmp_path / "syncd.toml", env={})
