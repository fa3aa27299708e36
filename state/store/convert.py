"""ORM object → frozen row: the one place the store's models meet the rows callers get.

Callers never hold an ORM object (it could reach back into the database after its session is
gone); every query mixin turns what it read into a ``state.rows`` value with these functions.
Kept side by side so a column added to a model and its row is checked in one place.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select as sa_select

from state.models import (
    AuditEntry,
    Conflict,
    Cycle,
    Failure,
    Intent,
    Link,
    PushedChange,
    PushList,
    PushMembership,
)
from state.rows import (
    AuditRow,
    ConflictRow,
    CycleRow,
    FailureRow,
    IntentRow,
    LinkRow,
    MembershipRow,
    PushedChangeRow,
    PushListRow,
)


def _id(value: int | None) -> int:
    assert value is not None, "a stored row always has an id"
    return value


_LINK_FIELDS: tuple[Any, ...] = (
    Link.pair,
    Link.planfix_key,
    Link.planningpme_key,
    Link.canonical,
    Link.planfix_hash,
    Link.planningpme_hash,
    Link.created_at,
    Link.synced_at,
    Link.echo,
)
LINK_COLUMNS = sa_select(*_LINK_FIELDS)
"""Links as plain columns, in ``LinkRow``'s field order: many rows read this way cost a fraction of
loading ORM objects."""


def link_row_of(values: Any) -> LinkRow:
    """The row of one result of ``LINK_COLUMNS``."""
    return LinkRow(*values)


def link_row(m: Link) -> LinkRow:
    return LinkRow(
        m.pair,
        m.planfix_key,
        m.planningpme_key,
        dict(m.canonical),
        m.planfix_hash,
        m.planningpme_hash,
        m.created_at,
        m.synced_at,
        dict(m.echo or {}),
    )


def intent_row(m: Intent) -> IntentRow:
    return IntentRow(
        _id(m.id),
        m.pair,
        m.target_side,
        m.source_key,
        m.marker,
        dict(m.payload),
        m.opened_at,
        m.closed_at,
        m.created_key,
        m.outcome,
    )


def failure_row(m: Failure) -> FailureRow:
    return FailureRow(
        m.pair,
        m.side,
        m.key,
        m.operation,
        m.attempts,
        m.next_retry_at,
        m.last_error,
        m.parked,
        m.first_failed_at,
        m.last_failed_at,
    )


def audit_row(m: AuditEntry) -> AuditRow:
    return AuditRow(
        at=m.at,
        pair=m.pair,
        operation=m.operation,
        side=m.side,
        key=m.key,
        other_key=m.other_key,
        fields={name: (pair[0], pair[1]) for name, pair in m.fields.items()},
        rule=m.rule,
        detail=m.detail,
        cycle_id=m.cycle_id,
        id=m.id,
    )


def cycle_row(m: Cycle) -> CycleRow:
    return CycleRow(_id(m.id), m.pair, m.started_at, m.finished_at, m.dry_run, m.outcome, dict(m.summary))


def conflict_row(m: Conflict) -> ConflictRow:
    return ConflictRow(
        _id(m.id),
        m.pair,
        m.planfix_key,
        m.planningpme_key,
        m.field,
        m.planfix_value,
        m.planningpme_value,
        m.base_value,
        m.detected_at,
        m.resolved_at,
        m.resolution,
    )


def push_list_row(m: PushList) -> PushListRow:
    return PushListRow(m.list_id, m.name, m.created_at, m.deleted_at)


def membership_row(m: PushMembership) -> MembershipRow:
    return MembershipRow(m.list_id, m.contact_id, m.email, m.first_name, m.last_name, m.updated_at)


def pushed_row(m: PushedChange) -> PushedChangeRow:
    return PushedChangeRow(
        _id(m.id),
        m.contact_id,
        m.list_id,
        m.action,
        dict(m.payload),
        m.received_at,
        m.dedupe_key,
        m.processed_at,
    )
