"""What `syncd status` shows: counts over every table and a JSON-ready summary.

The summary reads across concerns (links, failures, conflicts, intents, pushes, cycles), so it
builds on the failure and history mixins instead of living in either of them; the counts come
from one transaction, so they are one consistent snapshot.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from state.models import Conflict, Failure, Intent, Link, PushedChange, SchemaVersion
from state.rows import StoreStats
from state.store.failures import FailureQueries
from state.store.history import HistoryQueries


class StatusQueries(FailureQueries, HistoryQueries):
    """``stats`` and ``status_summary``."""

    def stats(self) -> StoreStats:
        """The counts `syncd status` shows, from one consistent snapshot."""
        with self._session("stats") as s:
            links = s.exec(select(Link.pair, func.count()).group_by(col(Link.pair)).order_by(col(Link.pair)))
            parked = s.exec(select(Failure.parked, func.count()).group_by(col(Failure.parked)))
            by_parked = {bool(flag): count for flag, count in parked}

            def count(query: Any) -> int:
                return int(s.exec(query).one())

            return StoreStats(
                links={pair: count for pair, count in links},
                failures=by_parked.get(False, 0),
                parked=by_parked.get(True, 0),
                pending_conflicts=count(
                    select(func.count()).select_from(Conflict).where(col(Conflict.resolved_at).is_(None))
                ),
                open_intents=count(
                    select(func.count()).select_from(Intent).where(col(Intent.closed_at).is_(None))
                ),
                pending_pushed_changes=count(
                    select(func.count())
                    .select_from(PushedChange)
                    .where(col(PushedChange.processed_at).is_(None))
                ),
                schema_version=count(select(func.max(col(SchemaVersion.version)))),
            )

    def status_summary(self, *, cycles: int = 10) -> dict[str, Any]:
        """What `syncd status` prints (and ``--json`` emits): JSON-ready, times as ISO text."""
        stats = self.stats()
        return {
            "schema_version": stats.schema_version,
            "links": dict(stats.links),
            "failures": stats.failures,
            "parked": stats.parked,
            "pending_conflicts": stats.pending_conflicts,
            "open_intents": stats.open_intents,
            "pending_pushed_changes": stats.pending_pushed_changes,
            "last_cycles": [_jsonable(asdict(c)) for c in self.last_cycles(cycles)],
            "failing_records": [_jsonable(asdict(f)) for f in self.failures()],
            "conflicts_waiting": [_jsonable(asdict(c)) for c in self.pending_conflicts()],
        }


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
