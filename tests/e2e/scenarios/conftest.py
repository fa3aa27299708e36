"""Fixtures of the end-to-end scenarios (the ``world`` itself comes from tests/e2e/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import World
from tests.e2e.scenarios.people import People


@pytest.fixture
def people(world: World) -> Iterator[People]:
    """People editing both systems through their APIs, as other clients than syncd."""
    hands = People(world.remotes())
    try:
        yield hands
    finally:
        hands.close()
