"""Cursors, the intent journal for creates, and tombstones."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from state.rows import IntentRow, LinkRow
from state.store import Store
from tests.state.conftest import NOW


def test_cursors_round_trip_as_the_same_instant_per_pair_side_and_kind(store: Store) -> None:
    moscow = timezone(timedelta(hours=3))
    value = datetime(2026, 3, 29, 3, 25, tzinfo=moscow)

    assert store.get_cursor("tasks", "planfix", "incremental") is None
    store.set_cursor("tasks", "planfix", "incremental", value, NOW)

    assert store.get_cursor("tasks", "planfix", "incremental") == value
    assert store.get_cursor("tasks", "planfix", "full") is None
    assert store.get_cursor("tasks", "planningpme", "incremental") is None
    assert store.get_cursor("contacts", "planfix", "incremental") is None


def test_a_cursor_can_move_back_for_a_full_rescan(store: Store) -> None:
    store.set_cursor("tasks", "planfix", "full", NOW, NOW)
    store.set_cursor("tasks", "planfix", "full", NOW - timedelta(days=1), NOW)

    assert store.get_cursor("tasks", "planfix", "full") == NOW - timedelta(days=1)


def test_naive_times_are_refused_because_their_zone_is_unknown(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.set_cursor("tasks", "planfix", "incremental", datetime(2026, 3, 29, 3, 25), NOW)
    assert store.get_cursor("tasks", "planfix", "incremental") is None


def test_an_intent_stays_open_until_closed(store: Store) -> None:
    intent_id = store.open_intent("tasks", "planningpme", "123", "123", {"label": "Visit"}, NOW)

    assert store.open_intents("tasks") == [
        IntentRow(intent_id, "tasks", "planningpme", "123", "123", {"label": "Visit"}, NOW, None, None, None)
    ]
    assert store.open_intents("contacts") == []

    assert store.close_intent(intent_id, "created", "17", NOW) is True
    assert store.open_intents("tasks") == []
    assert store.open_intents() == []


def test_closing_twice_keeps_the_first_outcome(store: Store) -> None:
    intent_id = store.open_intent("tasks", "planningpme", "123", "123", {}, NOW)
    store.close_intent(intent_id, "created", "17", NOW)

    assert store.close_intent(intent_id, "failed", None, NOW) is False


def test_closing_an_unknown_intent_is_an_error(store: Store) -> None:
    with pytest.raises(LookupError, match="intent 99"):
        store.close_intent(99, "created", "17", NOW)


def test_open_intents_are_listed_oldest_first(store: Store) -> None:
    first = store.open_intent("tasks", "planningpme", "1", "1", {}, NOW)
    second = store.open_intent("contacts", "planfix", "5", "5", {}, NOW)

    assert [i.id for i in store.open_intents()] == [first, second]


def test_complete_intent_links_and_closes_together(store: Store) -> None:
    intent_id = store.open_intent("tasks", "planningpme", "123", "123", {}, NOW)

    store.complete_intent(
        intent_id,
        planfix_key="123",
        planningpme_key="17",
        canonical={"title": "x"},
        planfix_hash="a",
        planningpme_hash="b",
        now=NOW,
    )

    assert store.open_intents() == []
    assert store.link_by_planningpme("tasks", "17") == LinkRow(
        "tasks", "123", "17", {"title": "x"}, "a", "b", NOW, NOW
    )


def test_tombstones_are_remembered_once(store: Store) -> None:
    assert store.add_tombstone("tasks", "planningpme", "17", "deleted in planningpme", NOW) is True
    assert store.add_tombstone("tasks", "planningpme", "17", "again", NOW) is False
    store.add_tombstone("tasks", "planfix", "123", "archived", NOW)

    assert store.tombstones("tasks") == {("planningpme", "17"), ("planfix", "123")}
    assert store.tombstones("contacts") == set()
    assert store.is_tombstoned("tasks", "planfix", "123")
    assert not store.is_tombstoned("tasks", "planfix", "17")
