"""The SQLModel tables of the state database.

These classes describe the *current* schema for queries; the schema on disk is built and upgraded by
``state/migrations.py``, and a test keeps the two identical. Changing a table here therefore means
appending a migration there.

Only ``state/store/`` touches these classes: callers get frozen rows (``state/rows.py``), never
ORM objects that could lazily reach back into a closed session. No secret is ever stored: keys,
hashes, field values and error messages only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from state.types import JsonText, UtcDateTime


class Link(SQLModel, table=True):
    """One record on each side known to be the same thing, with what was last synced between them.

    ``canonical`` is the last synced canonical dict: the base of the three-way merge. The hashes are
    per side, so our own write coming back (same hash) is recognised and not echoed. ``echo`` (schema
    version 2) says which written fields await their read-back and which values a side holds in
    place of the synced ones (a default it filled in): what the system did to a write is not an edit.
    """

    __tablename__ = "link"
    __table_args__ = (
        UniqueConstraint("pair", "planfix_key", name="uq_link_planfix"),
        UniqueConstraint("pair", "planningpme_key", name="uq_link_planningpme"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair: str
    planfix_key: str
    planningpme_key: str
    canonical: dict[str, Any] = Field(sa_type=JsonText)
    planfix_hash: str
    planningpme_hash: str
    created_at: datetime = Field(sa_type=UtcDateTime)
    synced_at: datetime = Field(sa_type=UtcDateTime)
    echo: dict[str, Any] = Field(default_factory=dict, sa_type=JsonText)
    planfix_raw: str | None = None
    """``<planfix_hash>:<digest>``: the digest of the raw Planfix record that mapped to that hash
    (see ``syncd/engine/scan.py``). Valid only while the hash before the colon is still the link's."""
    planningpme_raw: str | None = None


class Cursor(SQLModel, table=True):
    """How far a side's listing has been read, per kind of scan (incremental, full)."""

    __tablename__ = "cursor"

    pair: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    value: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class Intent(SQLModel, table=True):
    """A create about to be sent: written first, so a crash mid-create is resolved by the marker."""

    __tablename__ = "intent"
    __table_args__ = (Index("ix_intent_open", "pair", "closed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    pair: str
    target_side: str
    source_key: str
    marker: str
    payload: dict[str, Any] = Field(sa_type=JsonText)
    opened_at: datetime = Field(sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_key: str | None = None
    outcome: str | None = None


class Tombstone(SQLModel, table=True):
    """A record deleted on purpose: it must never be re-created from the other side."""

    __tablename__ = "tombstone"

    pair: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    deleted_at: datetime = Field(sa_type=UtcDateTime)
    reason: str


class Failure(SQLModel, table=True):
    """A record whose last operation failed: retried with backoff, parked after too many tries."""

    __tablename__ = "failure"
    __table_args__ = (Index("ix_failure_due", "parked", "next_retry_at"),)

    pair: str = Field(primary_key=True)
    side: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    operation: str
    attempts: int
    next_retry_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    last_error: str
    parked: bool = False
    first_failed_at: datetime = Field(sa_type=UtcDateTime)
    last_failed_at: datetime = Field(sa_type=UtcDateTime)


class Cycle(SQLModel, table=True):
    """One sync pass of one entity pair, for `syncd status` and the audit trail."""

    __tablename__ = "cycle"

    id: int | None = Field(default=None, primary_key=True)
    pair: str
    started_at: datetime = Field(sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    dry_run: bool
    outcome: str | None = None
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=JsonText)


class AuditEntry(SQLModel, table=True):
    """One write or conflict decision; ``fields`` maps each changed field to ``[old, new]``.

    ``side`` and ``key`` are empty for decisions that wrote to neither side (a link, a conflict).
    """

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_pair", "pair", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    at: datetime = Field(sa_type=UtcDateTime)
    pair: str
    operation: str
    side: str | None = None
    key: str | None = None
    other_key: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict, sa_type=JsonText)
    rule: str | None = None
    detail: str | None = None


class Conflict(SQLModel, table=True):
    """A field changed differently on both sides that waits for a person (policy ``manual``).

    At most one *pending* conflict per link and field (a partial unique index), so seeing the same
    conflict every cycle records it once.
    """

    __tablename__ = "conflict"
    __table_args__ = (
        Index(
            "uq_conflict_pending",
            "pair",
            "planfix_key",
            "planningpme_key",
            "field",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair: str
    planfix_key: str
    planningpme_key: str
    field: str
    planfix_value: Any = Field(sa_type=JsonText)
    planningpme_value: Any = Field(sa_type=JsonText)
    base_value: Any = Field(sa_type=JsonText)
    detected_at: datetime = Field(sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolution: str | None = None


class PushList(SQLModel, table=True):
    """A Planfix mailing list created through the push endpoint; deleted lists stay as tombstones."""

    __tablename__ = "push_list"

    list_id: str = Field(primary_key=True)
    name: str
    created_at: datetime = Field(sa_type=UtcDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    dedupe_key: str | None = Field(default=None, index=True)


class PushMembership(SQLModel, table=True):
    """A Planfix contact in a push list, as Planfix last described it."""

    __tablename__ = "push_membership"

    list_id: str = Field(primary_key=True, foreign_key="push_list.list_id", ondelete="CASCADE")
    contact_id: str = Field(primary_key=True, index=True)
    email: str
    first_name: str
    last_name: str
    updated_at: datetime = Field(sa_type=UtcDateTime)


class PushedChange(SQLModel, table=True):
    """The durable queue of pushed contact changes, consumed by the next contacts sync step."""

    __tablename__ = "pushed_change"
    __table_args__ = (Index("ix_pushed_change_pending", "processed_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: str
    list_id: str | None = None
    action: str
    payload: dict[str, Any] = Field(sa_type=JsonText)
    received_at: datetime = Field(sa_type=UtcDateTime)
    dedupe_key: str = Field(unique=True)
    processed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class SchemaVersion(SQLModel, table=True):
    """One row per migration applied; the highest version is the schema of the file."""

    __tablename__ = "schema_version"

    version: int = Field(primary_key=True)
    applied_at: datetime = Field(sa_type=UtcDateTime)
