"""Every connector tells ``seen`` about the records it lists, page by page, as it reads them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from syncd.connectors.base import RemoteRecord
from tests.e2e.conftest import World


@pytest.mark.parametrize("entity", ["task", "contact", "event", "customer"])
def test_seen_gets_each_page_of_a_full_listing(world: World, entity: str) -> None:
    world.pf("POST", "seed", {"tasks": 230, "contacts": 230, "seed": 5})
    world.pme("POST", "seed", {"events": 230, "customers": 230, "seed": 5})
    remotes = world.remotes()
    pages: list[list[str]] = []

    def seen(batch: Sequence[RemoteRecord]) -> None:
        pages.append([r.key for r in batch])

    try:
        listing = remotes.by_entity[entity].list_changed(None, full=True, seen=seen)
    finally:
        remotes.close()

    assert len(pages) == 3, "230 records come in pages of 100"
    assert sorted(k for page in pages for k in page) == sorted(r.key for r in listing.records)


def test_seen_gets_the_records_an_incremental_listing_fetches_one_by_one(world: World) -> None:
    world.pme("POST", "seed", {"events": 0, "customers": 300, "seed": 5})
    remotes = world.remotes()
    customers = remotes.by_entity["customer"]
    seen_keys: list[str] = []
    try:
        everything = customers.list_changed(None, full=True)
        cursor = everything.cursor
        assert cursor is not None
        for record in everything.records[:3]:
            customers.update(record.key, {"lastName": "Changed"})
        listing = customers.list_changed(cursor, seen=lambda batch: seen_keys.extend(r.key for r in batch))
    finally:
        remotes.close()

    assert not listing.full_scan
    assert (
        sorted(seen_keys)
        == sorted(r.key for r in listing.records)
        == sorted(r.key for r in everything.records[:3])
    )


@pytest.mark.parametrize("entity", ["task", "event"])
def test_a_full_listing_keeps_only_the_records_seen_asks_for(world: World, entity: str) -> None:
    """A full scan drops the unchanged records as their page is read, so it never holds them all."""
    world.pf("POST", "seed", {"tasks": 230, "contacts": 0, "seed": 5})
    world.pme("POST", "seed", {"events": 230, "customers": 0, "seed": 5})
    remotes = world.remotes()
    seen_keys: list[str] = []

    def every_tenth(batch: Sequence[RemoteRecord]) -> set[str]:
        seen_keys.extend(r.key for r in batch)
        return {r.key for r in batch[::10]}

    try:
        listing = remotes.by_entity[entity].list_changed(None, full=True, seen=every_tenth)
    finally:
        remotes.close()

    assert listing.complete and listing.full_scan and len(seen_keys) == 230
    assert len(listing.records) == 23
