"""The state store: the only code that opens a database session.

Callers see a handful of named operations, each its own short transaction (so one applied sync
operation is one transaction, and a crash leaves either all of it or none), and get frozen rows
back. Every ``now`` is passed in by the caller, so tests and dry runs decide what time it is; all
times must be timezone-aware.

The store is safe to share between threads (the scheduler's jobs and the push endpoint): each
operation takes its own pooled connection, and SQLite serialises the writes.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from uuid import uuid4

from sqlalchemy import Engine, bindparam, case, func
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, select, update

from state import db
from state.backoff import retry_delay
from state.errors import LinkConflict, PushListNotFound, StateCorrupt, StateFileError, StateReadOnly
from state.lock import WriterLock
from state.models import (
    AuditEntry,
    Conflict,
    Cursor,
    Cycle,
    Failure,
    Intent,
    Link,
    PushedChange,
    PushList,
    PushMembership,
    SchemaVersion,
    Tombstone,
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
    StoreStats,
)
from state.types import dump_json, require_aware

# Long enough for a remote's stack trace summary, short enough that one bad record cannot bloat the file.
__all__ = [
    "AuditRow",
    "ConflictRow",
    "CycleRow",
    "FailureRow",
    "IntentRow",
    "LinkRow",
    "MembershipRow",
    "PushListRow",
    "PushedChangeRow",
    "Store",
    "StoreStats",
]

MAX_ERROR_CHARS = 2000
IN_CHUNK = 500
"""Keys per ``IN (…)`` list: well under SQLite's limit on bound parameters."""
DEFAULT_CREATE_LIST_WINDOW = timedelta(minutes=10)
PRUNE_BATCH = 500
"""Rows one retention transaction deletes: small, so a cycle never waits long for the write lock."""


class Store:
    """The state database behind named operations. Open with ``Store.open``; close or use ``with``."""

    def __init__(self, path: Path, engine: Engine, lock: WriterLock | None) -> None:
        self.path = path
        self._engine: Engine | None = engine
        self._lock = lock
        self._generations: dict[str, int] = {}
        self._next_generation = itertools.count(1)

    @classmethod
    def open(
        cls, path: Path, *, readonly: bool = False, busy_timeout_ms: int = db.DEFAULT_BUSY_TIMEOUT_MS
    ) -> Store:
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

    # --- links ---------------------------------------------------------------------------------

    def links(self, pair: str) -> list[LinkRow]:
        with self._session("links") as s:
            query = _LINK_COLUMNS.where(col(Link.pair) == pair).order_by(col(Link.id))
            return [_link_row_of(values) for values in s.connection().execute(query)]

    def links_by_keys(
        self, pair: str, planfix_keys: Iterable[str] = (), planningpme_keys: Iterable[str] = ()
    ) -> list[LinkRow]:
        """The links holding any of the keys, each once: what a cycle that read only some records
        needs, without loading every link of the pair."""
        found: dict[tuple[str, str], LinkRow] = {}
        with self._session("links_by_keys") as s:
            for column, keys in ((Link.planfix_key, planfix_keys), (Link.planningpme_key, planningpme_keys)):
                wanted = sorted(set(keys))
                for start in range(0, len(wanted), IN_CHUNK):
                    query = _LINK_COLUMNS.where(
                        col(Link.pair) == pair, col(column).in_(wanted[start : start + IN_CHUNK])
                    )
                    for values in s.connection().execute(query):
                        row = _link_row_of(values)
                        found[(row.planfix_key, row.planningpme_key)] = row
        return list(found.values())

    def link_keys(self, pair: str) -> list[tuple[str, str]]:
        """``(planfix_key, planningpme_key)`` of every link of the pair, without what was synced."""
        with self._session("link_keys") as s:
            query = select(Link.planfix_key, Link.planningpme_key).where(Link.pair == pair)
            return [(pf, pme) for pf, pme in s.exec(query)]

    def scan_index(self, pair: str, side: str) -> tuple[dict[str, str], dict[str, str]]:
        """What a full scan of ``side`` compares each record with: every linked key's stored hash,
        and, for the keys whose raw digest is still valid (noted against the hash the link holds
        now), that digest. Nothing of what was synced is loaded: that is what keeps it small."""
        key_col, hash_col, raw_col = _side_columns(side)
        tag_length = func.length(hash_col) + 1
        valid = case(
            (func.substr(raw_col, 1, tag_length) == hash_col + ":", func.substr(raw_col, tag_length + 1)),
            else_=None,
        )
        hashes: dict[str, str] = {}
        digests: dict[str, str] = {}
        with self._session("scan_index") as s:
            query = sa_select(key_col, hash_col, valid).where(col(Link.pair) == pair)
            for key, digest_of, digest in s.connection().execute(query):
                hashes[key] = digest_of
                if digest:
                    digests[key] = digest
        return hashes, digests

    def awaiting_echo(self, pair: str, side: str) -> set[str]:
        """Keys of ``side`` whose link waits for the read-back of syncd's own write there: a full
        scan must hand them to the planner even when their digest matches (the read-back settles
        the echo). Only links with an echo are parsed, and those are few."""
        key_col, _, _ = _side_columns(side)
        found: set[str] = set()
        with self._session("awaiting_echo") as s:
            query = sa_select(key_col, col(Link.echo)).where(col(Link.pair) == pair, col(Link.echo) != "{}")
            for key, echo in s.connection().execute(query):
                data = json.loads(echo) if isinstance(echo, str) else echo
                if (data or {}).get("awaiting", {}).get(side):
                    found.add(key)
        return found

    def note_raw_digests(self, pair: str, side: str, notes: Iterable[tuple[str, str, str]]) -> None:
        """Remember ``(key, hash, digest)``: the raw record ``key`` of ``side`` whose digest this is
        maps to ``hash``. Noted only where the link still holds that hash; one transaction."""
        key_col, hash_col, raw_col = _side_columns(side)
        rows = [
            {"k": key, "h": digest_of, "raw": f"{digest_of}:{digest}"} for key, digest_of, digest in notes
        ]
        if not rows:
            return
        statement = (
            update(Link)
            .where(col(Link.pair) == pair, key_col == bindparam("k"), hash_col == bindparam("h"))
            .values({raw_col.key: bindparam("raw")})
        )
        with self._session("note_raw_digests", write=True) as s:
            s.connection().execute(statement, rows)

    def link_count(self, pair: str) -> int:
        with self._session("link_count") as s:
            return int(s.exec(select(func.count()).select_from(Link).where(Link.pair == pair)).one())

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

    def link_by_planfix(self, pair: str, key: str) -> LinkRow | None:
        with self._session("link_by_planfix") as s:
            found = s.exec(select(Link).where(Link.pair == pair, Link.planfix_key == key)).first()
            return None if found is None else _link_row(found)

    def link_by_planningpme(self, pair: str, key: str) -> LinkRow | None:
        with self._session("link_by_planningpme") as s:
            found = s.exec(select(Link).where(Link.pair == pair, Link.planningpme_key == key)).first()
            return None if found is None else _link_row(found)

    def upsert_link(
        self,
        pair: str,
        planfix_key: str,
        planningpme_key: str,
        canonical: Mapping[str, Any],
        planfix_hash: str,
        planningpme_hash: str,
        now: datetime,
        echo: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that the two records are linked and what was synced between them (``echo``: see
        ``LinkRow.echo``; None stores none).

        A link is found by either key. If one link already holds either key it is updated (and
        re-keyed, e.g. after a record was re-created); if the keys belong to two different links,
        LinkConflict is raised and nothing is written.
        """
        row = LinkRow(
            pair,
            planfix_key,
            planningpme_key,
            dict(canonical),
            planfix_hash,
            planningpme_hash,
            now,
            now,
            dict(echo or {}),
        )
        with self._session("upsert_link", write=True) as s:
            _upsert_link(s, row)
        self._changed(pair)

    def upsert_links_batch(self, rows: Iterable[LinkRow]) -> None:
        """Many upserts in one transaction (first sync, re-matching); all or none are written.

        The same rules as ``upsert_link``, applied row after row, but the links the rows name are
        read up front, IN_CHUNK keys a query, instead of two queries a row.
        """
        batch = list(rows)
        pairs = {row.pair for row in batch}
        with self._session("upsert_links_batch", write=True) as s:
            for pair in sorted(pairs):
                _upsert_links(s, pair, [row for row in batch if row.pair == pair])
        for pair in pairs:
            self._changed(pair)

    def delete_link(self, pair: str, planfix_key: str, planningpme_key: str) -> bool:
        """Forget the link between exactly these two keys; False if there was none."""
        with self._session("delete_link", write=True) as s:
            found = s.exec(
                select(Link).where(
                    Link.pair == pair,
                    Link.planfix_key == planfix_key,
                    Link.planningpme_key == planningpme_key,
                )
            ).first()
            if found is None:
                return False
            s.delete(found)
        self._changed(pair)
        return True

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
            row = LinkRow(
                intent.pair,
                planfix_key,
                planningpme_key,
                dict(canonical),
                planfix_hash,
                planningpme_hash,
                now,
                now,
                dict(echo or {}),
            )
            _upsert_link(s, row)
            _close_intent(s, intent_id, outcome, created, now)
        self._changed(row.pair)

    def open_intents(self, pair: str | None = None) -> list[IntentRow]:
        """Intents a crash left open, oldest first: resolve each by looking its marker up."""
        query = select(Intent).where(col(Intent.closed_at).is_(None))
        if pair is not None:
            query = query.where(Intent.pair == pair)
        with self._session("open_intents") as s:
            return [_intent_row(m) for m in s.exec(query.order_by(col(Intent.id)))]

    # --- tombstones ----------------------------------------------------------------------------

    def add_tombstone(self, pair: str, side: str, key: str, reason: str, now: datetime) -> bool:
        """Remember a deletion for good; False (and the first record kept) if already there."""
        with self._session("add_tombstone", write=True) as s:
            if s.get(Tombstone, (pair, side, key)) is not None:
                return False
            s.add(Tombstone(pair=pair, side=side, key=key, deleted_at=now, reason=reason))
        self._changed(pair)
        return True

    def tombstones(self, pair: str) -> set[tuple[str, str]]:
        """``{(side, key)}`` of every record of the pair deleted on purpose."""
        with self._session("tombstones") as s:
            rows = s.exec(select(Tombstone.side, Tombstone.key).where(Tombstone.pair == pair))
            return {(side, key) for side, key in rows}

    def is_tombstoned(self, pair: str, side: str, key: str) -> bool:
        with self._session("is_tombstoned") as s:
            return s.get(Tombstone, (pair, side, key)) is not None

    # --- failure queue -------------------------------------------------------------------------

    def record_failure(
        self,
        pair: str,
        side: str,
        key: str,
        operation: str,
        error: str,
        now: datetime,
        *,
        max_attempts: int,
        backoff_base_s: float,
        backoff_cap_s: float,
    ) -> FailureRow:
        """Count one more failure of this record and schedule its retry.

        The n-th consecutive failure waits ``min(cap, base * 2**(n-1))``; the ``max_attempts``-th
        parks the record (a poison record): it is not retried until ``unpark``.
        """
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        with self._session("record_failure", write=True) as s:
            found = s.get(Failure, (pair, side, key))
            attempts = 1 if found is None else found.attempts + 1
            parked = attempts >= max_attempts
            delay = retry_delay(attempts, base_s=backoff_base_s, cap_s=backoff_cap_s)
            failure = found or Failure(
                pair=pair,
                side=side,
                key=key,
                operation=operation,
                attempts=0,
                last_error="",
                first_failed_at=now,
                last_failed_at=now,
            )
            failure.operation = operation
            failure.attempts = attempts
            failure.last_error = error[:MAX_ERROR_CHARS]
            failure.last_failed_at = now
            failure.parked = parked
            failure.next_retry_at = None if parked else now + delay
            s.add(failure)
            s.flush()
            return _failure_row(failure)

    def clear_failure(self, pair: str, side: str, key: str) -> bool:
        """The record went through: forget its failures. False if it had none."""
        with self._session("clear_failure", write=True) as s:
            found = s.get(Failure, (pair, side, key))
            if found is None:
                return False
            s.delete(found)
            return True

    def failure(self, pair: str, side: str, key: str) -> FailureRow | None:
        with self._session("failure") as s:
            found = s.get(Failure, (pair, side, key))
            return None if found is None else _failure_row(found)

    def failures(self, pair: str | None = None) -> list[FailureRow]:
        """Every failing record, parked ones included, oldest failure first."""
        query = select(Failure)
        if pair is not None:
            query = query.where(Failure.pair == pair)
        with self._session("failures") as s:
            return [_failure_row(m) for m in s.exec(query.order_by(col(Failure.first_failed_at)))]

    def due_failures(self, now: datetime, pair: str | None = None) -> list[FailureRow]:
        """Failures whose retry time has come (or was cleared by ``unpark``), soonest first."""
        query = select(Failure).where(
            col(Failure.parked).is_(False),
            (col(Failure.next_retry_at).is_(None)) | (col(Failure.next_retry_at) <= now),
        )
        if pair is not None:
            query = query.where(Failure.pair == pair)
        with self._session("due_failures") as s:
            return [_failure_row(m) for m in s.exec(query.order_by(col(Failure.next_retry_at)))]

    def is_backing_off(self, pair: str, side: str, key: str, now: datetime) -> bool:
        """True if this record must be skipped now: parked, or its retry time is still ahead."""
        now = require_aware(now, "now")
        with self._session("is_backing_off") as s:
            found = s.get(Failure, (pair, side, key))
            if found is None:
                return False
            return found.parked or (found.next_retry_at is not None and found.next_retry_at > now)

    def unpark(self, pair: str, side: str, key: str) -> bool:
        """Give a parked record a fresh set of attempts, due at once. False if it was not parked."""
        with self._session("unpark", write=True) as s:
            found = s.get(Failure, (pair, side, key))
            if found is None or not found.parked:
                return False
            found.parked, found.attempts, found.next_retry_at = False, 0, None
            s.add(found)
            return True

    # --- audit and cycles ----------------------------------------------------------------------

    def audit(self, entries: Sequence[AuditRow]) -> None:
        """Append audit entries in one transaction (their ``id`` is ignored and assigned here)."""
        with self._session("audit", write=True) as s:
            s.add_all(
                AuditEntry(
                    cycle_id=e.cycle_id,
                    at=e.at,
                    pair=e.pair,
                    operation=e.operation,
                    side=e.side,
                    key=e.key,
                    other_key=e.other_key,
                    fields={name: [old, new] for name, (old, new) in e.fields.items()},
                    rule=e.rule,
                    detail=e.detail,
                )
                for e in entries
            )

    def audit_log(
        self, pair: str | None = None, limit: int = 100, *, cycle_id: int | None = None
    ) -> list[AuditRow]:
        """The newest entries first."""
        query = select(AuditEntry)
        if pair is not None:
            query = query.where(AuditEntry.pair == pair)
        if cycle_id is not None:
            query = query.where(AuditEntry.cycle_id == cycle_id)
        with self._session("audit_log") as s:
            return [_audit_row(m) for m in s.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit))]

    def start_cycle(self, pair: str, dry_run: bool, now: datetime) -> int:
        with self._session("start_cycle", write=True) as s:
            cycle = Cycle(pair=pair, started_at=now, dry_run=dry_run)
            s.add(cycle)
            s.flush()
            assert cycle.id is not None
            return cycle.id

    def finish_cycle(self, cycle_id: int, outcome: str, summary: Mapping[str, Any], now: datetime) -> None:
        with self._session("finish_cycle", write=True) as s:
            cycle = s.get(Cycle, cycle_id)
            if cycle is None:
                raise LookupError(f"cycle {cycle_id} does not exist")
            cycle.finished_at, cycle.outcome, cycle.summary = now, outcome, dict(summary)
            s.add(cycle)

    def last_cycles(self, limit: int = 10, pair: str | None = None) -> list[CycleRow]:
        """The newest cycles first."""
        query = select(Cycle)
        if pair is not None:
            query = query.where(Cycle.pair == pair)
        with self._session("last_cycles") as s:
            return [_cycle_row(m) for m in s.exec(query.order_by(col(Cycle.id).desc()).limit(limit))]

    # --- conflicts -----------------------------------------------------------------------------

    def record_conflict(
        self,
        pair: str,
        planfix_key: str,
        planningpme_key: str,
        field: str,
        planfix_value: Any,
        planningpme_value: Any,
        base_value: Any,
        now: datetime,
    ) -> bool:
        """Record a conflict waiting for a person; True if it is news (so audit it), else False.

        At most one conflict per link and field is pending. Seeing the same one again next cycle
        changes nothing and returns False; if the values moved on, they are updated and it is news.
        """
        values = (planfix_value, planningpme_value, base_value)
        with self._session("record_conflict", write=True) as s:
            pending = s.exec(
                select(Conflict).where(
                    Conflict.pair == pair,
                    Conflict.planfix_key == planfix_key,
                    Conflict.planningpme_key == planningpme_key,
                    Conflict.field == field,
                    col(Conflict.resolved_at).is_(None),
                )
            ).first()
            if pending is None:
                s.add(
                    Conflict(
                        pair=pair,
                        planfix_key=planfix_key,
                        planningpme_key=planningpme_key,
                        field=field,
                        planfix_value=planfix_value,
                        planningpme_value=planningpme_value,
                        base_value=base_value,
                        detected_at=now,
                    )
                )
                return True
            stored = (pending.planfix_value, pending.planningpme_value, pending.base_value)
            if dump_json(stored, "conflict values") == dump_json(values, "conflict values"):
                return False
            pending.planfix_value, pending.planningpme_value, pending.base_value = values
            s.add(pending)
            return True

    def pending_conflicts(self, pair: str | None = None) -> list[ConflictRow]:
        query = select(Conflict).where(col(Conflict.resolved_at).is_(None))
        if pair is not None:
            query = query.where(Conflict.pair == pair)
        with self._session("pending_conflicts") as s:
            return [_conflict_row(m) for m in s.exec(query.order_by(col(Conflict.id)))]

    def resolve_conflict(self, conflict_id: int, resolution: str, now: datetime) -> bool:
        """Mark a conflict decided; False if it already was (the first resolution stands)."""
        with self._session("resolve_conflict", write=True) as s:
            conflict = s.get(Conflict, conflict_id)
            if conflict is None:
                raise LookupError(f"conflict {conflict_id} does not exist")
            if conflict.resolved_at is not None:
                return False
            conflict.resolved_at, conflict.resolution = now, resolution
            s.add(conflict)
            return True

    # --- push lists, memberships and the pushed-change queue -----------------------------------

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
            return None if found is None else _push_list_row(found)

    def push_lists(self, *, include_deleted: bool = False) -> list[PushListRow]:
        query = select(PushList)
        if not include_deleted:
            query = query.where(col(PushList.deleted_at).is_(None))
        with self._session("push_lists") as s:
            return [_push_list_row(m) for m in s.exec(query.order_by(col(PushList.created_at)))]

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
            return [_membership_row(m) for m in s.exec(query.order_by(col(PushMembership.contact_id)))]

    def memberships_of(self, contact_id: str) -> list[MembershipRow]:
        """The lists a contact is in: decides whether a pushed change feeds PlanningPME."""
        with self._session("memberships_of") as s:
            query = select(PushMembership).where(PushMembership.contact_id == contact_id)
            return [_membership_row(m) for m in s.exec(query.order_by(col(PushMembership.list_id)))]

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
            return [_pushed_row(m) for m in s.exec(query.order_by(col(PushedChange.id)).limit(limit))]

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

    # --- retention -----------------------------------------------------------------------------

    def prune_history(self, before: datetime, *, batch: int = PRUNE_BATCH) -> dict[str, int]:
        """Delete the history older than ``before``; returns the rows deleted per table.

        History is what only people read back: audit entries, finished cycles (the newest of each
        pair stays, for `syncd status`), processed pushes, closed intents and resolved conflicts.
        What the sync still needs is never touched, however old: open intents, queued or parked
        failures, conflicts waiting for a person, unprocessed pushes, links and tombstones (a
        tombstone is what stops a deleted record from being re-created). Each batch of ``batch``
        rows is its own short transaction, so a cycle writing meanwhile waits for one batch at most.
        """
        cutoff = require_aware(before, "before")
        done: dict[str, int] = {}
        for table, model, oldest in _PRUNABLE:
            total = 0
            while True:
                deleted = self._prune_batch(table, model, oldest(cutoff), batch)
                total += deleted
                if deleted < batch:
                    break
            done[table] = total
        return done

    def _prune_batch(self, table: str, model: Any, query: Any, batch: int) -> int:
        with self._session(f"prune_history({table})", write=True) as s:
            ids = list(s.exec(query.limit(batch)).all())
            if ids:
                s.exec(delete(model).where(col(model.id).in_(ids)))
            return len(ids)

    # --- status --------------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        """The counts `syncd status` shows, from one consistent snapshot."""
        with self._session("stats") as s:
            links = s.exec(select(Link.pair, func.count()).group_by(col(Link.pair)).order_by(col(Link.pair)))
            parked = s.exec(select(Failure.parked, func.count()).group_by(col(Failure.parked)))
            by_parked = {bool(flag): count for flag, count in parked}

            def count(query: Any) -> int:
                return int(s.exec(query).one())

            return StoreStats(
                links={pair: count for pair, count in links},
                failures=by_parked.get(False, 0),
                parked=by_parked.get(True, 0),
                pending_conflicts=count(
                    select(func.count()).select_from(Conflict).where(col(Conflict.resolved_at).is_(None))
                ),
                open_intents=count(
                    select(func.count()).select_from(Intent).where(col(Intent.closed_at).is_(None))
                ),
                pending_pushed_changes=count(
                    select(func.count())
                    .select_from(PushedChange)
                    .where(col(PushedChange.processed_at).is_(None))
                ),
                schema_version=count(select(func.max(col(SchemaVersion.version)))),
            )

    def status_summary(self, *, cycles: int = 10) -> dict[str, Any]:
        """What `syncd status` prints (and ``--json`` emits): JSON-ready, times as ISO text."""
        stats = self.stats()
        return {
            "schema_version": stats.schema_version,
            "links": dict(stats.links),
            "failures": stats.failures,
            "parked": stats.parked,
            "pending_conflicts": stats.pending_conflicts,
            "open_intents": stats.open_intents,
            "pending_pushed_changes": stats.pending_pushed_changes,
            "last_cycles": [_jsonable(asdict(c)) for c in self.last_cycles(cycles)],
            "failing_records": [_jsonable(asdict(f)) for f in self.failures()],
            "conflicts_waiting": [_jsonable(asdict(c)) for c in self.pending_conflicts()],
        }


def _side_columns(side: str) -> tuple[Any, Any, Any]:
    """The link's key, hash and raw digest columns of one side."""
    if side == "planfix":
        return col(Link.planfix_key), col(Link.planfix_hash), col(Link.planfix_raw)
    if side == "planningpme":
        return col(Link.planningpme_key), col(Link.planningpme_hash), col(Link.planningpme_raw)
    raise ValueError(f"unknown side {side!r}")


# --- retention queries ----------------------------------------------------------------------------


def _old_audit(cutoff: datetime) -> Any:
    return select(AuditEntry.id).where(col(AuditEntry.at) < cutoff).order_by(col(AuditEntry.id))


def _closed_before(model: Any, closed: Any) -> Callable[[datetime], Any]:
    """Rows whose ``closed`` moment (processed, closed, resolved) lies before the cutoff: rows
    still open (no such moment) are never pruned, however old."""

    def query(cutoff: datetime) -> Any:
        return select(model.id).where(col(closed).is_not(None), col(closed) < cutoff).order_by(col(model.id))

    return query


def _old_cycles(cutoff: datetime) -> Any:
    """Cycles started before the cutoff that no audit entry still names, except each pair's newest
    (a cycle that never finished, the process having died, counts from its start)."""
    newest = select(func.max(col(Cycle.id))).group_by(col(Cycle.pair))
    named = select(AuditEntry.id).where(col(AuditEntry.cycle_id) == col(Cycle.id))
    return (
        select(Cycle.id)
        .where(col(Cycle.started_at) < cutoff, col(Cycle.id).not_in(newest), ~named.exists())
        .order_by(col(Cycle.id))
    )


_PRUNABLE: tuple[tuple[str, Any, Callable[[datetime], Any]], ...] = (
    ("audit_entry", AuditEntry, _old_audit),
    ("pushed_change", PushedChange, _closed_before(PushedChange, PushedChange.processed_at)),
    ("intent", Intent, _closed_before(Intent, Intent.closed_at)),
    ("conflict", Conflict, _closed_before(Conflict, Conflict.resolved_at)),
    ("cycle", Cycle, _old_cycles),  # last: after their audit entries went
)


# --- session-level helpers (used inside one transaction) ------------------------------------------


def _upsert_link(s: Session, row: LinkRow) -> None:
    by_planfix = s.exec(
        select(Link).where(Link.pair == row.pair, Link.planfix_key == row.planfix_key)
    ).first()
    by_pme = s.exec(
        select(Link).where(Link.pair == row.pair, Link.planningpme_key == row.planningpme_key)
    ).first()
    if by_planfix is not None and by_pme is not None and by_planfix.id != by_pme.id:
        raise LinkConflict(
            row.pair,
            row.planfix_key,
            row.planningpme_key,
            f"planfix {row.planfix_key!r} is linked to planningpme {by_planfix.planningpme_key!r} and "
            f"planningpme {row.planningpme_key!r} to planfix {by_pme.planfix_key!r}",
        )
    link = (
        by_planfix
        or by_pme
        or Link(
            pair=row.pair,
            planfix_key=row.planfix_key,
            planningpme_key=row.planningpme_key,
            canonical={},
            planfix_hash="",
            planningpme_hash="",
            created_at=row.created_at,
            synced_at=row.synced_at,
        )
    )
    link.planfix_key, link.planningpme_key = row.planfix_key, row.planningpme_key
    link.canonical = dict(row.canonical)
    link.planfix_hash, link.planningpme_hash = row.planfix_hash, row.planningpme_hash
    link.synced_at = row.synced_at
    link.echo = dict(row.echo)
    s.add(link)
    s.flush()


def _upsert_links(s: Session, pair: str, rows: Sequence[LinkRow]) -> None:
    """``_upsert_link`` for many rows of one pair, with the links they name read up front."""
    by_planfix: dict[str, Link | _NewLink] = {}
    by_pme: dict[str, Link | _NewLink] = {}
    for column, keys in (
        (Link.planfix_key, {r.planfix_key for r in rows}),
        (Link.planningpme_key, {r.planningpme_key for r in rows}),
    ):
        wanted = sorted(keys)
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            for stored in s.exec(select(Link).where(Link.pair == pair, col(column).in_(chunk))):
                by_planfix[stored.planfix_key] = stored
                by_pme[stored.planningpme_key] = stored
    new: list[_NewLink] = []
    for row in rows:
        found_pf, found_pme = by_planfix.get(row.planfix_key), by_pme.get(row.planningpme_key)
        if found_pf is not None and found_pme is not None and found_pf is not found_pme:
            raise LinkConflict(
                row.pair,
                row.planfix_key,
                row.planningpme_key,
                f"planfix {row.planfix_key!r} is linked to planningpme {found_pf.planningpme_key!r} and "
                f"planningpme {row.planningpme_key!r} to planfix {found_pme.planfix_key!r}",
            )
        existing = found_pf or found_pme
        link: Link | _NewLink
        if existing is None:
            fresh = _NewLink(
                row.pair, row.planfix_key, row.planningpme_key, {}, "", "", row.created_at, row.synced_at, {}
            )
            new.append(fresh)
            link = fresh
        else:
            link = existing
            by_planfix.pop(link.planfix_key, None)
            by_pme.pop(link.planningpme_key, None)
        rekeyed = (link.planfix_key, link.planningpme_key) != (row.planfix_key, row.planningpme_key)
        link.planfix_key, link.planningpme_key = row.planfix_key, row.planningpme_key
        link.canonical = dict(row.canonical)
        link.planfix_hash, link.planningpme_hash = row.planfix_hash, row.planningpme_hash
        link.synced_at = row.synced_at
        link.echo = dict(row.echo)
        by_planfix[link.planfix_key] = link
        by_pme[link.planningpme_key] = link
        if isinstance(link, Link):
            s.add(link)
            if rekeyed:
                s.flush()  # a key this link gave up may be taken by a later row: write it now
    s.flush()
    if new:
        # New links go in as one multi-row INSERT; the ORM would build and track an object each.
        names = _NewLink.__slots__
        s.connection().execute(sa_insert(Link), [{n: getattr(link, n) for n in names} for link in new])


@dataclass(slots=True)
class _NewLink:
    """A link ``_upsert_links`` will insert (plain, so thousands of them cost little)."""

    pair: str
    planfix_key: str
    planningpme_key: str
    canonical: dict[str, Any]
    planfix_hash: str
    planningpme_hash: str
    created_at: datetime
    synced_at: datetime
    echo: dict[str, Any]


def _close_intent(s: Session, intent_id: int, outcome: str, created_key: str | None, now: datetime) -> bool:
    intent = s.get(Intent, intent_id)
    if intent is None:
        raise LookupError(f"intent {intent_id} does not exist")
    if intent.closed_at is not None:
        return False
    intent.closed_at, intent.outcome, intent.created_key = now, outcome, created_key
    s.add(intent)
    return True


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


# --- ORM object → frozen row ---------------------------------------------------------------------


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
_LINK_COLUMNS = sa_select(*_LINK_FIELDS)
"""Links as plain columns: many rows read this way cost a fraction of loading ORM objects."""


def _link_row_of(values: Any) -> LinkRow:
    return LinkRow(*values)


def _link_row(m: Link) -> LinkRow:
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


def _intent_row(m: Intent) -> IntentRow:
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


def _failure_row(m: Failure) -> FailureRow:
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


def _audit_row(m: AuditEntry) -> AuditRow:
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


def _cycle_row(m: Cycle) -> CycleRow:
    return CycleRow(_id(m.id), m.pair, m.started_at, m.finished_at, m.dry_run, m.outcome, dict(m.summary))


def _conflict_row(m: Conflict) -> ConflictRow:
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


def _push_list_row(m: PushList) -> PushListRow:
    return PushListRow(m.list_id, m.name, m.created_at, m.deleted_at)


def _membership_row(m: PushMembership) -> MembershipRow:
    return MembershipRow(m.list_id, m.contact_id, m.email, m.first_name, m.last_name, m.updated_at)


def _pushed_row(m: PushedChange) -> PushedChangeRow:
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
