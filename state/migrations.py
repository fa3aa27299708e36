"""The schema history of the state database, as an append-only list of migrations.

``MIGRATIONS[i]`` takes a database from version ``i`` to version ``i + 1``; version 0 is an empty
file. Version 1 is frozen DDL rather than ``SQLModel.metadata.create_all()``, because the models
describe the *current* schema: once a version 2 exists, creating version 1 from them would skip
straight past it and the version 2 migration would then fail on a fresh file. A test checks that
running every migration yields exactly the schema ``state/models.py`` describes.

To change the schema: edit the models, append a function here (``ALTER TABLE``, or the SQLite
"create new table, copy, drop, rename" dance), and freeze a snapshot of the old version under
``tests/state/snapshots/`` so its upgrade stays tested. Never edit a migration that has shipped.
Each migration runs inside the caller's transaction (SQLite DDL is transactional), after a backup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection

Migration = Callable[[Connection], None]

V1_DDL: tuple[str, ...] = (
    """CREATE TABLE link (
    id INTEGER NOT NULL,
    pair VARCHAR NOT NULL,
    planfix_key VARCHAR NOT NULL,
    planningpme_key VARCHAR NOT NULL,
    canonical TEXT NOT NULL,
    planfix_hash VARCHAR NOT NULL,
    planningpme_hash VARCHAR NOT NULL,
    created_at TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_link_planfix UNIQUE (pair, planfix_key),
    CONSTRAINT uq_link_planningpme UNIQUE (pair, planningpme_key)
)""",
    """CREATE TABLE cursor (
    pair VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (pair, side, kind)
)""",
    """CREATE TABLE intent (
    id INTEGER NOT NULL,
    pair VARCHAR NOT NULL,
    target_side VARCHAR NOT NULL,
    source_key VARCHAR NOT NULL,
    marker VARCHAR NOT NULL,
    payload TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    created_key VARCHAR,
    outcome VARCHAR,
    PRIMARY KEY (id)
)""",
    "CREATE INDEX ix_intent_open ON intent (pair, closed_at)",
    """CREATE TABLE tombstone (
    pair VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    "key" VARCHAR NOT NULL,
    deleted_at TEXT NOT NULL,
    reason VARCHAR NOT NULL,
    PRIMARY KEY (pair, side, "key")
)""",
    """CREATE TABLE failure (
    pair VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    "key" VARCHAR NOT NULL,
    operation VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    next_retry_at TEXT,
    last_error VARCHAR NOT NULL,
    parked BOOLEAN NOT NULL,
    first_failed_at TEXT NOT NULL,
    last_failed_at TEXT NOT NULL,
    PRIMARY KEY (pair, side, "key")
)""",
    "CREATE INDEX ix_failure_due ON failure (parked, next_retry_at)",
    """CREATE TABLE cycle (
    id INTEGER NOT NULL,
    pair VARCHAR NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    dry_run BOOLEAN NOT NULL,
    outcome VARCHAR,
    summary TEXT NOT NULL,
    PRIMARY KEY (id)
)""",
    """CREATE TABLE audit_entry (
    id INTEGER NOT NULL,
    cycle_id INTEGER,
    at TEXT NOT NULL,
    pair VARCHAR NOT NULL,
    operation VARCHAR NOT NULL,
    side VARCHAR,
    "key" VARCHAR,
    other_key VARCHAR,
    fields TEXT NOT NULL,
    rule VARCHAR,
    detail VARCHAR,
    PRIMARY KEY (id),
    FOREIGN KEY (cycle_id) REFERENCES cycle (id)
)""",
    "CREATE INDEX ix_audit_entry_cycle_id ON audit_entry (cycle_id)",
    "CREATE INDEX ix_audit_entry_pair ON audit_entry (pair, id)",
    """CREATE TABLE "conflict" (
    id INTEGER NOT NULL,
    pair VARCHAR NOT NULL,
    planfix_key VARCHAR NOT NULL,
    planningpme_key VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    planfix_value TEXT NOT NULL,
    planningpme_value TEXT NOT NULL,
    base_value TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    resolved_at TEXT,
    resolution VARCHAR,
    PRIMARY KEY (id)
)""",
    'CREATE UNIQUE INDEX uq_conflict_pending ON "conflict" (pair, planfix_key, planningpme_key, field) '
    "WHERE resolved_at IS NULL",
    """CREATE TABLE push_list (
    list_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    created_at TEXT NOT NULL,
    deleted_at TEXT,
    dedupe_key VARCHAR,
    PRIMARY KEY (list_id)
)""",
    "CREATE INDEX ix_push_list_dedupe_key ON push_list (dedupe_key)",
    """CREATE TABLE push_membership (
    list_id VARCHAR NOT NULL,
    contact_id VARCHAR NOT NULL,
    email VARCHAR NOT NULL,
    first_name VARCHAR NOT NULL,
    last_name VARCHAR NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (list_id, contact_id),
    FOREIGN KEY (list_id) REFERENCES push_list (list_id) ON DELETE CASCADE
)""",
    "CREATE INDEX ix_push_membership_contact_id ON push_membership (contact_id)",
    """CREATE TABLE pushed_change (
    id INTEGER NOT NULL,
    contact_id VARCHAR NOT NULL,
    list_id VARCHAR,
    action VARCHAR NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    dedupe_key VARCHAR NOT NULL,
    processed_at TEXT,
    PRIMARY KEY (id),
    UNIQUE (dedupe_key)
)""",
    "CREATE INDEX ix_pushed_change_pending ON pushed_change (processed_at, id)",
    """CREATE TABLE schema_version (
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (version)
)""",
)


def _v1_initial_schema(conn: Connection) -> None:
    for statement in V1_DDL:
        conn.exec_driver_sql(statement)


def _v2_link_echo(conn: Connection) -> None:
    """Links remember the read-back they await and the values a side holds by itself (issue 14).
    Existing links start with none: every hash they store was computed from what was written."""
    conn.exec_driver_sql("ALTER TABLE link ADD COLUMN echo TEXT NOT NULL DEFAULT '{}'")


def _v3_raw_digests(conn: Connection) -> None:
    """Where a full scan notes each record's raw content, to skip mapping it when unchanged."""
    conn.exec_driver_sql("ALTER TABLE link ADD COLUMN planfix_raw VARCHAR")
    conn.exec_driver_sql("ALTER TABLE link ADD COLUMN planningpme_raw VARCHAR")


MIGRATIONS: Sequence[Migration] = (_v1_initial_schema, _v2_link_echo, _v3_raw_digests)
"""Append only. Index ``i`` upgrades version ``i`` to ``i + 1``."""

CURRENT_VERSION = len(MIGRATIONS)
