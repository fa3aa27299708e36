"""The database file: private, WAL, foreign keys on, and never overwritten when it is not ours."""

from __future__ import annotations

import random
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from state.errors import StateCorrupt, StateFileError, StateReadOnly, StateTooNew
from state.migrations import CURRENT_VERSION
from state.rows import LinkRow
from state.store import Store
from tests.conftest import mode
from tests.state.conftest import NOW


def pragma(store: Store, name: str) -> object:
    assert store._engine is not None
    with store._engine.connect() as conn:
        return conn.execute(text(f"PRAGMA {name}")).scalar()


def test_a_new_database_and_its_companions_are_private(db_path: Path, open_umask: None) -> None:
    with Store.open(db_path) as store:
        store.upsert_link("tasks", "1", "17", {}, "a", "b", NOW)
        companions = [p for p in db_path.parent.iterdir() if p != db_path]
        assert {p.name for p in companions} >= {"state.db-wal", "state.db-shm", "state.db.lock"}
        assert {p.name: mode(p) for p in [db_path, *companions]} == {
            p.name: 0o600 for p in [db_path, *companions]
        }


@pytest.mark.parametrize(
    ("before", "after"), [(0o644, 0o600), (0o660, 0o600), (0o600, 0o600), (0o400, 0o400)]
)
def test_an_existing_file_is_tightened_never_widened(db_path: Path, before: int, after: int) -> None:
    db_path.touch()
    db_path.chmod(before)

    Store.open(db_path).close()

    assert mode(db_path) == after


def test_wal_foreign_keys_and_busy_timeout_are_on(db_path: Path) -> None:
    with Store.open(db_path, busy_timeout_ms=1234) as store:
        assert pragma(store, "journal_mode") == "wal"
        assert pragma(store, "foreign_keys") == 1
        assert pragma(store, "busy_timeout") == 1234


def test_many_threads_can_share_one_store(store: Store) -> None:
    def work(worker: int) -> None:
        for n in range(25):
            store.upsert_link("tasks", f"{worker}-{n}", f"e{worker}-{n}", {}, "a", "b", NOW)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(store.links("tasks")) == 100


# --- files that are not (or no longer) a syncd database -------------------------------------------


def assert_refused_untouched(path: Path, error: type[Exception] = StateCorrupt) -> Exception:
    before = path.read_bytes()
    with pytest.raises(error) as info:
        Store.open(path)
    assert path.read_bytes() == before
    assert str(path) in str(info.value)
    # The failed open released the lock: trying again gives the same answer, not "locked".
    with pytest.raises(error):
        Store.open(path)
    return info.value


def test_random_bytes_are_reported_and_left_alone(db_path: Path) -> None:
    db_path.write_bytes(random.Random(3).randbytes(8192))

    error = assert_refused_untouched(db_path)

    assert "SQLite header" in str(error)
    assert "left untouched" in str(error)
    assert "Restore it from a backup" in str(error)


def test_a_truncated_database_is_reported_and_left_alone(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.upsert_links_batch(
            LinkRow("tasks", str(n), str(n), {"title": "x" * 300}, "a", "b", NOW, NOW) for n in range(300)
        )
    whole = db_path.read_bytes()
    db_path.write_bytes(whole[: len(whole) // 2])

    error = assert_refused_untouched(db_path)

    assert "malformed" in str(error)


def test_a_file_cut_inside_the_header_is_reported(db_path: Path) -> None:
    db_path.write_bytes(b"SQLite format 3\x00" + b"\x10" * 20)

    assert "shorter than an SQLite header" in str(assert_refused_untouched(db_path))


def test_another_programs_sqlite_database_is_not_taken_over(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.close()

    assert "not one of syncd" in str(assert_refused_untouched(db_path))


def test_a_database_from_a_newer_syncd_is_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, ?)", (CURRENT_VERSION + 5, NOW.isoformat()))
    conn.close()

    error = assert_refused_untouched(db_path, StateTooNew)

    assert f"schema version {CURRENT_VERSION + 5}" in str(error)
    assert f"supports up to version {CURRENT_VERSION}" in str(error)
    with pytest.raises(StateTooNew):
        Store.open(db_path, readonly=True)


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match=r"directory .*missing.* does not exist"):
        Store.open(tmp_path / "missing" / "state.db")


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="not a regular file"):
        Store.open(tmp_path)


# --- read-only opens ------------------------------------------------------------------------------


def test_a_reader_sees_what_the_running_writer_committed(db_path: Path) -> None:
    with Store.open(db_path) as writer:
        writer.upsert_link("tasks", "1", "17", {}, "a", "b", NOW)
        with Store.open(db_path, readonly=True) as reader:
            assert reader.readonly
            assert [link.planfix_key for link in reader.links("tasks")] == ["1"]
            writer.upsert_link("tasks", "2", "18", {}, "a", "b", NOW)
            assert reader.stats().links == {"tasks": 2}


def test_a_reader_takes_no_lock(db_path: Path) -> None:
    Store.open(db_path).close()
    with Store.open(db_path, readonly=True), Store.open(db_path) as writer:
        assert not writer.readonly


def test_a_reader_refuses_every_write(db_path: Path) -> None:
    Store.open(db_path).close()
    with Store.open(db_path, readonly=True) as reader, pytest.raises(StateReadOnly, match="add_tombstone"):
        reader.add_tombstone("tasks", "planfix", "1", "gone", NOW)


def test_a_reader_never_creates_the_database(db_path: Path) -> None:
    with pytest.raises(StateFileError, match="does not exist"):
        Store.open(db_path, readonly=True)
    assert not db_path.exists()


def test_a_reader_does_not_initialise_an_empty_file(db_path: Path) -> None:
    db_path.touch()
    with pytest.raises(StateFileError, match=r"is empty.*run syncd once"):
        Store.open(db_path, readonly=True)
    assert db_path.read_bytes() == b""


def test_a_closed_store_says_so(db_path: Path) -> None:
    store = Store.open(db_path)
    store.close()
    store.close()  # idempotent

    with pytest.raises(StateFileError, match="closed"):
        store.links("tasks")
