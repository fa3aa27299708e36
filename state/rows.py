"""What the store hands out and takes in: frozen values, never ORM objects.

An ORM object outlives its session and can lazily reach back into the database from anywhere; a
frozen row is a plain snapshot the planner may hold, compare and hash freely. All times are aware
UTC datetimes. JSON-valued fields are fresh copies, so mutating one changes nothing stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class LinkRow:
    """Two records known to be the same thing, and the canonical dict last synced between them.

    ``upsert_links_batch`` takes these as input too: ``synced_at`` is the sync time, ``created_at``
    is used only if the link is new.
    """

    pair: str
    planfix_key: str
    planningpme_key: str
    canonical: dict[str, Any]
    planfix_hash: str
    planningpme_hash: str
    created_at: datetime
    synced_at: datetime
    echo: dict[str, Any] = field(default_factory=dict)
    """What syncd expects to read back from its last writes, and what each side holds in place
    of a synced value (the engine's ``Echo``, in its stored form); ``{}`` when nothing is pending."""


def synced_link(
    pair: str,
    keys: tuple[str, str],
    canonical: Mapping[str, Any],
    hashes: tuple[str, str],
    now: datetime,
    echo: Mapping[str, Any] | None = None,
) -> LinkRow:
    """A link as it stands right after a sync: ``keys`` and ``hashes`` are (Planfix, PlanningPME);
    created and synced ``now`` (the store keeps the first creation time of a link it updates)."""
    return LinkRow(pair, *keys, dict(canonical), *hashes, now, now, dict(echo or {}))


@dataclass(frozen=True, slots=True)
class IntentRow:
    """A create that was (about to be) sent; open while ``closed_at`` is None."""

    id: int
    pair: str
    target_side: str
    source_key: str
    marker: str
    payload: dict[str, Any]
    opened_at: datetime
    closed_at: datetime | None
    created_key: str | None
    outcome: str | None


@dataclass(frozen=True, slots=True)
class FailureRow:
    """A record whose last operation failed. Parked rows wait for ``unpark``, not for time."""

    pair: str
    side: str
    key: str
    operation: str
    attempts: int
    next_retry_at: datetime | None
    last_error: str
    parked: bool
    first_failed_at: datetime
    last_failed_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One write or conflict decision. ``fields`` maps each field to ``(old, new)``; ``side`` and
    ``key`` are None for decisions that wrote to neither side.

    Passed to ``Store.audit`` without ``id``; ``audit_log`` returns them with it.
    """

    at: datetime
    pair: str
    operation: str
    side: str | None
    key: str | None
    other_key: str | None = None
    fields: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    rule: str | None = None
    detail: str | None = None
    cycle_id: int | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class CycleRow:
    id: int
    pair: str
    started_at: datetime
    finished_at: datetime | None
    dry_run: bool
    outcome: str | None
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """A field changed differently on both sides since ``base_value``; pending while unresolved."""

    id: int
    pair: str
    planfix_key: str
    planningpme_key: str
    field: str
    planfix_value: Any
    planningpme_value: Any
    base_value: Any
    detected_at: datetime
    resolved_at: datetime | None
    resolution: str | None


@dataclass(frozen=True, slots=True)
class PushListRow:
    list_id: str
    name: str
    created_at: datetime
    deleted_at: datetime | None

    @property
    def live(self) -> bool:
        return self.deleted_at is None


@dataclass(frozen=True, slots=True)
class MembershipRow:
    list_id: str
    contact_id: str
    email: str
    first_name: str
    last_name: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PushedChangeRow:
    """A contact change Planfix pushed, waiting (``processed_at`` None) for the contacts sync."""

    id: int
    contact_id: str
    list_id: str | None
    action: str
    payload: dict[str, Any]
    received_at: datetime
    dedupe_key: str
    processed_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoreStats:
    """The numbers `syncd status` shows. ``failures`` counts records still being retried."""

    links: Mapping[str, int]
    failures: int
    parked: int
    pending_conflicts: int
    open_intents: int
    pending_pushed_changes: int
    schema_version: int
