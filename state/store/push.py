"""What the push endpoint keeps: push lists, their memberships, and the pushed-change queue.

Planfix pushes contact changes to syncd rather than being polled for them. The endpoint must
answer at once, so it only records lists and memberships and queues each change durably (deduped
on its key); the contacts sync drains the queue later, on the scheduler's thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlmodel import col, delete, select, update

from state.errors import PushListNotFound
from state.models import PushedChange, PushList, PushMembership
from state.rows import MembershipRow, PushedChangeRow, PushListRow
from state.store.base import StoreBase
from state.store.convert import membership_row, push_list_row, pushed_row

DEFAULT_CREATE_LIST_WINDOW = timedelta(minutes=10)


class PushQueries(StoreBase):
    """Push lists, memberships and the pushed-change queue."""

    # --- push lists ----------------------------------------------------------------------------

    def create_list(
        self,
        name: str,
        now: datetime,
        *,
        dedupe_key: str | None = None,
        dedupe_window: timedelta = DEFAULT_CREATE_LIST_WINDOW,
    ) -> str:
        """Create a push list and return its new id.

        Planfix may resend a createList it got no answer to; given the same ``dedupe_key`` (e.g. a
        hash of the request) within ``dedupe_window``, the id of the list already made is returned.
        """
        with self._session("create_list", write=True) as s:
            if dedupe_key is not None:
                earlier = s.exec(
                    select(PushList).where(
                        PushList.dedupe_key == dedupe_key,
                        col(PushList.deleted_at).is_(None),
                        col(PushList.created_at) >= now - dedupe_window,
                    )
                ).first()
                if earlier is not None:
                    return earlier.list_id
            push_list = PushList(list_id=uuid4().hex, name=name, created_at=now, dedupe_key=dedupe_key)
            s.add(push_list)
            return push_list.list_id

    def delete_list(self, list_id: str, now: datetime) -> bool:
        """Delete a list and its memberships; the list row stays, marked deleted. False if not live."""
        with self._session("delete_list", write=True) as s:
            push_list = s.get(PushList, list_id)
            if push_list is None or push_list.deleted_at is not None:
                return False
            push_list.deleted_at = now
            s.add(push_list)
            s.exec(delete(PushMembership).where(col(PushMembership.list_id) == list_id))
            return True

    def list_exists(self, list_id: str) -> bool:
        """True for a live (created, not deleted) list."""
        push_list = self.push_list(list_id)
        return push_list is not None and push_list.live

    def push_list(self, list_id: str) -> PushListRow | None:
        """The list, live or deleted, or None if it was never created here."""
        with self._session("push_list") as s:
            found = s.get(PushList, list_id)
            return None if found is None else push_list_row(found)

    def push_lists(self, *, include_deleted: bool = False) -> list[PushListRow]:
        query = select(PushList)
        if not include_deleted:
            query = query.where(col(PushList.deleted_at).is_(None))
        with self._session("push_lists") as s:
            return [push_list_row(m) for m in s.exec(query.order_by(col(PushList.created_at)))]

    # --- memberships ---------------------------------------------------------------------------

    def upsert_membership(
        self, list_id: str, contact_id: str, email: str, first_name: str, last_name: str, now: datetime
    ) -> None:
        """Put the contact in the live list (or update its details); PushListNotFound otherwise."""
        with self._session("upsert_membership", write=True) as s:
            push_list = s.get(PushList, list_id)
            if push_list is None or push_list.deleted_at is not None:
                raise PushListNotFound(list_id)
            member = s.get(PushMembership, (list_id, contact_id)) or PushMembership(
                list_id=list_id,
                contact_id=contact_id,
                email=email,
                first_name=first_name,
                last_name=last_name,
                updated_at=now,
            )
            member.email, member.first_name, member.last_name, member.updated_at = (
                email,
                first_name,
                last_name,
                now,
            )
            s.add(member)

    def remove_membership(self, list_id: str, contact_id: str) -> bool:
        """Take the contact out of the list; False if it was not in it."""
        with self._session("remove_membership", write=True) as s:
            member = s.get(PushMembership, (list_id, contact_id))
            if member is None:
                return False
            s.delete(member)
            return True

    def memberships(self, list_id: str) -> list[MembershipRow]:
        with self._session("memberships") as s:
            query = select(PushMembership).where(PushMembership.list_id == list_id)
            return [membership_row(m) for m in s.exec(query.order_by(col(PushMembership.contact_id)))]

    def memberships_of(self, contact_id: str) -> list[MembershipRow]:
        """The lists a contact is in: decides whether a pushed change feeds PlanningPME."""
        with self._session("memberships_of") as s:
            query = select(PushMembership).where(PushMembership.contact_id == contact_id)
            return [membership_row(m) for m in s.exec(query.order_by(col(PushMembership.list_id)))]

    # --- the pushed-change queue ---------------------------------------------------------------

    def enqueue_pushed_change(
        self,
        contact_id: str,
        list_id: str | None,
        action: str,
        payload: Mapping[str, Any],
        dedupe_key: str,
        now: datetime,
    ) -> bool:
        """Queue a pushed contact change durably; False if ``dedupe_key`` was queued before."""
        with self._session("enqueue_pushed_change", write=True) as s:
            if (
                s.exec(select(PushedChange.id).where(PushedChange.dedupe_key == dedupe_key)).first()
                is not None
            ):
                return False
            s.add(
                PushedChange(
                    contact_id=contact_id,
                    list_id=list_id,
                    action=action,
                    payload=dict(payload),
                    received_at=now,
                    dedupe_key=dedupe_key,
                )
            )
            return True

    def pending_pushed_changes(self, limit: int = 100) -> list[PushedChangeRow]:
        """Unprocessed pushed changes, in the order they arrived."""
        query = select(PushedChange).where(col(PushedChange.processed_at).is_(None))
        with self._session("pending_pushed_changes") as s:
            return [pushed_row(m) for m in s.exec(query.order_by(col(PushedChange.id)).limit(limit))]

    def mark_pushed_processed(self, ids: Iterable[int], now: datetime) -> int:
        """Mark changes handled (kept for their dedupe keys); returns how many were still pending."""
        wanted = list(ids)
        if not wanted:
            return 0
        with self._session("mark_pushed_processed", write=True) as s:
            pending = s.exec(
                select(PushedChange.id).where(
                    col(PushedChange.id).in_(wanted), col(PushedChange.processed_at).is_(None)
                )
            ).all()
            s.exec(update(PushedChange).where(col(PushedChange.id).in_(pending)).values(processed_at=now))
            return len(pending)
