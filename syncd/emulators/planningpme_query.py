"""How the PlanningPME emulator reads list parameters: paging, ``sortInfo`` and the ``do/list`` filter.

``sortInfo`` follows the seed: a property name directly followed by ``+`` or ``-``, several of them
concatenated (``notValid-label+``). In a query string an unencoded ``+`` arrives as a space, so a
space (or a comma) after a name also ends it, ascending. Property names are case-sensitive.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from syncd.emulators.planningpme_model import as_int_key, parse_when, write_when

PAGE_SIZE_MAX: Final = 100
"""The largest ``pageSize`` accepted; larger pages are refused with 400 (the client uses 100)."""

_SORT_TOKEN = re.compile(r"\s*,?\s*([A-Za-z_][A-Za-z0-9_]*)([+-]?)")


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool


@dataclass(frozen=True)
class PageRequest:
    """``size`` None means the whole list, as the API does without paging parameters."""

    index: int = 0
    size: int | None = None


def parse_sort_info(text: str | None) -> list[SortKey]:
    if text is None or not text.strip():
        return []
    keys: list[SortKey] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip(" ,"):
            break
        match = _SORT_TOKEN.match(text, pos)
        if match is None:
            raise ValueError(
                f"sortInfo: cannot read {text[pos:]!r}; write e.g. 'label+' or 'notValid-label+'"
            )
        keys.append(SortKey(match.group(1), match.group(2) == "-"))
        pos = match.end()
    return keys


def _collate(text: str) -> str:
    """Accent- and case-insensitive order, like the database collation behind the real API."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _rank(value: Any) -> tuple[int, Any]:
    """A total order over JSON values so mixed and empty values sort predictably (empty first)."""
    if value is None or value == "":
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value))
    if isinstance(value, str):
        return (2, _collate(value))
    if isinstance(value, Mapping):
        return (3, _collate(str(value.get("label", value.get("key", "")))))
    if isinstance(value, list):
        return (4, len(value))
    return (5, str(value))


def sort_items(
    items: Sequence[Mapping[str, Any]], keys: Sequence[SortKey], known: Iterable[str]
) -> list[Mapping[str, Any]]:
    """Items ordered by ``keys`` (then by ``key``, so pages are stable)."""
    allowed = set(known)
    for sort_key in keys:
        if sort_key.name not in allowed:
            raise ValueError(
                f"sortInfo: unknown property {sort_key.name!r} (property names are case-sensitive; "
                f"known: {', '.join(sorted(allowed))})"
            )
    ordered = sorted(items, key=lambda item: _rank(item.get("key")))
    for sort_key in reversed(keys):
        ordered.sort(key=_by(sort_key.name), reverse=sort_key.descending)
    return ordered


def _by(name: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    return lambda item: _rank(item.get(name))


def _whole(params: Mapping[str, str], name: str, minimum: int) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}")
    return value


def parse_paging(params: Mapping[str, str], max_size: int = PAGE_SIZE_MAX) -> PageRequest:
    index = _whole(params, "pageIndex", 0)
    size = _whole(params, "pageSize", 1)
    if size is not None and size > max_size:
        raise ValueError(f"pageSize: at most {max_size}")
    if index is not None and size is None:
        size = max_size
    return PageRequest(index or 0, size)


def page_of(items: Sequence[Mapping[str, Any]], request: PageRequest) -> dict[str, Any]:
    if request.size is None:
        chosen = list(items)
    else:
        start = request.index * request.size
        chosen = list(items[start : start + request.size])
    return {"totalItems": len(items), "items": chosen}


@dataclass(frozen=True)
class EventFilter:
    """The body of ``POST /api/do/list``; an empty or missing criterion does not filter."""

    date_from: str | None = None
    date_to: str | None = None
    resources: frozenset[str] = frozenset()
    customers: frozenset[int] = frozenset()
    projects: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    tasks: frozenset[str] = frozenset()

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Events overlapping [dateFrom, dateTo] and sharing a key with every given criterion."""
        if self.date_from is not None and event["end"] < self.date_from:
            return False
        if self.date_to is not None and event["start"] > self.date_to:
            return False
        if self.resources and not {r["key"] for r in event["resources"]} & self.resources:
            return False
        if self.customers and not {c["key"] for c in event["customers"]} & self.customers:
            return False
        return all(
            not wanted or (event[prop] is not None and event[prop]["key"] in wanted)
            for prop, wanted in (
                ("project", self.projects),
                ("category", self.categories),
                ("task", self.tasks),
            )
        )


def _keys(body: Mapping[str, Any], name: str) -> list[object]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{name}: expected a list of keys")
    return [item.get("key") if isinstance(item, Mapping) else item for item in value]


def _str_keys(body: Mapping[str, Any], name: str) -> frozenset[str]:
    out: set[str] = set()
    for i, key in enumerate(_keys(body, name)):
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise ValueError(f"{name}[{i}]: expected a key")
        out.add(str(key))
    return frozenset(out)


def parse_event_filter(body: object, zone: ZoneInfo) -> EventFilter:
    if body is None:
        return EventFilter()
    if not isinstance(body, Mapping):
        raise ValueError("the filter must be a JSON object")
    allowed = {"dateFrom", "dateTo", "resources", "customers", "projects", "categories", "tasks"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown filter property (known: {', '.join(sorted(allowed))})")
    dates = {
        name: None if body.get(name) is None else write_when(parse_when(body[name], name, zone))
        for name in ("dateFrom", "dateTo")
    }
    customers = frozenset(
        as_int_key(key, f"customers[{i}]") for i, key in enumerate(_keys(body, "customers"))
    )
    return EventFilter(
        date_from=dates["dateFrom"],
        date_to=dates["dateTo"],
        resources=_str_keys(body, "resources"),
        customers=customers,
        projects=_str_keys(body, "projects"),
        categories=_str_keys(body, "categories"),
        tasks=_str_keys(body, "tasks"),
    )
