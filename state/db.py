"""Opening the state database: checks first, then the engine, then forward migrations.

The order is the point. A file is sniffed and integrity-checked over a *read-only* connection
before anything can write to it (even ``PRAGMA journal_mode=WAL`` writes the header), so a corrupt
or foreign file is reported and left byte for byte as it was. Migrations run only in the writer,
under the single-writer lock, after a backup copy.

Every connection gets WAL (readers never block the writer, so `syncd status` works beside the
daemon), a busy timeout, and ``foreign_keys=ON``. Transactions are begun explicitly: the writer's
with ``BEGIN IMMEDIATE``, so a write never fails half-way on a lock upgrade, and DDL is transactional
(Python's sqlite3 would otherwise commit before every DDL statement).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from state.errors import StateCorrupt, StateFileError, StateTooNew
from state.files import (
    backup_path,
    check_header,
    create_private,
    ensure_private_database,
    open_private,
    reader_owner,
)
from state.migrations import MIGRATIONS, Migration
from state.types import utc_text

log = structlog.get_logger(__name__)

DEFAULT_BUSY_TIMEOUT_MS = 5000


def open_writer(
    path: Path,
    *,
    now: datetime,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> Engine:
    """Create or check the file, back it up if it needs migrating, migrate, and return the engine.

    The caller must hold the writer lock.
    """
    ensure_private_database(path)
    found = _inspect(path, supported=len(migrations))
    if 0 < found < len(migrations):
        _backup(path, found, now)
    engine = _engine(path, readonly=False, busy_timeout_ms=busy_timeout_ms)
    try:
        _migrate(engine, found, migrations, now)
    except BaseException:
        engine.dispose()
        raise
    return engine


def open_reader(
    path: Path,
    *,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> Engine:
    """A read-only engine on an existing, current database; nothing on disk is changed."""
    found = _inspect(path, supported=len(migrations), owner=reader_owner(path))
    if found < len(migrations):
        state = "is empty" if found == 0 else f"has schema version {found}, older than this syncd's"
        raise StateFileError(
            path, f"{state} ({len(migrations)}); run syncd once (not read-only) to create or upgrade it"
        )
    return _engine(path, readonly=True, busy_timeout_ms=busy_timeout_ms)


def _inspect(path: Path, *, supported: int, owner: int | None = None) -> int:
    """Check the file, its header and integrity over a read-only connection; return the schema version."""
    if not check_header(path, owner=owner):
        return 0
    try:
        with _raw_readonly(path) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise StateCorrupt(path, "integrity check failed: " + "; ".join(problems[:3]))
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return 0
            if "schema_version" not in tables:
                raise StateCorrupt(path, "it is an SQLite database, but not one of syncd (no schema_version)")
            found = conn.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    except sqlite3.OperationalError as exc:
        raise StateFileError(path, f"cannot be read ({exc})") from exc
    except sqlite3.DatabaseError as exc:
        raise StateCorrupt(path, str(exc)) from exc
    if not isinstance(found, int):
        raise StateCorrupt(path, f"its schema_version table holds {found!r} instead of a version number")
    if found > supported:
        raise StateTooNew(path, found, supported)
    return found


@contextlib.contextmanager
def _raw_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(_uri(path, "ro"), uri=True, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def _uri(path: Path, mode: str) -> str:
    # mode=rw (not rwc) for the writer too: only ensure_private_database creates the file, with 0600.
    # Only the directory is resolved: the file itself was checked not to be a link, and resolving
    # it would hand SQLite the target of a link planted since.
    return f"{(path.parent.resolve() / path.name).as_uri()}?mode={mode}"


def _backup(path: Path, version: int, now: datetime) -> Path:
    """A consistent copy (SQLite's backup API, so pages still in the WAL are included), mode 0600.

    SQLite writes the copy by name, so it writes into a private directory of our own (mode 0700,
    where no one else can plant a link); the finished copy is then renamed over the name reserved
    beside the database (a rename replaces a link, it never writes through one).
    """
    target = _reserve_backup_name(path, backup_path(path, version, now))
    workdir = Path(tempfile.mkdtemp(prefix=".syncd-backup-", dir=path.parent))
    try:
        staging = workdir / "backup.db"
        os.close(create_private(staging, db_path=path))
        dest = sqlite3.connect(staging)
        try:
            with _raw_readonly(path) as source:
                source.backup(dest)
        except sqlite3.Error as exc:
            raise StateFileError(
                path, f"backup to {target} before migrating failed ({exc}); nothing migrated"
            ) from exc
        finally:
            dest.close()
        os.close(open_private(staging, os.O_RDONLY, db_path=path))  # 0600 through the descriptor
        staging.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()  # the empty placeholder; unlink never follows a link
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    log.info("state_backup_written", path=str(path), backup=str(target), version=version)
    return target


def _reserve_backup_name(path: Path, first: Path) -> Path:
    """Claim a free backup name with an empty 0600 file (``O_EXCL``: nothing existing is touched)."""
    for attempt in range(100):
        target = first if attempt == 0 else first.with_name(f"{first.name}.{attempt}")
        try:
            os.close(create_private(target, db_path=path))
        except FileExistsError:
            continue
        return target
    raise StateFileError(path, f"cannot find a free name for the pre-migration backup {first}")


def _migrate(engine: Engine, found: int, migrations: Sequence[Migration], now: datetime) -> None:
    """Run the missing migrations, each with its version row in one transaction."""
    for version in range(found, len(migrations)):
        with engine.begin() as conn:
            migrations[version](conn)
            conn.exec_driver_sql(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version + 1, utc_text(now))
            )
        log.info("state_migrated", version=version + 1)


def _engine(path: Path, *, readonly: bool, busy_timeout_ms: int) -> Engine:
    uri = _uri(path, "ro" if readonly else "rw")

    def connect() -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN ourselves (see _begin), so DDL is transactional too.
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)

    # The URL has no file name (the creator opens it), which SQLAlchemy would take for an in-memory
    # database and serve from a SingletonThreadPool: that pool closes connections other threads
    # still use once more than five threads share it. A QueuePool is right for a file.
    engine = create_engine(
        "sqlite+pysqlite://", creator=connect, poolclass=QueuePool, pool_size=5, max_overflow=20
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        if not readonly:
            # NORMAL is crash-safe in WAL mode; a power cut may lose the last commits, which the
            # intent journal and the markers on both sides recover without duplicates.
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
            dbapi_connection.execute("PRAGMA synchronous = NORMAL")

    begin = "BEGIN" if readonly else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine
