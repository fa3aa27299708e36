"""Retention: deleting the history nobody needs any more, without ever touching live state.

Pruning reaches across tables owned by other concerns (audit, cycles, pushed changes, intents,
conflicts), so the rule of what may go lives here in one list, ``_PRUNABLE``, where a reviewer
can check that nothing the sync still reads is in it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, delete, select

from state.models import AuditEntry, Conflict, Cycle, Intent, PushedChange
from state.store.base import StoreBase
from state.types import require_aware

PRUNE_BATCH = 500
"""Rows one retention transaction deletes: small, so a cycle never waits long for the write lock."""


class RetentionQueries(StoreBase):
    """``prune_history``: old history out, in short transactions."""

    def prune_history(self, before: datetime, *, batch: int = PRUNE_BATCH) -> dict[str, int]:
        """Delete the history older than ``before``; returns the rows deleted per table.

        History is what only people read back: audit entries, finished cycles (the newest of each
        pair stays, for `syncd status`), processed pushes, closed intents and resolved conflicts.
        What the sync still needs is never touched, however old: open intents, queued or parked
        failures, conflicts waiting for a person, unprocessed pushes, links and tombstones (a
        tombstone is what stops a deleted record from being re-created). Each batch of ``batch``
        rows is its own short transaction, so a cycle writing meanwhile waits for one batch at most.
        """
        cutoff = require_aware(before, "before")
        done: dict[str, int] = {}
        for table, model, oldest in _PRUNABLE:
            total = 0
            while True:
                deleted = self._prune_batch(table, model, oldest(cutoff), batch)
                total += deleted
                if deleted < batch:
                    break
            done[table] = total
        return done

    def _prune_batch(self, table: str, model: Any, query: Any, batch: int) -> int:
        with self._session(f"prune_history({table})", write=True) as s:
            ids = list(s.exec(query.limit(batch)).all())
            if ids:
                s.exec(delete(model).where(col(model.id).in_(ids)))
            return len(ids)


def _old_audit(cutoff: datetime) -> Any:
    return select(AuditEntry.id).where(col(AuditEntry.at) < cutoff).order_by(col(AuditEntry.id))


def _closed_before(model: Any, closed: Any) -> Callable[[datetime], Any]:
    """Rows whose ``closed`` moment (processed, closed, resolved) lies before the cutoff: rows
    still open (no such moment) are never pruned, however old."""

    def query(cutoff: datetime) -> Any:
        return select(model.id).where(col(closed).is_not(None), col(closed) < cutoff).order_by(col(model.id))

    return query


def _old_cycles(cutoff: datetime) -> Any:
    """Cycles started before the cutoff that no audit entry still names, except each pair's newest
    (a cycle that never finished, the process having died, counts from its start)."""
    newest = select(func.max(col(Cycle.id))).group_by(col(Cycle.pair))
    named = select(AuditEntry.id).where(col(AuditEntry.cycle_id) == col(Cycle.id))
    return (
        select(Cycle.id)
        .where(col(Cycle.started_at) < cutoff, col(Cycle.id).not_in(newest), ~named.exists())
        .order_by(col(Cycle.id))
    )


_PRUNABLE: tuple[tuple[str, Any, Callable[[datetime], Any]], ...] = (
    ("audit_entry", AuditEntry, _old_audit),
    ("pushed_change", PushedChange, _closed_before(PushedChange, PushedChange.processed_at)),
    ("intent", Intent, _closed_before(Intent, Intent.closed_at)),
    ("conflict", Conflict, _closed_before(Conflict, Conflict.resolved_at)),
    ("cycle", Cycle, _old_cycles),  # last: after their audit entries went
)
