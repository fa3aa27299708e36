"""Column types that make SQLite keep what Python means.

SQLite has no time zone and no JSON type. Stored as plain TEXT the obvious way, an aware datetime
comes back naive and a JSON value comes back as a string, and the engine would then compare apples
with pears (or a cursor with the wrong zone). These two types fix that at the column, so no caller
can forget.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator


def require_aware(value: datetime, what: str) -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes, whose zone the state cannot know."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def utc_text(value: datetime) -> str:
    """Fixed-width UTC ISO text: equal instants give equal text, and text order is time order."""
    return require_aware(value, "a time given to the state store").isoformat(timespec="microseconds")


def dump_json(value: Any, what: str) -> str:
    """Canonical JSON text (sorted keys), so equal values are stored as equal text."""
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON-serialisable: {exc}") from exc


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC ISO text; naive values are refused."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else utc_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


class JsonText(TypeDecorator[Any]):
    """Any JSON value stored as canonical JSON text; Python ``None`` is the JSON ``null``."""

    impl = Text
    cache_ok = True
    # Without this the ORM leaves a None attribute out of the INSERT instead of storing ``null``.
    should_evaluate_none = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str:
        return dump_json(value, "a JSON column value")

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)
