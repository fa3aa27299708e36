"""The audit trail and the cycle log: what happened, kept for people to read back.

Nothing the sync decides depends on these rows (so retention may prune them); they answer
"what did syncd write, when, and why" for `syncd status`, the demo's report and the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from state.models import AuditEntry, Cycle
from state.rows import AuditRow, CycleRow
from state.store.base import StoreBase
from state.store.convert import audit_row, cycle_row


class HistoryQueries(StoreBase):
    """Audit entries and cycles."""

    def audit(self, entries: Sequence[AuditRow]) -> None:
        """Append audit entries in one transaction (their ``id`` is ignored and assigned here)."""
        with self._session("audit", write=True) as s:
            s.add_all(
                AuditEntry(
                    cycle_id=e.cycle_id,
                    at=e.at,
                    pair=e.pair,
                    operation=e.operation,
                    side=e.side,
                    key=e.key,
                    other_key=e.other_key,
                    fields={name: [old, new] for name, (old, new) in e.fields.items()},
                    rule=e.rule,
                    detail=e.detail,
                )
                for e in entries
            )

    def audit_log(
        self, pair: str | None = None, limit: int = 100, *, cycle_id: int | None = None
    ) -> list[AuditRow]:
        """The newest entries first."""
        query = select(AuditEntry)
        if pair is not None:
            query = query.where(AuditEntry.pair == pair)
        if cycle_id is not None:
            query = query.where(AuditEntry.cycle_id == cycle_id)
        with self._session("audit_log") as s:
            return [audit_row(m) for m in s.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit))]

    def start_cycle(self, pair: str, dry_run: bool, now: datetime) -> int:
        with self._session("start_cycle", write=True) as s:
            cycle = Cycle(pair=pair, started_at=now, dry_run=dry_run)
            s.add(cycle)
            s.flush()
            assert cycle.id is not None
            return cycle.id

    def finish_cycle(self, cycle_id: int, outcome: str, summary: Mapping[str, Any], now: datetime) -> None:
        with self._session("finish_cycle", write=True) as s:
            cycle = s.get(Cycle, cycle_id)
            if cycle is None:
                raise LookupError(f"cycle {cycle_id} does not exist")
            cycle.finished_at, cycle.outcome, cycle.summary = now, outcome, dict(summary)
            s.add(cycle)

    def last_cycles(self, limit: int = 10, pair: str | None = None) -> list[CycleRow]:
        """The newest cycles first."""
        query = select(Cycle)
        if pair is not None:
            query = query.where(Cycle.pair == pair)
        with self._session("last_cycles") as s:
            return [cycle_row(m) for m in s.exec(query.order_by(col(Cycle.id).desc()).limit(limit))]
