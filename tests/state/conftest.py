"""Fixtures for the state store tests: a fresh database file per test and a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from state.store import Store

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe/Madrid moves to summer time


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as opened:
        yield opened
