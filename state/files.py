"""The state database as a file: private permissions, a header sniff, and backup names.

Everything here happens *before* SQLite opens the file, because SQLite would happily create a
world-readable file (umask) or write a WAL header into a file that is not a database at all.
"""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path

import structlog

from state.errors import StateCorrupt, StateFileError
from state.types import require_aware

log = structlog.get_logger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
HEADER_SIZE = 100
PRIVATE_MODE = 0o600
# The files SQLite keeps beside the database; they hold the same data, so they get the same care.
SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")


def open_private(path: Path, flags: int, *, db_path: Path) -> int:
    """``os.open`` with mode 0600, turning the admin's likely mistakes into messages about ``db_path``."""
    try:
        return os.open(path, flags | os.O_CLOEXEC, PRIVATE_MODE)
    except FileNotFoundError as exc:
        raise StateFileError(db_path, f"the directory {path.parent} does not exist; create it first") from exc
    except PermissionError as exc:
        raise StateFileError(db_path, f"cannot open {path} ({exc.strerror}); check owner and mode") from exc


def create_private(path: Path) -> int:
    """Create ``path`` exclusively with mode 0600 and return its descriptor.

    ``O_EXCL`` means an existing file is never truncated; ``FileExistsError`` tells the caller so.
    """
    return open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, db_path=path)


def ensure_private_database(path: Path) -> bool:
    """Make sure the database file exists with owner-only permissions; True if it was just created.

    An existing file is tightened (group and other bits dropped), never widened.
    """
    try:
        os.close(create_private(path))
    except FileExistsError:
        for candidate in (path, *(path.with_name(path.name + s) for s in SIDECAR_SUFFIXES)):
            tighten_permissions(candidate)
        return False
    return True


def tighten_permissions(path: Path) -> None:
    """Drop group/other permission bits of ``path`` if it exists; warn if that is not allowed."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077 == 0:
        return
    try:
        path.chmod(mode & 0o700)
    except PermissionError:
        log.warning("state_file_permissions_too_open", path=str(path), mode=oct(mode))
    else:
        log.info("state_file_permissions_tightened", path=str(path), old_mode=oct(mode))


def check_header(path: Path) -> bool:
    """Raise StateCorrupt unless ``path`` looks like an SQLite database; False if it is still empty.

    Only reads: a file that is not a database must reach the admin byte for byte as it was.
    """
    if not path.exists():
        raise StateFileError(path, "does not exist; syncd creates it on its first run")
    if not path.is_file():
        raise StateFileError(path, "is not a regular file; point [state] path at a file")
    try:
        with path.open("rb") as handle:
            head = handle.read(HEADER_SIZE)
    except PermissionError as exc:
        raise StateFileError(
            path, f"cannot read the file ({exc.strerror}); check its owner and mode"
        ) from exc
    if not head:
        return False
    if not head.startswith(SQLITE_HEADER):
        raise StateCorrupt(path, "the file does not start with the SQLite header")
    if len(head) < HEADER_SIZE:
        raise StateCorrupt(path, f"the file is only {len(head)} bytes long, shorter than an SQLite header")
    return True


def backup_path(path: Path, version: int, now: datetime) -> Path:
    """``<name>.bak-v<old version>-<UTC time>``: sortable, and says what it can be restored to."""
    stamp = require_aware(now, "backup time").strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.name}.bak-v{version}-{stamp}")
