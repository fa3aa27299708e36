"""Date-times between two naive local clocks and the canonical UTC form.

Planfix gives ``dd-mm-yyyy`` + ``HH:MM`` in the API employee's zone; PlanningPME gives
``YYYY-MM-DDTHH:MM:SS`` in the account's zone; neither says which zone. The canonical form is an
ISO UTC string with minute precision (``2026-11-23T06:00:00Z``; Planfix has no seconds), or a bare
ISO date (``2026-11-23``) for a day without a time.

The one rule for local times that do not map to exactly one instant (PEP 495 ``fold=0``):

* a time in a spring-forward gap (02:30 in Madrid on the last Sunday of March) is read with the
  offset before the change, i.e. it is shifted forward by the gap (02:30 → 03:30 CEST);
* a time in a fall-back overlap (02:30 on the last Sunday of October happens twice) is read as
  the first occurrence (summer time).

A naive local clock cannot name the second occurrence of an overlap hour, so an instant there
cannot survive a round trip through that zone. Canonical values are therefore *snapped*: an
instant that one of the two zones cannot represent is moved to the first occurrence of the same
local time. Only instants inside one zone's repeated hour move (by that zone's DST step), and the
result is stable: writing a canonical value to either side and reading it back gives it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from mappings.errors import MappingValueError

_PF_DATE = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})")
_PF_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_MAX_SNAPS = 8


def parse_planfix_date(text: str) -> tuple[date, time | None]:
    """``dd-mm-yyyy`` (optionally followed by `` HH:MM``, as ``beginDateTime`` is)."""
    parts = text.strip().split()
    m = _PF_DATE.fullmatch(parts[0]) if parts else None
    if m is None or len(parts) > 2:
        raise MappingValueError(f"{text!r} is not a Planfix date (dd-mm-yyyy)")
    day, month, year = (int(g) for g in m.groups())
    try:
        d = date(year, month, day)
    except ValueError:
        raise MappingValueError(f"{text!r} is not a valid date") from None
    return d, (parse_planfix_time(parts[1]) if len(parts) == 2 else None)


def parse_planfix_time(text: str) -> time | None:
    """``HH:MM`` (seconds ignored). Replies in the wild also put a date, or a date and a time, in
    the time fields: a bare date means "no time"."""
    parts = text.strip().split()
    if not parts:
        return None
    if _PF_DATE.fullmatch(parts[0]):
        return parse_planfix_date(text)[1]
    m = _PF_TIME.fullmatch(parts[0]) if len(parts) == 1 else None
    if m is None:
        raise MappingValueError(f"{text!r} is not a Planfix time (HH:MM)")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise MappingValueError(f"{text!r} is not a valid time of day")
    return time(hour, minute)


def parse_iso(text: str) -> datetime | date:
    """``YYYY-MM-DD`` → a date; ``YYYY-MM-DDTHH:MM[:SS[.f]][Z|±HH:MM]`` → a datetime (naive, or
    aware when the text carries an offset)."""
    stripped = text.strip()
    try:
        if len(stripped) == 10:
            return date.fromisoformat(stripped)
        return datetime.fromisoformat(stripped)
    except ValueError:
        raise MappingValueError(f"{text!r} is not an ISO date-time (YYYY-MM-DDTHH:MM:SS)") from None


def _minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant a naive local time names in ``zone``, by the fold=0 rule."""
    try:
        return _minute(local).replace(tzinfo=zone, fold=0).astimezone(UTC)
    except (OverflowError, ValueError):
        raise MappingValueError(f"{local.isoformat()} is out of the supported date range") from None


def utc_to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock time of ``instant`` in ``zone``."""
    try:
        return _minute(instant.astimezone(zone)).replace(tzinfo=None, fold=0)
    except (OverflowError, ValueError):
        raise MappingValueError(f"{instant.isoformat()} is out of the supported date range") from None


def snap(instant: datetime, zones: Iterable[ZoneInfo]) -> datetime:
    """The nearest instant at or before ``instant`` that every zone can name by its local time.

    Each pass moves an instant that falls in a zone's repeated hour to that local time's first
    occurrence; a few passes reach a value no zone moves any more.
    """
    current = _minute(instant.astimezone(UTC))
    zone_list = list(zones)
    for _ in range(_MAX_SNAPS):
        moved = current
        for zone in zone_list:
            moved = local_to_utc(utc_to_local(moved, zone), zone)
        if moved == current:
            return current
        current = moved
    return current


def format_instant(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_canonical(value: object) -> datetime | date | None:
    """A canonical value back into a date or an aware UTC datetime."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingValueError(f"{value!r} is not a canonical date-time")
    if len(value) == 10:
        return parse_iso(value)
    if not value.endswith("Z"):
        raise MappingValueError(f"{value!r} is not a canonical UTC date-time (…Z)")
    parsed = parse_iso(value[:-1] + "+00:00")
    assert isinstance(parsed, datetime)
    return parsed


def day_start(value: date) -> datetime:
    return datetime.combine(value, time(0, 0))
