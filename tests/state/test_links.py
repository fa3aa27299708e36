"""Links: found by either key, one-to-one per pair, and never silently merged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state.errors import LinkConflict
from state.rows import LinkRow
from state.store import Store
from tests.state.conftest import NOW


def test_a_link_is_found_by_either_key_with_what_was_synced(store: Store) -> None:
    store.upsert_link("tasks", "123", "17", {"title": "Ремонт", "workers": ["1", "3"]}, "pf-h", "pme-h", NOW)

    by_planfix = store.link_by_planfix("tasks", "123")
    assert by_planfix == store.link_by_planningpme("tasks", "17")
    assert by_planfix == LinkRow(
        "tasks", "123", "17", {"title": "Ремонт", "workers": ["1", "3"]}, "pf-h", "pme-h", NOW, NOW
    )
    assert store.links("tasks") == [by_planfix]


def test_links_of_other_pairs_and_unknown_keys_are_not_found(store: Store) -> None:
    store.upsert_link("tasks", "1", "1", {}, "a", "b", NOW)

    assert store.link_by_planfix("contacts", "1") is None
    assert store.link_by_planningpme("tasks", "2") is None
    assert store.links("contacts") == []


def test_upsert_updates_the_link_and_keeps_its_creation_time(store: Store) -> None:
    store.upsert_link("tasks", "1", "17", {"title": "old"}, "a", "b", NOW)
    later = NOW + timedelta(minutes=5)

    store.upsert_link("tasks", "1", "17", {"title": "new"}, "c", "d", later)

    assert store.links("tasks") == [LinkRow("tasks", "1", "17", {"title": "new"}, "c", "d", NOW, later)]


def test_upsert_relinks_one_side_when_the_other_key_is_free(store: Store) -> None:
    store.upsert_link("tasks", "1", "17", {}, "a", "b", NOW)

    store.upsert_link("tasks", "1", "18", {}, "a", "c", NOW)  # the event was re-created

    assert [(link.planfix_key, link.planningpme_key) for link in store.links("tasks")] == [("1", "18")]
    assert store.link_by_planningpme("tasks", "17") is None


def test_joining_two_existing_links_is_refused_and_writes_nothing(store: Store) -> None:
    store.upsert_link("tasks", "1", "17", {}, "a", "b", NOW)
    store.upsert_link("tasks", "2", "18", {}, "a", "b", NOW)
    before = store.links("tasks")

    with pytest.raises(
        LinkConflict, match=r"planfix '1' is linked to planningpme '17'.*delete the stale link"
    ):
        store.upsert_link("tasks", "1", "18", {}, "x", "y", NOW)

    assert store.links("tasks") == before


def test_delete_link_needs_both_keys(store: Store) -> None:
    store.upsert_link("tasks", "1", "17", {}, "a", "b", NOW)

    assert store.delete_link("tasks", "1", "18") is False
    assert store.delete_link("tasks", "1", "17") is True
    assert store.delete_link("tasks", "1", "17") is False
    assert store.links("tasks") == []


def test_batch_upsert_is_one_transaction(store: Store) -> None:
    store.upsert_link("tasks", "9", "90", {}, "a", "b", NOW)
    good = LinkRow("tasks", "1", "10", {"n": 1}, "a", "b", NOW, NOW)
    clash = LinkRow("tasks", "9", "10", {}, "a", "b", NOW, NOW)  # joins (1,10) and (9,90)

    with pytest.raises(LinkConflict):
        store.upsert_links_batch([good, clash])
    assert store.link_by_planfix("tasks", "1") is None

    store.upsert_links_batch([good, LinkRow("tasks", "2", "20", {}, "a", "b", NOW, NOW)])
    assert {link.planfix_key for link in store.links("tasks")} == {"1", "2", "9"}


def test_returned_canonical_is_a_copy(store: Store) -> None:
    store.upsert_link("tasks", "1", "17", {"title": "x"}, "a", "b", NOW)
    link = store.link_by_planfix("tasks", "1")
    assert link is not None

    link.canonical["title"] = "changed by a caller"

    assert store.link_by_planfix("tasks", "1") == LinkRow(
        "tasks", "1", "17", {"title": "x"}, "a", "b", NOW, NOW
    )


def test_a_canonical_that_is_not_json_is_refused_with_a_clear_error(store: Store) -> None:
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        store.upsert_link("tasks", "1", "17", {"when": NOW}, "a", "b", NOW)
    assert store.links("tasks") == []


# --- property: any sequence of upserts and deletes keeps links one-to-one -------------------------

PLANFIX_KEYS = st.sampled_from(["1", "2", "3"])
PME_KEYS = st.sampled_from(["17", "18", "19"])
OPERATIONS = st.lists(st.tuples(st.sampled_from(["upsert", "delete"]), PLANFIX_KEYS, PME_KEYS), max_size=25)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    # One database for every example; each example works in a pair of its own.
    with Store.open(tmp_path_factory.mktemp("links") / "state.db") as store:
        yield store


@settings(max_examples=60, deadline=None)
@given(operations=OPERATIONS)
def test_links_stay_one_to_one_in_both_directions(
    shared_store: Store, operations: list[tuple[str, str, str]]
) -> None:
    store, pair = shared_store, uuid4().hex
    model: dict[str, str] = {}  # planfix key -> planningpme key
    for operation, pf, pme in operations:
        owner_of_pme = next((k for k, v in model.items() if v == pme), None)
        if operation == "delete":
            assert store.delete_link(pair, pf, pme) is (model.get(pf) == pme)
            if model.get(pf) == pme:
                del model[pf]
        elif pf in model and owner_of_pme is not None and owner_of_pme != pf:
            with pytest.raises(LinkConflict):
                store.upsert_link(pair, pf, pme, {}, "h", "h", NOW)
        else:
            if owner_of_pme is not None:
                del model[owner_of_pme]
            model[pf] = pme
            store.upsert_link(pair, pf, pme, {}, "h", "h", NOW)

        assert {(link.planfix_key, link.planningpme_key) for link in store.links(pair)} == set(model.items())
        for key in ("1", "2", "3"):
            link = store.link_by_planfix(pair, key)
            assert (link.planningpme_key if link else None) == model.get(key)
        for key in ("17", "18", "19"):
            link = store.link_by_planningpme(pair, key)
            assert (link.planfix_key if link else None) == next(
                (k for k, v in model.items() if v == key), None
            )
