"""The state database as a file: private permissions, no links followed, a header sniff, backup names.

Everything here happens *before* SQLite opens the file, because SQLite would happily create a
world-readable file (umask), write a WAL header into a file that is not a database at all, or
follow a link planted where its database, ``-wal`` or ``-shm`` should be (and truncate the target:
SQLite empties ``-shm`` on first use). So every state file is looked at without following links
(``lstat``, ``O_NOFOLLOW``), must be a regular file owned by the user syncd runs as, and has its
mode changed through the open descriptor (``fchmod``), never by a name that could be swapped.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from datetime import datetime
from pathlib import Path

import structlog

from state.errors import StateCorrupt, StateFileError, StateFileUnsafe
from state.types import require_aware

log = structlog.get_logger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
HEADER_SIZE = 100
PRIVATE_MODE = 0o600
# The files SQLite keeps beside the database; they hold the same data, so they get the same care.
SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")
# No link is followed, a planted FIFO cannot block the open, and a terminal never becomes ours.
_SAFE_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK


def sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in SIDECAR_SUFFIXES]


def user_name(uid: int) -> str:
    """``name (uid N)``, or ``uid N`` for a user with no name (e.g. a stopped DynamicUser service)."""
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def reader_owner(path: Path) -> int:
    """Whose state files a read-only open accepts: the running user's, except that root may read
    the service user's database (``syncd status``); the companions must then belong to that user too,
    so a hard link to one of root's own files is still refused."""
    me = os.geteuid()
    if me != 0:
        return me
    try:
        return path.lstat().st_uid
    except OSError:
        return me


def _kind(mode: int) -> str:
    kinds = {
        stat.S_ISLNK: "a symbolic link",
        stat.S_ISDIR: "a directory",
        stat.S_ISFIFO: "a named pipe",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")


def check_safe(path: Path, info: os.stat_result, *, db_path: Path, owner: int) -> None:
    """Raise StateFileUnsafe unless ``info`` (from lstat/fstat of ``path``) is a regular file of ``owner``."""
    if stat.S_ISLNK(info.st_mode):
        raise StateFileUnsafe(
            db_path,
            path,
            "is a symbolic link; syncd never follows links for its state files: "
            "remove the link and point [state] path at the real file",
        )
    if not stat.S_ISREG(info.st_mode):
        raise StateFileUnsafe(
            db_path, path, f"is {_kind(info.st_mode)}, not a regular file; point [state] path at a file"
        )
    if info.st_uid != owner:
        raise StateFileUnsafe(
            db_path,
            path,
            f"belongs to {user_name(info.st_uid)}, not to {user_name(owner)} who runs syncd: run syncd "
            "as the owner of the state directory, or move the file away if it is not syncd's",
        )


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except FileNotFoundError:
        return None


def _tighten(fd: int, path: Path, info: os.stat_result) -> None:
    """Drop group/other bits through the descriptor: never widened, and never by a swappable name."""
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077 == 0:
        return
    try:
        os.fchmod(fd, mode & 0o700)
    except OSError:
        log.warning("state_file_permissions_too_open", path=str(path), mode=oct(mode))
    else:
        log.info("state_file_permissions_tightened", path=str(path), old_mode=oct(mode))


def open_private(
    path: Path, flags: int, *, db_path: Path, owner: int | None = None, tighten: bool = True
) -> int:
    """``os.open`` of a state file: mode 0600 if created, no link followed, only a regular file of
    ``owner`` (default: the running user), group/other bits dropped unless ``tighten`` is False.

    The admin's likely mistakes become messages about ``db_path``.
    """
    owner = os.geteuid() if owner is None else owner
    # Refuse a link, FIFO or device before opening it (opening alone can act); O_EXCL opens nothing
    # that exists, so it needs no look first and reports FileExistsError instead.
    before = None if flags & os.O_EXCL else _lstat(path)
    if before is not None:
        check_safe(path, before, db_path=db_path, owner=owner)
    try:
        fd = os.open(path, flags | _SAFE_FLAGS, PRIVATE_MODE)
    except FileNotFoundError as exc:
        raise StateFileError(db_path, f"the directory {path.parent} does not exist; create it first") from exc
    except PermissionError as exc:
        raise StateFileError(db_path, f"cannot open {path} ({exc.strerror}); check owner and mode") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a link after the lstat above
            raise StateFileUnsafe(db_path, path, "is a symbolic link; syncd never follows links") from exc
        if exc.errno in (errno.ENXIO, errno.EISDIR, errno.ENODEV):
            raise StateFileUnsafe(db_path, path, "is not a regular file") from exc
        raise
    try:
        info = os.fstat(fd)
        check_safe(path, info, db_path=db_path, owner=owner)
        if tighten:
            _tighten(fd, path, info)
    except BaseException:
        os.close(fd)
        raise
    return fd


def create_private(path: Path, *, db_path: Path | None = None) -> int:
    """Create ``path`` exclusively with mode 0600 and return its descriptor.

    ``O_EXCL`` means an existing file (or link) is never truncated; ``FileExistsError`` tells the caller so.
    """
    return open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, db_path=db_path or path)


def check_companions(path: Path, *, owner: int | None = None, tighten: bool = True) -> None:
    """The ``-wal``, ``-shm`` and ``-journal`` files that exist pass the same checks as the database
    (SQLite opens them by name and would follow a link, so this must come first)."""
    for companion in sidecars(path):
        try:
            os.close(open_private(companion, os.O_RDONLY, db_path=path, owner=owner, tighten=tighten))
        except StateFileError:
            if _lstat(companion) is None:  # removed meanwhile (a checkpoint ended): nothing to check
                continue
            raise


def ensure_private_database(path: Path) -> bool:
    """Make sure the database file exists with owner-only permissions; True if it was just created.

    An existing file (and its companions) must be a regular file of the running user; it is
    tightened (group and other bits dropped), never widened.
    """
    try:
        os.close(create_private(path))
        created = True
    except FileExistsError:
        os.close(open_private(path, os.O_RDONLY, db_path=path))
        created = False
    check_companions(path)
    return created


def check_header(path: Path, *, owner: int | None = None) -> bool:
    """Raise StateCorrupt unless ``path`` looks like an SQLite database; False if it is still empty.

    Only reads (and changes no mode): a file that is not a database must reach the admin byte for
    byte as it was. The companions are checked too, since SQLite opens them next.
    """
    if _lstat(path) is None:
        raise StateFileError(path, "does not exist; syncd creates it on its first run")
    try:
        fd = open_private(path, os.O_RDONLY, db_path=path, owner=owner, tighten=False)
    except StateFileError as exc:
        if isinstance(exc.__cause__, PermissionError):
            raise StateFileError(
                path, f"cannot read the file ({exc.__cause__.strerror}); check its owner and mode"
            ) from exc
        raise
    try:
        head = os.pread(fd, HEADER_SIZE, 0)
    finally:
        os.close(fd)
    check_companions(path, owner=owner, tighten=False)
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
