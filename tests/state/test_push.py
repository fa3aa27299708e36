"""Push lists, memberships and the durable queue of pushed contact changes (planfix-push-endpoint.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from state.errors import PushListNotFound
from state.rows import MembershipRow, PushListRow
from state.store import Store
from tests.state.conftest import NOW


def test_a_created_list_exists_until_deleted(store: Store) -> None:
    list_id = store.create_list("Customers to plan", NOW)

    assert store.list_exists(list_id)
    assert store.push_lists() == [PushListRow(list_id, "Customers to plan", NOW, None)]

    assert store.delete_list(list_id, NOW) is True
    assert store.delete_list(list_id, NOW) is False
    assert not store.list_exists(list_id)
    assert store.push_lists() == []
    assert store.push_list(list_id) == PushListRow(list_id, "Customers to plan", NOW, NOW)
    assert store.push_lists(include_deleted=True) == [PushListRow(list_id, "Customers to plan", NOW, NOW)]


def test_unknown_lists_do_not_exist(store: Store) -> None:
    assert not store.list_exists("nope")
    assert store.push_list("nope") is None
    assert store.delete_list("nope", NOW) is False


def test_every_create_list_without_a_dedupe_key_makes_a_new_list(store: Store) -> None:
    assert store.create_list("A", NOW) != store.create_list("A", NOW)


def test_a_replayed_create_list_returns_the_same_id_within_the_window(store: Store) -> None:
    first = store.create_list("A", NOW, dedupe_key="request-hash")

    assert store.create_list("A", NOW + timedelta(minutes=9), dedupe_key="request-hash") == first
    assert store.create_list("A", NOW, dedupe_key="other-request") != first
    assert store.create_list("A", NOW + timedelta(minutes=11), dedupe_key="request-hash") != first
    assert [pl.name for pl in store.push_lists()].count("A") == 3


def test_a_replay_after_the_list_was_deleted_makes_a_new_list(store: Store) -> None:
    first = store.create_list("A", NOW, dedupe_key="k")
    store.delete_list(first, NOW)

    assert store.create_list("A", NOW, dedupe_key="k") != first


def test_memberships_are_upserted_and_removed(store: Store) -> None:
    list_id = store.create_list("A", NOW)
    later = NOW + timedelta(minutes=1)

    store.upsert_membership(list_id, "12", "ana@example.com", "Ana", "Lopez", NOW)
    store.upsert_membership(list_id, "12", "ana@example.org", "Ana", "López", later)
    store.upsert_membership(list_id, "13", "ivan@example.com", "Иван", "Петров", NOW)

    assert store.memberships(list_id) == [
        MembershipRow(list_id, "12", "ana@example.org", "Ana", "López", later),
        MembershipRow(list_id, "13", "ivan@example.com", "Иван", "Петров", NOW),
    ]
    assert store.remove_membership(list_id, "12") is True
    assert store.remove_membership(list_id, "12") is False
    assert [m.contact_id for m in store.memberships(list_id)] == ["13"]


def test_the_lists_of_a_contact(store: Store) -> None:
    a, b = store.create_list("A", NOW), store.create_list("B", NOW)
    store.upsert_membership(a, "12", "x@example.com", "X", "Y", NOW)
    store.upsert_membership(b, "12", "x@example.com", "X", "Y", NOW)

    assert {m.list_id for m in store.memberships_of("12")} == {a, b}
    assert store.memberships_of("13") == []


def test_deleting_a_list_drops_its_memberships(store: Store) -> None:
    list_id = store.create_list("A", NOW)
    store.upsert_membership(list_id, "12", "x@example.com", "X", "Y", NOW)

    store.delete_list(list_id, NOW)

    assert store.memberships(list_id) == []
    assert store.memberships_of("12") == []


@pytest.mark.parametrize("deleted", [False, True], ids=["unknown", "deleted"])
def test_a_membership_needs_a_live_list(store: Store, deleted: bool) -> None:
    list_id = store.create_list("A", NOW) if deleted else "never-created"
    if deleted:
        store.delete_list(list_id, NOW)

    with pytest.raises(PushListNotFound, match=list_id):
        store.upsert_membership(list_id, "12", "x@example.com", "X", "Y", NOW)


def test_pushed_changes_are_queued_once_per_dedupe_key(store: Store) -> None:
    assert (
        store.enqueue_pushed_change("12", "L1", "add", {"id": 12, "email": "a@b.c"}, "req-1:12", NOW) is True
    )
    assert (
        store.enqueue_pushed_change("12", "L1", "add", {"id": 12, "email": "a@b.c"}, "req-1:12", NOW) is False
    )
    assert store.enqueue_pushed_change("13", None, "update", {"id": 13}, "req-2:13", NOW) is True

    pending = store.pending_pushed_changes()
    assert [(c.contact_id, c.list_id, c.action, c.payload) for c in pending] == [
        ("12", "L1", "add", {"id": 12, "email": "a@b.c"}),
        ("13", None, "update", {"id": 13}),
    ]
    assert [c.contact_id for c in store.pending_pushed_changes(limit=1)] == ["12"]


def test_processed_changes_leave_the_queue_but_keep_their_dedupe_key(store: Store) -> None:
    store.enqueue_pushed_change("12", None, "add", {}, "k1", NOW)
    store.enqueue_pushed_change("13", None, "add", {}, "k2", NOW)
    first, second = store.pending_pushed_changes()

    assert store.mark_pushed_processed([first.id, 999], NOW) == 1
    assert store.mark_pushed_processed([first.id], NOW) == 0
    assert store.mark_pushed_processed([], NOW) == 0
    assert store.pending_pushed_changes() == [second]
    assert store.enqueue_pushed_change("12", None, "add", {}, "k1", NOW) is False
