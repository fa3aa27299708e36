"""One writer per database, checked with real processes (flock is per open file, so threads won't do)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from state.errors import StateLocked
from state.store import Store
from tests.state.conftest import NOW

# Opens the store, says so, writes while it holds it, and keeps it until its stdin closes.
HOLDER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from state.store import Store

store = Store.open(Path(sys.argv[1]))
store.add_tombstone("tasks", "planfix", "from-holder", "test", datetime.now(UTC))
print("ready", flush=True)
sys.stdin.read()
store.close()
"""

# A second syncd: reports the refusal the way the CLI would, with exit code 2.
CONTENDER = """
import sys
from pathlib import Path
from state.errors import StateLocked
from state.store import Store

try:
    Store.open(Path(sys.argv[1]))
except StateLocked as exc:
    print(exc)
    sys.exit(2)
print("opened")
"""


@pytest.fixture
def holder(db_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        # Skip the holder's log lines (structlog prints to stdout when nothing configured it).
        while (line := process.stdout.readline()) and line.strip() != "ready":
            pass
        assert line.strip() == "ready", "the holder process died before opening the store"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def test_a_second_process_is_refused_with_the_holders_pid(
    db_path: Path, holder: subprocess.Popen[str]
) -> None:
    second = subprocess.run(
        [sys.executable, "-c", CONTENDER, str(db_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert second.returncode == 2, second.stderr
    assert f"in use by process {holder.pid}" in second.stdout
    assert str(db_path) in second.stdout
    assert "Only one syncd may write" in second.stdout


def test_this_process_is_refused_too_and_can_still_read(db_path: Path, holder: subprocess.Popen[str]) -> None:
    with pytest.raises(StateLocked) as info:
        Store.open(db_path)
    assert info.value.pid == holder.pid
    assert info.value.lock_path == db_path.with_name("state.db.lock")

    with Store.open(db_path, readonly=True) as reader:
        assert reader.is_tombstoned("tasks", "planfix", "from-holder")


def test_the_lock_is_free_once_the_holder_closes(db_path: Path, holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=60) == 0

    with Store.open(db_path) as store:
        store.add_tombstone("tasks", "planfix", "after", "test", NOW)


def test_a_killed_holder_leaves_no_stale_lock(db_path: Path, holder: subprocess.Popen[str]) -> None:
    holder.kill()  # SIGKILL: no cleanup runs in the holder
    holder.wait(timeout=60)

    with Store.open(db_path) as store:
        assert store.is_tombstoned("tasks", "planfix", "from-holder")


def test_two_stores_in_one_process_exclude_each_other_too(db_path: Path) -> None:
    with Store.open(db_path), pytest.raises(StateLocked, match=f"process {os.getpid()}"):
        Store.open(db_path)
