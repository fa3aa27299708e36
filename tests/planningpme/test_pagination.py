"""The paginator on its own: which pages it asks for, when it stops, when it distrusts a read."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.connectors.planningpme.connector import prefer_scan, summarise_history
from syncd.connectors.planningpme.pagination import Page, PageIndexPaginator, read_pages
from syncd.errors import ProtocolError


def _server(total: int) -> list[dict[str, object]]:
    return [{"key": k} for k in range(1, total + 1)]


def _fetch_from(
    items: list[dict[str, object]],
) -> tuple[Callable[[dict[str, str]], Page], list[dict[str, str]]]:
    asked: list[dict[str, str]] = []

    def fetch(params: dict[str, str]) -> Page:
        asked.append(params)
        index, size = int(params["pageIndex"]), int(params["pageSize"])
        return Page(len(items), items[index * size : (index + 1) * size])

    return fetch, asked


@given(total=st.integers(0, 450), size=st.integers(1, 120))
def test_reads_every_item_once_in_the_fewest_pages(total: int, size: int) -> None:
    items = _server(total)
    fetch, asked = _fetch_from(items)
    paginator = PageIndexPaginator(size)
    read = [item for page in read_pages(paginator, fetch) for item in page.items]
    assert read == items
    assert len(asked) == max(1, math.ceil(total / size))
    assert [int(p["pageIndex"]) for p in asked] == list(range(len(asked)))
    assert not paginator.unstable and paginator.finished


def test_a_shrinking_list_is_unstable() -> None:
    paginator = PageIndexPaginator(2)
    paginator.advance(Page(5, [{"key": 1}, {"key": 2}]))
    paginator.advance(Page(4, [{"key": 4}, {"key": 5}]))  # key 3 moved to page 0: skipped
    assert paginator.unstable


def test_a_repeated_key_is_unstable() -> None:
    paginator = PageIndexPaginator(2)
    paginator.advance(Page(4, [{"key": 1}, {"key": 2}]))
    paginator.advance(Page(4, [{"key": 2}, {"key": 3}]))
    assert paginator.unstable


def test_a_short_page_ends_the_list_even_if_the_total_says_more() -> None:
    paginator = PageIndexPaginator(3)
    paginator.advance(Page(10, [{"key": 1}]))
    assert paginator.finished and paginator.unstable


def test_history_may_grow_while_read() -> None:
    paginator = PageIndexPaginator(2, append_only=True, track_keys=False)
    paginator.advance(Page(3, [{"key": 1}, {"key": 1}]))
    paginator.advance(Page(4, [{"key": 1}, {"key": 2}]))
    assert paginator.finished and not paginator.unstable


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"items": "x"},
        {"items": [1]},
        {"items": [], "totalItems": "3"},
        {"items": [], "totalItems": -1},
    ],
)
def test_page_shape_is_checked(body: object) -> None:
    with pytest.raises(ProtocolError, match="GET /api/x"):
        Page.parse(body, "GET /api/x")


def test_page_without_total_counts_its_items() -> None:
    assert Page.parse({"items": [{"key": 1}]}, "x").total_items == 1


def test_history_summary_keeps_the_last_operation_per_key() -> None:
    entries = [
        {"op": "Insert", "entity": "do", "key": 3},
        {"op": "Update", "entity": "do", "key": 1},
        {"op": "Delete", "entity": "do", "key": 1},
        {"op": "Insert", "entity": "customer", "key": 9},
        {"op": "Email", "entity": "do", "key": 4},
        {"op": "Update", "entity": "do", "key": 10},
        {"op": "Delete", "entity": "do", "key": 2},
    ]
    summary = summarise_history(entries, "event")
    assert summary.changed == ["3", "10"]
    assert summary.deleted == ["1", "2"]
    assert summarise_history(entries, "customer").changed == ["9"]


def test_scan_is_preferred_only_when_cheaper() -> None:
    assert not prefer_scan(0, 1000, 100)
    assert not prefer_scan(10, 1000, 100)  # 10 GETs == 10 pages: no gain
    assert prefer_scan(11, 1000, 100)
    assert prefer_scan(2, 50, 100)  # one page holds everything
    assert not prefer_scan(100, None, 100) and prefer_scan(101, None, 100)


def test_history_summary_names_what_it_does_not_understand() -> None:
    entries: list[object] = [
        {"type": "Assignment", "op": "Update", "key": 4},
        {"type": 1, "op": 1, "key": "9"},  # Customer, Delete by the seed's numbering
        {"type": "Invoice", "op": "Insert", "key": 5},
        {"entity": "do", "op": "Unperiodize", "key": 4},
        {"type": "Resource", "op": "Update"},  # ignored: no key needed
        {"entity": "customer", "op": "Insert", "key": True},
        ["not", "an", "object"],
    ]
    summary = summarise_history(entries, "event")
    assert summary.changed == ["4"] and summary.deleted == []
    assert summarise_history(entries, "customer").deleted == ["9"]
    assert summary.problems == (
        "history entries of type 'Invoice' (not in planningpme.history_types)",
        "history operation 'Unperiodize' (not in planningpme.history_ops)",
        "a history entry without a usable 'key'",
        "a history entry that is not an object",
    )
