"""Reading a Planfix list page by page (``pageCurrent`` from 1, at most 100 per page).

A failure after the first page does not raise: the pages read so far come back marked
incomplete, so the caller can use them for updates but never for deletes. A list that shrinks
while it is being read (a record deleted between two pages shifts the later ones down, so one
record would be skipped) is also reported incomplete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from syncd.connectors.planfix.xml import Element, ListPage
from syncd.errors import RemoteError

log = structlog.get_logger(__name__)

PAGE_SIZE = 100
MAX_PAGES = 10_000


@dataclass(frozen=True)
class Pages:
    items: list[Element]
    complete: bool


def read_pages(
    fetch: Callable[[int], ListPage], *, what: str, page_size: int = PAGE_SIZE, strict: bool = False
) -> Pages:
    """Call ``fetch(page)`` until a short page or ``totalCount`` items; see the module docstring.

    ``strict`` raises a failure on any page instead: for look-ups whose answer must be whole.
    """
    items: list[Element] = []
    first_total: int | None = None
    page = 1
    while True:
        try:
            result = fetch(page)
        except RemoteError as exc:
            if page == 1 or strict:
                raise
            log.warning("planfix.listing_incomplete", listing=what, page=page, error=str(exc))
            return Pages(items, complete=False)
        items.extend(result.items)
        if first_total is None:
            first_total = result.total
        done = len(result.items) < page_size or (result.total is not None and len(items) >= result.total)
        if done:
            shrank = first_total is not None and result.total is not None and result.total < first_total
            if shrank:
                log.warning("planfix.listing_changed_while_read", listing=what, pages=page)
            return Pages(items, complete=not shrank)
        if page >= MAX_PAGES:
            log.warning("planfix.listing_too_long", listing=what, pages=page)
            return Pages(items, complete=False)
        page += 1
