"""Paging through PlanningPME lists, as a small reusable object (in the Singer SDK's style).

Every PlanningPME list (customers, ``do/list``, history, lookups) pages the same way: a 0-based
``pageIndex``, a ``pageSize`` and a reply ``{"totalItems": N, "items": [...]}``. The paginator knows
the next ``pageIndex`` and when to stop; callers own the request. Offset paging over live data can
shift under the reader (a delete moves later items one place back, so one is skipped), so the
paginator also notices when ``totalItems`` changes between pages or a key repeats, and reports the
read as ``unstable``: a full scan that was unstable must not be trusted to prove a record is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.errors import ProtocolError

PAGE_SIZE = 100
"""The largest page the PlanningPME emulator serves; real accounts accept it too."""


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
    _keys: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError("page_size must be >= 1")

    def params(self) -> dict[str, str]:
        """Query parameters for the next page."""
        return {"pageIndex": str(self.page_index), "pageSize": str(self.page_size)}

    def advance(self, page: Page) -> None:
        """Take in the page just read and decide whether there is another."""
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


def read_pages(paginator: PageIndexPaginator, fetch: Callable[[dict[str, str]], Page]) -> Iterator[Page]:
    """Pages from ``fetch(params)`` until the paginator says the list is exhausted."""
    while not paginator.finished:
        page = fetch(paginator.params())
        paginator.advance(page)
        yield page
