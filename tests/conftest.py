"""Fixtures more than one test directory needs: a permissive umask, and logging put back as found."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from syncd.logs import STDLIB_LOGGERS


def mode(path: Path) -> int:
    """A file's permission bits (``0o600``)."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files, so 0600 must come from syncd, not the shell."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def fresh_logging() -> Iterator[None]:
    """After the test, structlog's defaults and no handlers on syncd's stdlib loggers, whatever
    the test configured (use it module-wide: ``pytestmark = pytest.mark.usefixtures(...)``)."""
    yield
    structlog.reset_defaults()
    for name in STDLIB_LOGGERS:
        logging.getLogger(name).handlers.clear()
