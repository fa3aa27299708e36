"""Link queries for cycles that touch few records, and the batch upsert that equals one-by-one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from state.errors import LinkConflict
from state.rows import LinkRow
from state.store import Store
from state.store.linking import IN_CHUNK
from tests.state.conftest import NOW


def row(pair: str, pf: str, pme: str, title: str = "x") -> LinkRow:
    return LinkRow(pair, pf, pme, {"title": title}, f"pf-{title}", f"pme-{title}", NOW, NOW)


def test_links_by_keys_finds_links_by_either_key_once(store: Store) -> None:
    store.upsert_links_batch([row("tasks", str(i), str(100 + i)) for i in range(10)])
    store.upsert_link("contacts", "1", "101", {}, "a", "b", NOW)

    found = store.links_by_keys("tasks", ["1", "2", "99"], ["101", "105"])

    assert sorted((r.planfix_key, r.planningpme_key) for r in found) == [
        ("1", "101"),
        ("2", "102"),
        ("5", "105"),
    ]
    assert {r.pair for r in found} == {"tasks"}
    assert found[0] == store.link_by_planfix("tasks", found[0].planfix_key)
    assert store.links_by_keys("tasks") == []


def test_links_by_keys_reads_more_keys_than_one_query_takes(store: Store) -> None:
    count = IN_CHUNK * 2 + 3
    store.upsert_links_batch([row("tasks", str(i), f"e{i}") for i in range(count)])

    found = store.links_by_keys("tasks", [str(i) for i in range(count)], [f"e{i}" for i in range(count)])

    assert len(found) == count


def test_link_keys_and_count(store: Store) -> None:
    store.upsert_links_batch([row("tasks", "1", "10"), row("tasks", "2", "20")])

    assert sorted(store.link_keys("tasks")) == [("1", "10"), ("2", "20")]
    assert store.link_count("tasks") == 2
    assert store.link_keys("contacts") == [] and store.link_count("contacts") == 0


def test_the_generation_moves_with_every_change_of_links_or_tombstones(store: Store) -> None:
    seen = [store.generation("tasks")]

    def moved() -> bool:
        seen.append(store.generation("tasks"))
        return seen[-1] != seen[-2]

    store.upsert_link("tasks", "1", "10", {}, "a", "b", NOW)
    assert moved()
    store.upsert_links_batch([row("tasks", "2", "20")])
    assert moved()
    store.delete_link("tasks", "2", "20")
    assert moved()
    store.add_tombstone("tasks", "planfix", "2", "deleted", NOW)
    assert moved()
    intent = store.open_intent("tasks", "planningpme", "3", "3", {}, NOW)
    store.complete_intent(
        intent,
        planfix_key="3",
        planningpme_key="30",
        canonical={},
        planfix_hash="",
        planningpme_hash="",
        now=NOW,
    )
    assert moved()
    store.links("tasks")
    store.upsert_link("contacts", "1", "10", {}, "a", "b", NOW)
    assert not moved(), "reads and other pairs leave it alone"


def test_a_batch_can_rekey_a_link_to_a_key_another_link_gives_up_in_the_same_batch(store: Store) -> None:
    store.upsert_links_batch([row("tasks", "1", "17"), row("tasks", "2", "19")])

    store.upsert_links_batch([row("tasks", "1", "18"), row("tasks", "2", "17")])

    assert sorted(store.link_keys("tasks")) == [("1", "18"), ("2", "17")]


# --- property: a batch ends where the same upserts one by one end, or refuses as they would -------

PLANFIX_KEYS = st.sampled_from(["1", "2", "3", "4"])
PME_KEYS = st.sampled_from(["17", "18", "19", "20"])
ROWS = st.lists(st.tuples(PLANFIX_KEYS, PME_KEYS, st.sampled_from(["a", "b"])), max_size=8)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store.open(tmp_path_factory.mktemp("batch") / "state.db") as store:
        yield store


def _state(store: Store, pair: str) -> list[tuple[str, str, object, str]]:
    return sorted((r.planfix_key, r.planningpme_key, r.canonical, r.planfix_hash) for r in store.links(pair))


@settings(max_examples=80, deadline=None)
@given(before=ROWS, batch=ROWS)
def test_a_batch_equals_the_same_upserts_one_by_one(
    shared_store: Store, before: list[tuple[str, str, str]], batch: list[tuple[str, str, str]]
) -> None:
    one_by_one, batched = uuid4().hex, uuid4().hex
    for pair in (one_by_one, batched):
        for pf, pme, title in before:
            with contextlib.suppress(LinkConflict):
                shared_store.upsert_link(pair, pf, pme, {"title": title}, f"pf-{title}", f"pme-{title}", NOW)
    refused = False
    for pf, pme, title in batch:
        try:
            shared_store.upsert_link(
                one_by_one, pf, pme, {"title": title}, f"pf-{title}", f"pme-{title}", NOW
            )
        except LinkConflict:
            refused = True
            break
    if refused:
        kept = _state(shared_store, batched)
        with pytest.raises(LinkConflict):
            shared_store.upsert_links_batch([row(batched, pf, pme, title) for pf, pme, title in batch])
        assert _state(shared_store, batched) == kept, "a refused batch writes nothing"
    else:
        shared_store.upsert_links_batch([row(batched, pf, pme, title) for pf, pme, title in batch])
        assert _state(shared_store, batched) == _state(shared_store, one_by_one)
