"""Applying a checked push action to the state database: lists, memberships, the change queue.

A pushed contact is never written to PlanningPME from here; it is queued as a change of that
Planfix contact (``Store.enqueue_pushed_change``) for the contact cycle, which handles it through
the same planner, conflict rules and journal as a polled change. Only lists named in
``push.lists`` (all lists when that is empty) feed the queue; other lists just keep memberships.

Repeating a request must be harmless, so what counts is the state a request leaves behind:

* a contact whose membership already says what the request says is left alone (the common
  replay: Planfix resending a request whose answer it did not get);
* otherwise the change is queued under a dedupe key derived from the request content *and* the
  membership as it was before, and only then is the membership written. If the process dies in
  between, the resent request finds the same prior state, derives the same key, and the queue
  keeps the one entry it has. With the prior state in the key, a contact going back to earlier
  details (A → B → A) is queued again, as it must be.
* the key also carries a ten-minute window, so the same details pushed after a remove and a
  re-add later on are queued again too. The costs are bounded: a resend across a window boundary
  queues one duplicate (the cycle looks at the contact twice), and a remove and identical re-add
  within ten minutes is left to polling.

All writes of the endpoint go through one lock: the check that a list is live and the writes that
follow it are then never interleaved with another push request (a concurrent ``deleteList``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from state.errors import PushListNotFound
from state.rows import MembershipRow, PushListRow
from state.store import Store
from syncd.errors import PushRequestError
from syncd.push.protocol import (
    CreateList,
    DeleteList,
    ImportContacts,
    PushAction,
    PushContact,
    UpdateContact,
)
from syncd.settings import PushSettings

DEDUPE_WINDOW = timedelta(minutes=10)
UNKNOWN_LIST = "unknown list"


@dataclass
class Outcome:
    """What one request did: the reply to send and the counts to log."""

    reply: dict[str, Any]
    list_id: str | None = None
    list_name: str | None = None
    feeds_planningpme: bool = False
    contacts: int = 0
    memberships_changed: int = 0
    queued: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Run:
    """One contact request being applied: its list, its time, and what it did so far."""

    push_list: PushListRow
    now: datetime
    outcome: Outcome


def request_key(action: str, data: dict[str, Any]) -> str:
    """sha256 of the action and its data in canonical JSON: equal requests, equal keys."""
    canonical = json.dumps([action, data], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _window(now: datetime) -> str:
    span = int(DEDUPE_WINDOW.total_seconds())
    return str(int(now.timestamp()) // span * span)


def _details(contact: PushContact) -> tuple[str, str, str]:
    return (contact.email, contact.first_name, contact.last_name)


def _member_details(member: MembershipRow | None) -> tuple[str, str, str] | None:
    return None if member is None else (member.email, member.first_name, member.last_name)


class PushApplier:
    """Applies push actions to one store; safe to call from many worker threads at once."""

    def __init__(self, store: Store, settings: PushSettings, now: Callable[[], datetime]) -> None:
        self._store = store
        self._feeding = {name.strip().casefold() for name in settings.lists}
        self._delete_means_delete = settings.delete_means_delete
        self._now = now
        self._lock = threading.Lock()

    def feeds_planningpme(self, list_name: str) -> bool:
        """Whether contacts of this list become PlanningPME customers (names match case-blind)."""
        return not self._feeding or list_name.strip().casefold() in self._feeding

    def apply(self, action: PushAction) -> Outcome:
        """Do what the action says; raises PushRequestError(404) for a list that is not live."""
        with self._lock:
            now = self._now()
            match action:
                case CreateList():
                    return self._create_list(action, now)
                case DeleteList():
                    return self._delete_list(action, now)
                case ImportContacts() | UpdateContact():
                    try:
                        return self._contacts(action, now)
                    except PushListNotFound:  # cannot happen under the lock; kept for safety
                        raise PushRequestError(404, UNKNOWN_LIST) from None

    def _create_list(self, action: CreateList, now: datetime) -> Outcome:
        key = request_key("createList", {"listName": action.list_name})
        list_id = self._store.create_list(action.list_name, now, dedupe_key=key, dedupe_window=DEDUPE_WINDOW)
        return Outcome(
            {"success": True, "listId": list_id},
            list_id=list_id,
            list_name=action.list_name,
            feeds_planningpme=self.feeds_planningpme(action.list_name),
        )

    def _delete_list(self, action: DeleteList, now: datetime) -> Outcome:
        found = self._store.push_list(action.list_id)
        if found is None:
            raise PushRequestError(404, UNKNOWN_LIST)
        # A deleted list answers success again: the resent request of a delete that went through.
        self._store.delete_list(action.list_id, now)
        return Outcome({"success": True}, list_id=found.list_id, list_name=found.name)

    def _live_list(self, list_id: str) -> PushListRow:
        found = self._store.push_list(list_id)
        if found is None or not found.live:
            raise PushRequestError(404, UNKNOWN_LIST)
        return found

    def _contacts(self, action: ImportContacts | UpdateContact, now: datetime) -> Outcome:
        push_list = self._live_list(action.list_id)
        run = _Run(
            push_list,
            now,
            Outcome(
                {"success": True},
                list_id=push_list.list_id,
                list_name=push_list.name,
                feeds_planningpme=self.feeds_planningpme(push_list.name),
            ),
        )
        if isinstance(action, ImportContacts):
            members = {m.contact_id: m for m in self._store.memberships(push_list.list_id)}
            run.outcome.contacts = len(action.contacts)
            for contact in action.contacts:
                self._upsert(run, contact, "import", None, members.get(contact.id))
            return run.outcome
        run.outcome.contacts = 1
        member = next(
            (m for m in self._store.memberships_of(action.contact.id) if m.list_id == push_list.list_id), None
        )
        if action.change == "delete":
            self._remove(run, action.contact, member)
        else:
            self._upsert(run, action.contact, action.change, action.old_email, member)
        return run.outcome

    def _upsert(
        self,
        run: _Run,
        contact: PushContact,
        change: str,
        old_email: str | None,
        member: MembershipRow | None,
    ) -> None:
        if _member_details(member) == _details(contact):
            return
        if run.outcome.feeds_planningpme:
            payload = {
                "id": contact.id,
                "email": contact.email,
                "firstName": contact.first_name,
                "lastName": contact.last_name,
                "listName": run.push_list.name,
            }
            if old_email is not None:
                payload["oldEmail"] = old_email
            self._enqueue(run, contact.id, change, payload, member)
        self._store.upsert_membership(
            run.push_list.list_id, contact.id, contact.email, contact.first_name, contact.last_name, run.now
        )
        run.outcome.memberships_changed += 1

    def _remove(self, run: _Run, contact: PushContact, member: MembershipRow | None) -> None:
        if member is None:
            return  # not in the list (any more): nothing to take out, nothing to tell the cycle
        if run.outcome.feeds_planningpme and self._delete_means_delete:
            payload = {"id": contact.id, "email": member.email, "listName": run.push_list.name}
            self._enqueue(run, contact.id, "delete", payload, member)
        self._store.remove_membership(run.push_list.list_id, contact.id)
        run.outcome.memberships_changed += 1

    def _enqueue(
        self, run: _Run, contact_id: str, change: str, payload: dict[str, str], member: MembershipRow | None
    ) -> None:
        key = request_key(
            change,
            {
                "list": run.push_list.list_id,
                "contact": payload,
                "before": _member_details(member),
                "window": _window(run.now),
            },
        )
        list_id = run.push_list.list_id
        if self._store.enqueue_pushed_change(contact_id, list_id, change, payload, key, run.now):
            run.outcome.queued.append(contact_id)
