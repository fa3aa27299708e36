"""The recorded exercise (exercise.py), run once for the modules that only read what it sent."""

from __future__ import annotations

import pytest

from tests.planfix.conformance.exercise import Session, record_session
from tests.planfix.conftest import Planfix


@pytest.fixture(scope="module")
def session(_shared_planfix: Planfix) -> Session:
    """One sync's worth of requests, recorded (the shared emulator is emptied first)."""
    return record_session(_shared_planfix)
