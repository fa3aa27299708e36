"""Planfix dates and times: ``dd-mm-yyyy`` and ``HH:MM``, naive, in the API employee's zone.

Replies write them in several ways (a date in ``startTime``, a date with a time in one element,
ISO dates in some fields); ``split_moment`` reads them all. Conversions to and from aware UTC
use the configured zone, so a cursor means the same instant on both sides of a DST change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

DATE_FORMAT = "%d-%m-%Y"
TIME_FORMAT = "%H:%M"
MINUTE_FORMAT = f"{DATE_FORMAT} {TIME_FORMAT}"

_MOMENT = re.compile(
    r"^\s*(?:(?P<d>\d{1,2})[-.](?P<m>\d{1,2})[-.](?P<y>\d{4})|(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2}))"
    r"(?:[ T](?P<h>\d{1,2}):(?P<min>\d{2})(?::\d{2}(?:\.\d+)?)?)?\s*$"
)
_TIME = re.compile(r"^\s*(?P<h>\d{1,2}):(?P<min>\d{2})(?::\d{2})?\s*$")


def split_moment(value: str) -> tuple[date, time | None] | None:
    """``dd-mm-yyyy[ HH:MM]`` (or ISO ``yyyy-mm-dd[THH:MM]``) → (date, time or None); None if not a date."""
    match = _MOMENT.match(value)
    if match is None:
        return None
    try:
        if match["y"]:
            day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        else:
            day = date(int(match["iy"]), int(match["im"]), int(match["id"]))
        at = time(int(match["h"]), int(match["min"])) if match["h"] else None
    except ValueError:
        return None
    return day, at


def parse_clock_time(value: str) -> time | None:
    """``HH:MM`` → time; None when ``value`` is not a time of day."""
    match = _TIME.match(value)
    if match is None:
        return None
    try:
        return time(int(match["h"]), int(match["min"]))
    except ValueError:
        return None


def format_date(day: date) -> str:
    return day.strftime(DATE_FORMAT)


def format_time(at: time) -> str:
    return at.strftime(TIME_FORMAT)


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """An aware instant as the naive local time Planfix would write for it."""
    if moment.tzinfo is None:
        raise ValueError("expected an aware datetime")
    return moment.astimezone(zone).replace(tzinfo=None)


def from_local(naive: datetime, zone: ZoneInfo) -> datetime:
    """A naive Planfix local time as an aware UTC instant."""
    return naive.replace(tzinfo=zone).astimezone(UTC)


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)
