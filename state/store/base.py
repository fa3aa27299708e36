"""Opening, closing and the one transaction: the only code that opens a database session.

Every query mixin of the store inherits from ``StoreBase`` and runs its SQL inside
``_session``, so the rules that make the store safe live in one place: a read-only store refuses
writes, a closed store says so, each operation is its own short transaction, and a database
fault comes out as a state error naming the file and the operation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlmodel import Session

from state import db
from state.errors import StateCorrupt, StateFileError, StateReadOnly
from state.lock import WriterLock


class StoreBase:
    """The database file, its engine and writer lock, and the links' generation counter."""

    def __init__(self, path: Path, engine: Engine, lock: WriterLock | None) -> None:
        self.path = path
        self._engine: Engine | None = engine
        self._lock = lock
        self._generations: dict[str, int] = {}
        self._next_generation = itertools.count(1)

    @classmethod
    def open(
        cls, path: Path, *, readonly: bool = False, busy_timeout_ms: int = db.DEFAULT_BUSY_TIMEOUT_MS
    ) -> Self:
        """Open (creating and migrating if needed) the database at ``path``.

        A writer takes the single-writer lock first and holds it until ``close``; ``readonly`` opens
        (for `syncd status` beside a running daemon) take no lock, never create, migrate or chmod
        anything, and refuse every write.
        """
        path = Path(path)
        if readonly:
            return cls(path, db.open_reader(path, busy_timeout_ms=busy_timeout_ms), None)
        lock = WriterLock.acquire(path)
        try:
            engine = db.open_writer(path, now=datetime.now(UTC), busy_timeout_ms=busy_timeout_ms)
        except BaseException:
            lock.release()
            raise
        return cls(path, engine, lock)

    @property
    def readonly(self) -> bool:
        return self._lock is None

    def close(self) -> None:
        """Close all connections (checkpointing the WAL), then release the lock. Idempotent."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._lock is not None:
            self._lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _session(self, operation: str, *, write: bool = False) -> Iterator[Session]:
        """One transaction; database faults become state errors naming the file and the operation."""
        if write and self.readonly:
            raise StateReadOnly(self.path, operation)
        if self._engine is None:
            raise StateFileError(self.path, f"the store is closed, so {operation}() cannot run")
        try:
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                yield session
        except sa_exc.IntegrityError:
            raise
        except sa_exc.OperationalError as exc:
            raise StateFileError(self.path, f"{operation}() failed: {exc.orig}") from exc
        except sa_exc.DatabaseError as exc:
            raise StateCorrupt(self.path, f"{operation}() failed: {exc.orig}") from exc
        except sa_exc.StatementError as exc:
            # A value our column types refused (naive datetime, non-JSON value): the caller's bug,
            # reported as the plain ValueError it is rather than wrapped in SQLAlchemy's.
            if isinstance(exc.orig, ValueError):
                raise exc.orig from exc
            raise

    def generation(self, pair: str) -> int:
        """A number that changes whenever this store changes the pair's links or tombstones.

        Only one process writes (the single-writer lock), so a caller that keeps some of them in
        memory knows its copy is current while the number stays the same. A read-only store never
        changes it: its callers work from a snapshot, as a dry run does.
        """
        return self._generations.get(pair, 0)

    def _changed(self, pair: str) -> None:
        # A number never used before (next() on a count is atomic), so concurrent changes from
        # two threads cannot land on a value some reader has already seen.
        self._generations[pair] = next(self._next_generation)
