"""Errors of the state package.

``state`` never imports ``syncd`` (the daemon maps these onto ``syncd.errors``), so it keeps its own
small tree, grouped by what the caller does next::

    StateFileError        the database file cannot be used; stop with the message (exit 2)
    ├── StateLocked       another process holds the single-writer lock (message names the pid)
    ├── StateCorrupt      not a usable SQLite file; it is left exactly as it was
    ├── StateFileUnsafe   a state file is a link, not a regular file, or not the running user's
    ├── StateTooNew       written by a newer syncd; this one must not guess at its schema
    └── StateReadOnly     a write was asked of a store opened read-only (a programming error)
    LinkConflict          an upsert would join two existing links; nothing was written
    PushListNotFound      a membership names a push list that does not exist or was deleted

The names carry no ``Error`` suffix (hence the N818 waivers): the daemon's contract uses these
names. Every message names the database path (where there is one) and says what to do next.
"""

from __future__ import annotations

from pathlib import Path


class StateFileError(Exception):
    """The state database at ``path`` cannot be used as asked."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"state database {path}: {message}")
        self.path = path


class StateLocked(StateFileError):  # noqa: N818
    """Another process writes to this database; two writers would interleave their cycles."""

    def __init__(self, path: Path, lock_path: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid is not None else "another process (pid unknown)"
        super().__init__(
            path,
            f"in use by {holder} (lock file {lock_path}). Only one syncd may write to a state "
            "database: stop the other process, or give this one its own [state] path.",
        )
        self.lock_path = lock_path
        self.pid = pid


class StateCorrupt(StateFileError):  # noqa: N818
    """The file is not a usable SQLite database. It has not been modified."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            path,
            f"not a usable syncd database ({reason}). The file was left untouched. Restore it from a "
            "backup (syncd keeps <name>.bak-v<version>-<time> copies before migrations), or move it "
            "away to start with empty state (the next run then re-matches records by their markers).",
        )
        self.reason = reason


class StateFileUnsafe(StateFileError):  # noqa: N818
    """A state file (the database, a companion, the lock or a backup) that syncd will not touch.

    Following a link or writing to another user's file could truncate or re-mode a file that is
    not syncd's, with the rights of whoever runs syncd (root, for an admin's ``syncd retry``).
    """

    def __init__(self, path: Path, file: Path, problem: str) -> None:
        super().__init__(path, f"{file} {problem}")
        self.file = file
        self.problem = problem


class StateTooNew(StateFileError):  # noqa: N818
    """The schema version is newer than this program knows."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        super().__init__(
            path,
            f"schema version {found} was written by a newer syncd; this one supports up to version "
            f"{supported}. Upgrade syncd, or restore the backup made before the upgrade.",
        )
        self.found = found
        self.supported = supported


class StateReadOnly(StateFileError):  # noqa: N818
    """A write operation was called on a store opened with ``readonly=True``."""

    def __init__(self, path: Path, operation: str) -> None:
        super().__init__(path, f"opened read-only, so {operation}() cannot write; open it without readonly")
        self.operation = operation


class LinkConflict(ValueError):  # noqa: N818
    """Linking two records that already belong to two different links.

    Silently dropping either link could duplicate a record on the next cycle, so the caller must
    delete the stale link first.
    """

    def __init__(self, pair: str, planfix_key: str, planningpme_key: str, detail: str) -> None:
        super().__init__(
            f"cannot link {pair} planfix {planfix_key!r} to planningpme {planningpme_key!r}: {detail}; "
            "delete the stale link first"
        )
        self.pair = pair
        self.planfix_key = planfix_key
        self.planningpme_key = planningpme_key


class PushListNotFound(LookupError):  # noqa: N818
    """A pushed membership names a list that was never created here, or was deleted."""

    def __init__(self, list_id: str) -> None:
        super().__init__(f"push list {list_id!r} does not exist or was deleted")
        self.list_id = list_id
