"""Records the sync could not settle by itself: the failure queue and field conflicts.

A failing record is retried with backoff and parked after too many attempts; a field changed
differently on both sides waits as a conflict. Both are per-record states the cycle consults before
touching a record and a person may have to clear (``syncd retry``, a resolution), which is why they
sit together, apart from the history that is only ever read back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from state.backoff import retry_delay
from state.models import Conflict, Failure
from state.rows import ConflictRow, FailureRow
from state.store.base import StoreBase
from state.store.convert import conflict_row, failure_row
from state.types import dump_json, require_aware

MAX_ERROR_CHARS = 2000
"""Long enough for a remote's stack trace summary, short enough that one bad record cannot bloat the file."""


class FailureQueries(StoreBase):
    """The failure queue (retry, backoff, parking) and pending conflicts."""

    # --- failure queue -------------------------------------------------------------------------

    def record_failure(
        self,
        pair: str,
        side: str,
        key: str,
        operation: str,
        error: str,
        now: datetime,
        *,
        max_attempts: int,
        backoff_base_s: float,
        backoff_cap_s: float,
    ) -> FailureRow:
        """Count one more failure of this record and schedule its retry.

        The n-th consecutive failure waits ``min(cap, base * 2**(n-1))``; the ``max_attempts``-th
        parks the record (a poison record): it is not retried until ``unpark``.
        """
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        with self._session("record_failure", write=True) as s:
            found = s.get(Failure, (pair, side, key))
            attempts = 1 if found is None else found.attempts + 1
            parked = attempts >= max_attempts
            delay = retry_delay(attempts, base_s=backoff_base_s, cap_s=backoff_cap_s)
            failure = found or Failure(
                pair=pair,
                side=side,
                key=key,
                operation=operation,
                attempts=0,
                last_error="",
                first_failed_at=now,
                last_failed_at=now,
            )
            failure.operation = operation
            failure.attempts = attempts
            failure.last_error = error[:MAX_ERROR_CHARS]
            failure.last_failed_at = now
            failure.parked = parked
            failure.next_retry_at = None if parked else now + delay
            s.add(failure)
            s.flush()
            return failure_row(failure)

    def clear_failure(self, pair: str, side: str, key: str) -> bool:
        """The record went through: forget its failures. False if it had none."""
        with self._session("clear_failure", write=True) as s:
            found = s.get(Failure, (pair, side, key))
            if found is None:
                return False
            s.delete(found)
            return True

    def failure(self, pair: str, side: str, key: str) -> FailureRow | None:
        with self._session("failure") as s:
            found = s.get(Failure, (pair, side, key))
            return None if found is None else failure_row(found)

    def failures(self, pair: str | None = None) -> list[FailureRow]:
        """Every failing record, parked ones included, oldest failure first."""
        query = select(Failure)
        if pair is not None:
            query = query.where(Failure.pair == pair)
        with self._session("failures") as s:
            return [failure_row(m) for m in s.exec(query.order_by(col(Failure.first_failed_at)))]

    def due_failures(self, now: datetime, pair: str | None = None) -> list[FailureRow]:
        """Failures whose retry time has come (or was cleared by ``unpark``), soonest first."""
        query = select(Failure).where(
            col(Failure.parked).is_(False),
            (col(Failure.next_retry_at).is_(None)) | (col(Failure.next_retry_at) <= now),
        )
        if pair is not None:
            query = query.where(Failure.pair == pair)
        with self._session("due_failures") as s:
            return [failure_row(m) for m in s.exec(query.order_by(col(Failure.next_retry_at)))]

    def is_backing_off(self, pair: str, side: str, key: str, now: datetime) -> bool:
        """True if this record must be skipped now: parked, or its retry time is still ahead."""
        now = require_aware(now, "now")
        with self._session("is_backing_off") as s:
            found = s.get(Failure, (pair, side, key))
            if found is None:
                return False
            return found.parked or (found.next_retry_at is not None and found.next_retry_at > now)

    def unpark(self, pair: str, side: str, key: str) -> bool:
        """Give a parked record a fresh set of attempts, due at once. False if it was not parked."""
        with self._session("unpark", write=True) as s:
            found = s.get(Failure, (pair, side, key))
            if found is None or not found.parked:
                return False
            found.parked, found.attempts, found.next_retry_at = False, 0, None
            s.add(found)
            return True

    # --- conflicts -----------------------------------------------------------------------------

    def record_conflict(
        self,
        pair: str,
        planfix_key: str,
        planningpme_key: str,
        field: str,
        planfix_value: Any,
        planningpme_value: Any,
        base_value: Any,
        now: datetime,
    ) -> bool:
        """Record a conflict waiting for a person; True if it is news (so audit it), else False.

        At most one conflict per link and field is pending. Seeing the same one again next cycle
        changes nothing and returns False; if the values moved on, they are updated and it is news.
        """
        values = (planfix_value, planningpme_value, base_value)
        with self._session("record_conflict", write=True) as s:
            pending = s.exec(
                select(Conflict).where(
                    Conflict.pair == pair,
                    Conflict.planfix_key == planfix_key,
                    Conflict.planningpme_key == planningpme_key,
                    Conflict.field == field,
                    col(Conflict.resolved_at).is_(None),
                )
            ).first()
            if pending is None:
                s.add(
                    Conflict(
                        pair=pair,
                        planfix_key=planfix_key,
                        planningpme_key=planningpme_key,
                        field=field,
                        planfix_value=planfix_value,
                        planningpme_value=planningpme_value,
                        base_value=base_value,
                        detected_at=now,
                    )
                )
                return True
            stored = (pending.planfix_value, pending.planningpme_value, pending.base_value)
            if dump_json(stored, "conflict values") == dump_json(values, "conflict values"):
                return False
            pending.planfix_value, pending.planningpme_value, pending.base_value = values
            s.add(pending)
            return True

    def pending_conflicts(self, pair: str | None = None) -> list[ConflictRow]:
        query = select(Conflict).where(col(Conflict.resolved_at).is_(None))
        if pair is not None:
            query = query.where(Conflict.pair == pair)
        with self._session("pending_conflicts") as s:
            return [conflict_row(m) for m in s.exec(query.order_by(col(Conflict.id)))]

    def resolve_conflict(self, conflict_id: int, resolution: str, now: datetime) -> bool:
        """Mark a conflict decided; False if it already was (the first resolution stands)."""
        with self._session("resolve_conflict", write=True) as s:
            conflict = s.get(Conflict, conflict_id)
            if conflict is None:
                raise LookupError(f"conflict {conflict_id} does not exist")
            if conflict.resolved_at is not None:
                return False
            conflict.resolved_at, conflict.resolution = now, resolution
            s.add(conflict)
            return True
