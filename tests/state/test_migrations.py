"""Schema versions: the migrations build what the models describe, and old files upgrade safely."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, inspect
from sqlmodel import SQLModel

import state.models  # noqa: F401 (registers the tables on SQLModel.metadata)
from state import db
from state.errors import StateFileError
from state.migrations import CURRENT_VERSION, MIGRATIONS
from state.store import Store

SNAPSHOTS = Path(__file__).parent / "snapshots"
MIGRATED_AT = datetime(2026, 4, 1, 12, 0, 5, tzinfo=UTC)


def load_snapshot(version: int, path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript((SNAPSHOTS / f"v{version}.sql").read_text(encoding="utf-8"))


def schema_of(path: Path) -> dict[str, Any]:
    """Everything about the schema that matters, in a form two databases can be compared by."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        return _schema(engine)
    finally:
        engine.dispose()


def _schema(engine: Engine) -> dict[str, Any]:
    inspector = inspect(engine)
    with engine.connect() as conn:
        partial = {
            name: re.sub(r"\s+", " ", sql.split(" WHERE ", 1)[1])
            for name, sql in conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
            if sql and " WHERE " in sql
        }
    return {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("primary_key", 0))
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]), partial.get(i["name"] or ""))
                for i in inspector.get_indexes(table)
            ),
            "foreign_keys": sorted(
                (
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    fk["options"].get("ondelete"),
                )
                for fk in inspector.get_foreign_keys(table)
            ),
        }
        for table in sorted(inspector.get_table_names())
    }


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def versions_in(path: Path) -> list[int]:
    return [version for (version,) in query(path, "SELECT version FROM schema_version ORDER BY version")]


def test_running_every_migration_gives_the_schema_the_models_describe(tmp_path: Path) -> None:
    Store.open(tmp_path / "migrated.db").close()
    from_models = create_engine(f"sqlite:///{tmp_path / 'models.db'}")
    SQLModel.metadata.create_all(from_models)
    from_models.dispose()

    assert schema_of(tmp_path / "migrated.db") == schema_of(tmp_path / "models.db")


def test_there_is_a_frozen_snapshot_of_every_version() -> None:
    assert sorted(p.name for p in SNAPSHOTS.glob("v*.sql")) == sorted(
        f"v{v}.sql" for v in range(1, CURRENT_VERSION + 1)
    ), "freeze a .dump of each schema version under tests/state/snapshots/ when adding a migration"


@pytest.mark.parametrize("version", range(1, CURRENT_VERSION + 1))
def test_each_snapshot_matches_what_its_migrations_build(tmp_path: Path, version: int) -> None:
    # Guards "never edit a shipped migration": the old DDL must still produce the old files.
    load_snapshot(version, tmp_path / "snapshot.db")
    engine = create_engine(f"sqlite:///{tmp_path / 'replayed.db'}")
    with engine.begin() as conn:
        for migration in MIGRATIONS[:version]:
            migration(conn)
    engine.dispose()

    assert schema_of(tmp_path / "replayed.db") == schema_of(tmp_path / "snapshot.db")


@pytest.mark.parametrize("version", range(1, CURRENT_VERSION + 1))
def test_every_snapshot_opens_at_the_current_version_with_its_data(tmp_path: Path, version: int) -> None:
    path = tmp_path / "state.db"
    load_snapshot(version, path)

    with Store.open(path) as store:
        assert store.stats().schema_version == CURRENT_VERSION
        (link,) = store.links("tasks")
        assert (link.planfix_key, link.planningpme_key, link.canonical["title"]) == (
            "123",
            "17",
            "Ремонт котла",
        )
        assert store.is_tombstoned("tasks", "planningpme", "16")
        assert [f.key for f in store.failures()] == ["125"]
        assert [e.fields["title"] for e in store.audit_log()] == [("Ремонт", "Ремонт котла")]
        assert len(store.pending_conflicts()) == 1
        assert [c.dedupe_key for c in store.pending_pushed_changes()] == ["push-1"]

    backups = sorted(p.name for p in tmp_path.glob("state.db.bak-*"))
    assert backups == ([] if version == CURRENT_VERSION else [backups[0]])


# --- the mechanism, with a made-up version 2 after the real version 1 ---------------------------


def add_priority_v2(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE link ADD COLUMN priority INTEGER NOT NULL DEFAULT 0")


def broken_v2(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE link ADD COLUMN half_done INTEGER")
    raise RuntimeError("migration bug")


def test_an_upgrade_backs_up_first_then_migrates(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    load_snapshot(1, path)

    engine = db.open_writer(path, now=MIGRATED_AT, migrations=(*MIGRATIONS[:1], add_priority_v2))
    engine.dispose()

    assert versions_in(path) == [1, 2]
    assert query(path, "SELECT planfix_key, priority FROM link ORDER BY id") == [("123", 0), ("12", 0)]
    backup = tmp_path / "state.db.bak-v1-20260401T120005Z"
    assert backup.stat().st_mode & 0o777 == 0o600
    assert versions_in(backup) == [1]
    load_snapshot(1, tmp_path / "v1.db")
    assert schema_of(backup) == schema_of(tmp_path / "v1.db")


def test_a_failing_migration_changes_nothing_and_leaves_the_backup(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    load_snapshot(1, path)
    before = schema_of(path)

    with pytest.raises(RuntimeError, match="migration bug"):
        db.open_writer(path, now=MIGRATED_AT, migrations=(*MIGRATIONS[:1], broken_v2))

    assert versions_in(path) == [1]
    assert schema_of(path) == before  # the ALTER was rolled back with the rest
    assert (tmp_path / "state.db.bak-v1-20260401T120005Z").exists()


def test_two_upgrades_in_the_same_second_keep_both_backups(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    load_snapshot(1, path)
    with pytest.raises(RuntimeError):
        db.open_writer(path, now=MIGRATED_AT, migrations=(*MIGRATIONS[:1], broken_v2))

    db.open_writer(path, now=MIGRATED_AT, migrations=(*MIGRATIONS[:1], add_priority_v2)).dispose()

    assert sorted(p.name for p in tmp_path.glob("state.db.bak-*")) == [
        "state.db.bak-v1-20260401T120005Z",
        "state.db.bak-v1-20260401T120005Z.1",
    ]


def test_a_new_database_needs_no_backup(tmp_path: Path) -> None:
    Store.open(tmp_path / "state.db").close()

    assert list(tmp_path.glob("*.bak-*")) == []
    assert versions_in(tmp_path / "state.db") == list(range(1, CURRENT_VERSION + 1))


def test_a_reader_refuses_a_database_that_needs_migrating(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    load_snapshot(1, path)

    with pytest.raises(
        StateFileError, match=r"schema version 1, older than this syncd's \(2\); run syncd once"
    ):
        db.open_reader(path, migrations=(*MIGRATIONS[:1], add_priority_v2))
    assert versions_in(path) == [1]
