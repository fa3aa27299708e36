"""Paging through PlanningPME lists, as a small reusable object (in the Singer SDK's style).

Every PlanningPME list (customers, ``do/list``, history, lookups) pages the same way: a 0-based
``pageIndex``, a ``pageSize`` and a reply ``{"totalItems": N, "items": [...]}``. The paginator knows
the next ``pageIndex`` and when to stop; callers own the request. Offset paging over live data can
shift under the reader (a delete moves later items one place back, so one is skipped), so the
paginator also notices when ``totalItems`` changes between pages or a key repeats, and reports the
read as ``unstable``: a full scan that was unstable must not be trusted to prove a record is gone.

A server that ignores ``pageIndex`` (the same page again) or claims an endless ``totalItems`` must
not keep the reader going for days: a page identical to the one before it, or more pages than the
list can hold (``max_pages``, and twice what the first page's ``totalItems`` promised), raises
``ProtocolError``, and the caller treats the listing as incomplete.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.errors import ProtocolError

PAGE_SIZE = 100
"""The largest page the PlanningPME emulator serves; real accounts accept it too."""
MAX_LIST_ITEMS = 2_000_000
"""No list of one account is read further than this (twice the largest account syncd is sized for):
``max_pages`` defaults to it divided by the page size."""
GROWTH_PAGES = 10
"""Pages allowed beyond twice the first page's ``totalItems``, for lists that grow while read."""


@dataclass(frozen=True)
class Page:
    """One page of a list reply, checked for shape."""

    total_items: int
    items: list[dict[str, Any]]

    @classmethod
    def parse(cls, body: Any, label: str) -> Page:
        if not isinstance(body, Mapping):
            raise ProtocolError(
                f"{label}: expected an object with totalItems and items", system="planningpme"
            )
        items = body.get("items")
        total = body.get("totalItems", len(items) if isinstance(items, list) else None)
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ProtocolError(f"{label}: 'items' is not a list of objects", system="planningpme")
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ProtocolError(f"{label}: 'totalItems' is not a whole number", system="planningpme")
        return cls(total, items)


@dataclass
class PageIndexPaginator:
    """Knows the next ``pageIndex`` and when the list is exhausted."""

    page_size: int = PAGE_SIZE
    append_only: bool = False
    """The list only grows at its end (history): growth between pages is then harmless."""
    track_keys: bool = True
    """Each item's ``key`` is unique in the list (not so in history, where a key repeats)."""
    page_index: int = 0
    pages_read: int = 0
    items_read: int = 0
    total_items: int | None = None
    finished: bool = False
    unstable: bool = False
    """``totalItems`` changed between pages or a key came twice: items may have been skipped."""
    max_pages: int = 0
    """The most pages read before the list is given up as endless; 0 derives it from
    ``MAX_LIST_ITEMS``."""
    _keys: set[str] = field(default_factory=set, repr=False)
    _previous: list[Any] | None = field(default=None, repr=False)
    _first_total: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError("page_size must be >= 1")
        if self.max_pages < 0:
            raise ValueError("max_pages must be >= 0")
        if self.max_pages == 0:
            self.max_pages = math.ceil(MAX_LIST_ITEMS / self.page_size)

    def params(self) -> dict[str, str]:
        """Query parameters for the next page."""
        return {"pageIndex": str(self.page_index), "pageSize": str(self.page_size)}

    def advance(self, page: Page) -> None:
        """Take in the page just read and decide whether there is another.

        Raises ``ProtocolError`` when the page repeats the one before it or the list runs past its
        page bound: the server is not paging, and the listing is incomplete.
        """
        self._check_not_repeated(page)
        previous = self.total_items
        grew = previous is not None and page.total_items > previous
        if previous is not None and page.total_items != previous and not (self.append_only and grew):
            self.unstable = True
        self.total_items = page.total_items
        if self.track_keys:
            for item in page.items:
                key = str(item.get("key"))
                if key in self._keys:
                    self.unstable = True
                self._keys.add(key)
        self.pages_read += 1
        self.items_read += len(page.items)
        # A short page ends the list even if totalItems claims more (it shrank meanwhile); an
        # empty page ends it too, so a server that overstates totalItems cannot loop us forever.
        short = len(page.items) < self.page_size
        if short or self.items_read >= page.total_items:
            self.finished = True
            if short and self.items_read < page.total_items:
                self.unstable = True
        else:
            self.page_index += 1
            self._check_bound()

    def _check_not_repeated(self, page: Page) -> None:
        # The keys when they identify items; the whole items in history, where a key repeats.
        seen = [str(item.get("key")) for item in page.items] if self.track_keys else page.items
        if seen and seen == self._previous:
            raise ProtocolError(
                f"page {self.page_index} of the list is the same as page {self.page_index - 1} "
                f"({len(page.items)} items, totalItems {page.total_items}): the server does not "
                "page; the listing is incomplete",
                system="planningpme",
            )
        self._previous = seen

    def _check_bound(self) -> None:
        if self._first_total is None:
            self._first_total = self.total_items or 0
        promised = 2 * math.ceil(self._first_total / self.page_size) + GROWTH_PAGES
        bound = min(self.max_pages, promised)
        if self.pages_read >= bound:
            raise ProtocolError(
                f"the list goes on past {self.pages_read} pages of {self.page_size} (the first page "
                f"said {self._first_total} items; the bound is {bound} pages): the listing is "
                "incomplete",
                system="planningpme",
            )


def read_pages(paginator: PageIndexPaginator, fetch: Callable[[dict[str, str]], Page]) -> Iterator[Page]:
    """Pages from ``fetch(params)`` until the paginator says the list is exhausted."""
    while not paginator.finished:
        page = fetch(paginator.params())
        paginator.advance(page)
        yield page
