"""No state file is followed through a link, written when it is not a regular file, or taken from
another user: a planted link or file is refused by name, and what it points at is left as it was.

This matters most when an admin runs a writer (``syncd retry``) as root in a directory the service
user can write to: that user could otherwise make root truncate or re-mode any file on the system.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from state import db
from state.errors import StateFileError, StateFileUnsafe
from state.files import user_name
from state.migrations import MIGRATIONS
from state.store import Store
from tests.state.conftest import NOW
from tests.state.test_migrations import LAST, MIGRATED_AT, add_priority_v2, load_snapshot, versions_in

OTHER_UID = 65534  # nobody
IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="changing a file's owner needs root (CI runs as root)")


class Victim:
    """A file that is not syncd's: its bytes, mode and owner must survive every refused open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_bytes(b"precious, not a database\n")
        path.chmod(0o644)
        self.before = self.snapshot()

    def snapshot(self) -> tuple[bytes, int, int]:
        info = self.path.stat()
        return self.path.read_bytes(), stat.S_IMODE(info.st_mode), info.st_uid

    def assert_untouched(self) -> None:
        assert self.snapshot() == self.before


@pytest.fixture
def victim(tmp_path: Path) -> Victim:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    return Victim(outside / "victim.conf")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


def existing_database(state_dir: Path) -> Path:
    path = state_dir / "state.db"
    with Store.open(path) as store:
        store.upsert_link("tasks", "1", "17", {}, "a", "b", NOW)
    return path


def assert_refused(path: Path, culprit: Path, problem: str, *, readonly: bool = False) -> StateFileUnsafe:
    with pytest.raises(StateFileUnsafe) as info:
        Store.open(path, readonly=readonly)
    assert info.value.file == culprit
    assert str(culprit) in str(info.value) and problem in str(info.value)
    return info.value


# --- links ----------------------------------------------------------------------------------------


def test_a_link_at_the_lock_path_is_refused_and_its_target_kept(state_dir: Path, victim: Victim) -> None:
    path = state_dir / "state.db"
    (state_dir / "state.db.lock").symlink_to(victim.path)

    assert_refused(path, state_dir / "state.db.lock", "is a symbolic link")

    victim.assert_untouched()
    assert not path.exists()  # refused before anything was created


def test_a_dangling_link_at_the_lock_path_creates_nothing(state_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "created-through-the-link"
    (state_dir / "state.db.lock").symlink_to(target)

    assert_refused(state_dir / "state.db", state_dir / "state.db.lock", "is a symbolic link")

    assert not target.exists()


@pytest.mark.parametrize("readonly", [False, True])
def test_a_link_at_the_database_path_is_refused(state_dir: Path, victim: Victim, readonly: bool) -> None:
    path = state_dir / "state.db"
    path.symlink_to(victim.path)

    assert_refused(path, path, "is a symbolic link", readonly=readonly)

    victim.assert_untouched()
    assert not victim.path.with_name("victim.conf-wal").exists()


def test_a_link_to_a_real_database_is_refused_too(state_dir: Path, tmp_path: Path) -> None:
    """Even a link to a good database: SQLite would put -wal beside the target, out of our sight."""
    real = existing_database(state_dir)
    link = tmp_path / "link.db"
    link.symlink_to(real)

    assert_refused(link, link, "is a symbolic link")


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
@pytest.mark.parametrize("readonly", [False, True])
def test_a_link_beside_the_database_is_refused_and_its_target_untouched(
    state_dir: Path, victim: Victim, suffix: str, readonly: bool
) -> None:
    path = existing_database(state_dir)
    companion = path.with_name(path.name + suffix)
    companion.unlink(missing_ok=True)
    companion.symlink_to(victim.path)

    assert_refused(path, companion, "is a symbolic link", readonly=readonly)

    victim.assert_untouched()
    assert companion.is_symlink()  # left for the admin to look at


def test_a_link_at_the_backup_name_is_replaced_not_written_through(state_dir: Path, victim: Victim) -> None:
    path = state_dir / "state.db"
    load_snapshot(LAST, path)
    planted = state_dir / f"state.db.bak-v{LAST}-20260401T120005Z"
    planted.symlink_to(victim.path)

    db.open_writer(path, now=MIGRATED_AT, migrations=(*MIGRATIONS, add_priority_v2)).dispose()

    victim.assert_untouched()
    assert planted.is_symlink()  # O_EXCL: the name was taken, so the backup got the next one
    backup = state_dir / f"state.db.bak-v{LAST}-20260401T120005Z.1"
    assert not backup.is_symlink() and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert versions_in(backup) == list(range(1, LAST + 1))
    assert versions_in(path) == list(range(1, LAST + 2))
    assert [p.name for p in state_dir.iterdir() if p.name.startswith(".syncd-backup-")] == []


# --- not regular files ----------------------------------------------------------------------------


def test_a_named_pipe_at_the_database_path_is_refused_without_blocking(state_dir: Path) -> None:
    path = state_dir / "state.db"
    os.mkfifo(path)
    outcome: list[BaseException | None] = []

    def open_it() -> None:
        try:
            Store.open(path).close()
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=open_it, daemon=True)
    thread.start()
    thread.join(timeout=30)

    assert outcome, "opening a named pipe blocked"
    assert isinstance(outcome[0], StateFileUnsafe) and "is a named pipe" in str(outcome[0])


def test_a_named_pipe_at_the_wal_path_is_refused(state_dir: Path) -> None:
    path = existing_database(state_dir)
    wal = path.with_name("state.db-wal")
    wal.unlink(missing_ok=True)
    os.mkfifo(wal)

    assert_refused(path, wal, "is a named pipe")


# --- other users' files ---------------------------------------------------------------------------


@needs_root
@pytest.mark.parametrize("name", ["state.db", "state.db-wal", "state.db.lock"])
def test_a_file_of_another_user_is_refused_and_left_alone(state_dir: Path, name: str) -> None:
    path = existing_database(state_dir)
    (state_dir / "state.db.lock").touch()
    culprit = state_dir / name
    if not culprit.exists():
        culprit.write_bytes(b"")
    culprit.chmod(0o644)
    os.chown(culprit, OTHER_UID, OTHER_UID)
    before = culprit.read_bytes()

    error = assert_refused(path, culprit, f"belongs to {user_name(OTHER_UID)}, not to root")

    assert "run syncd as the owner of the state directory" in str(error)
    assert culprit.read_bytes() == before
    assert stat.S_IMODE(culprit.stat().st_mode) == 0o644  # not re-moded either
    assert culprit.stat().st_uid == OTHER_UID


@needs_root
def test_root_may_read_the_service_users_database_but_not_a_companion_of_roots(state_dir: Path) -> None:
    """`syncd status` as root reads the service user's files; a companion that is root's own (a hard
    link to one of root's files, say) is refused, since SQLite would write to it."""
    path = existing_database(state_dir)
    for file in state_dir.iterdir():
        os.chown(file, OTHER_UID, OTHER_UID)

    with Store.open(path, readonly=True) as reader:
        assert [link.planfix_key for link in reader.links("tasks")] == ["1"]

    for file in state_dir.iterdir():
        os.chown(file, OTHER_UID, OTHER_UID)
    shm = path.with_name("state.db-shm")
    shm.unlink(missing_ok=True)
    shm.write_bytes(b"")
    os.chown(shm, 0, 0)

    assert_refused(path, shm, f"belongs to root (uid 0), not to {user_name(OTHER_UID)}", readonly=True)


def test_a_companion_that_vanishes_while_checked_is_no_error(state_dir: Path) -> None:
    path = existing_database(state_dir)

    with Store.open(path) as store:  # opens, checkpoints and removes -wal/-shm again on close
        store.upsert_link("tasks", "2", "18", {}, "a", "b", NOW)

    with Store.open(path, readonly=True) as reader:
        assert len(reader.links("tasks")) == 2


def test_the_refusal_is_a_state_file_error_for_the_cli(state_dir: Path, victim: Victim) -> None:
    (state_dir / "state.db").symlink_to(victim.path)

    with pytest.raises(StateFileError, match=r"state database .*state\.db: .*state\.db is a symbolic link"):
        Store.open(state_dir / "state.db")
