"""Raw digests noted against links: valid only while the link still holds the hash they map to."""

from __future__ import annotations

from pathlib import Path

from state.store import Store
from tests.state.conftest import NOW
from tests.state.test_migrations import load_snapshot


def test_a_noted_digest_is_found_until_the_link_changes(store: Store) -> None:
    store.upsert_link("tasks", "1", "E1", {"title": "a"}, "pf1", "pme1", NOW)
    store.upsert_link("tasks", "2", "E2", {"title": "b"}, "pf2", "pme2", NOW)
    store.note_raw_digests("tasks", "planfix", [("1", "pf1", "d1"), ("2", "pf2", "d2")])
    store.note_raw_digests("tasks", "planningpme", [("E1", "pme1", "e1")])

    assert store.scan_index("tasks", "planfix") == ({"1": "pf1", "2": "pf2"}, {"1": "d1", "2": "d2"})
    assert store.scan_index("tasks", "planningpme") == ({"E1": "pme1", "E2": "pme2"}, {"E1": "e1"})

    store.upsert_link("tasks", "1", "E1", {"title": "a2"}, "pf1-new", "pme1", NOW)  # a write from E1
    assert store.scan_index("tasks", "planfix")[1] == {"2": "d2"}
    assert store.scan_index("tasks", "planningpme")[1] == {"E1": "e1"}, "that side's hash did not change"


def test_a_digest_for_a_hash_the_link_no_longer_holds_is_not_noted(store: Store) -> None:
    store.upsert_link("tasks", "1", "E1", {}, "pf1", "pme1", NOW)
    store.note_raw_digests("tasks", "planfix", [("1", "stale", "d1"), ("404", "pf1", "d2")])
    assert store.scan_index("tasks", "planfix") == ({"1": "pf1"}, {})


def test_a_hash_that_only_starts_like_the_tag_does_not_validate(store: Store) -> None:
    store.upsert_link("tasks", "1", "E1", {}, "pf", "pme", NOW)
    store.note_raw_digests("tasks", "planfix", [("1", "pf", "d1")])
    store.upsert_link("tasks", "1", "E1", {}, "p", "pme", NOW)  # "pf:d1" starts with "p", not "p:"
    assert store.scan_index("tasks", "planfix") == ({"1": "p"}, {})


def test_links_from_a_v1_file_have_no_digests_yet(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    load_snapshot(1, path)
    with Store.open(path) as store:
        assert store.scan_index("tasks", "planfix") == ({"123": "pf-hash-1"}, {})


def test_links_awaiting_a_read_back_are_named_per_side(store: Store) -> None:
    """A full scan must not skip them: the planner settles the echo of syncd's own write there."""
    store.upsert_link(
        "tasks", "1", "E1", {}, "pf1", "pme1", NOW, echo={"awaiting": {"planningpme": ["title"]}}
    )
    store.upsert_link("tasks", "2", "E2", {}, "pf2", "pme2", NOW, echo={"held": {"planfix": {"status": "1"}}})
    store.upsert_link("tasks", "3", "E3", {}, "pf3", "pme3", NOW)
    assert store.awaiting_echo("tasks", "planningpme") == {"E1"}
    assert store.awaiting_echo("tasks", "planfix") == set()
