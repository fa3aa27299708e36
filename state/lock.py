"""The single-writer lock: one syncd process writes to a state database at a time.

SQLite would serialise two writers transaction by transaction, but two daemons would still
interleave whole cycles (both creating the same record before either links it). So the writer holds
an exclusive ``flock`` on ``<db>.lock`` for its lifetime. The kernel drops it when the process dies,
even by ``kill -9``, so a stale lock never needs cleaning up. The holder's pid is written into the
file only to make the refusal message useful; the lock itself is the ``flock``, not the file.
The file is opened like every state file (``open_private``): never through a link, and only if it is
a regular file of the running user, since it is truncated once locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from state.errors import StateFileError, StateLocked
from state.files import open_private


def lock_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


class WriterLock:
    """An acquired lock; ``release()`` it (Store.close does) or let the process end."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, db_path: Path) -> WriterLock:
        """Take the lock without waiting, or raise StateLocked naming the holder."""
        path = lock_path_for(db_path)
        fd = open_private(path, os.O_RDWR | os.O_CREAT, db_path=db_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise StateLocked(db_path, path, holder) from None
        except OSError as exc:
            os.close(fd)
            raise StateFileError(db_path, f"cannot lock {path} ({exc.strerror})") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        """Unlock; the file stays (removing it would race with a process about to lock it)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    """The pid the holder wrote, or None if it has not written it yet (or wrote garbage)."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
