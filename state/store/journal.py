"""The intent journal and the listing cursors: what lets a cycle resume after a crash.

An intent is written before a create is sent and closed once its outcome is known, so a crash in
between leaves an open intent whose marker the next cycle looks up instead of creating twice. A
cursor is where the next incremental listing starts. Both are about picking up where the last
run stopped, and neither is history: they are read back by the sync itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from state.models import Cursor, Intent
from state.rows import IntentRow, synced_link
from state.store.base import StoreBase
from state.store.convert import intent_row
from state.store.linking import upsert_link_row


class JournalQueries(StoreBase):
    """Cursors and the intent journal."""

    # --- cursors -------------------------------------------------------------------------------

    def get_cursor(self, pair: str, side: str, kind: str) -> datetime | None:
        with self._session("get_cursor") as s:
            found = s.get(Cursor, (pair, side, kind))
            return None if found is None else found.value

    def set_cursor(self, pair: str, side: str, kind: str, value: datetime, now: datetime) -> None:
        """Store where the next listing starts. Not monotonic on purpose: a full scan may rewind."""
        with self._session("set_cursor", write=True) as s:
            found = s.get(Cursor, (pair, side, kind))
            if found is None:
                s.add(Cursor(pair=pair, side=side, kind=kind, value=value, updated_at=now))
            else:
                found.value, found.updated_at = value, now
                s.add(found)

    # --- intent journal ------------------------------------------------------------------------

    def open_intent(
        self,
        pair: str,
        target_side: str,
        source_key: str,
        marker: str,
        payload: Mapping[str, Any],
        now: datetime,
    ) -> int:
        """Journal a create before sending it; returns the intent id to close afterwards."""
        with self._session("open_intent", write=True) as s:
            intent = Intent(
                pair=pair,
                target_side=target_side,
                source_key=source_key,
                marker=marker,
                payload=dict(payload),
                opened_at=now,
            )
            s.add(intent)
            s.flush()
            assert intent.id is not None
            return intent.id

    def close_intent(self, intent_id: int, outcome: str, created_key: str | None, now: datetime) -> bool:
        """Close an intent (``created``, ``found``, ``failed``…); False if it was already closed."""
        with self._session("close_intent", write=True) as s:
            return _close_intent(s, intent_id, outcome, created_key, now)

    def complete_intent(
        self,
        intent_id: int,
        *,
        planfix_key: str,
        planningpme_key: str,
        canonical: Mapping[str, Any],
        planfix_hash: str,
        planningpme_hash: str,
        now: datetime,
        outcome: str = "created",
        echo: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the new link and close its intent in one transaction: no window between them."""
        with self._session("complete_intent", write=True) as s:
            intent = s.get(Intent, intent_id)
            if intent is None:
                raise LookupError(f"intent {intent_id} does not exist")
            created = planfix_key if intent.target_side == "planfix" else planningpme_key
            row = synced_link(
                intent.pair,
                (planfix_key, planningpme_key),
                canonical,
                (planfix_hash, planningpme_hash),
                now,
                echo,
            )
            upsert_link_row(s, row)
            _close_intent(s, intent_id, outcome, created, now)
        self._changed(row.pair)

    def open_intents(self, pair: str | None = None) -> list[IntentRow]:
        """Intents a crash left open, oldest first: resolve each by looking its marker up."""
        query = select(Intent).where(col(Intent.closed_at).is_(None))
        if pair is not None:
            query = query.where(Intent.pair == pair)
        with self._session("open_intents") as s:
            return [intent_row(m) for m in s.exec(query.order_by(col(Intent.id)))]


def _close_intent(s: Session, intent_id: int, outcome: str, created_key: str | None, now: datetime) -> bool:
    intent = s.get(Intent, intent_id)
    if intent is None:
        raise LookupError(f"intent {intent_id} does not exist")
    if intent.closed_at is not None:
        return False
    intent.closed_at, intent.outcome, intent.created_key = now, outcome, created_key
    s.add(intent)
    return True
