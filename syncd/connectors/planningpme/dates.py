"""PlanningPME date-times on the wire: read zoned or naive, written in the configured form.

Replies may carry ``2018-01-25T18:05:00Z``, ``…+01:00`` or a naive local time of the account (the
seed shows the first; accounts seen so far send the last). Records are kept with naive local
times, whatever the reply used, so a change of form on the server side is not a change of data
and the mappings see one shape. Writes use ``date_format``: ``offset`` (ISO 8601 with the account
zone's offset), ``utc`` (``Z``) or ``local`` (naive).

A naive local time that a DST change skips or repeats is read by the fold=0 rule, as
``mappings.instants`` does, so both layers agree on the instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from syncd.connectors.planningpme.assumptions import DateFormat

LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"


def _parse(text: str) -> datetime | None:
    stripped = text.strip()
    if len(stripped) < 16 or stripped[10] != "T":
        return None
    try:
        return datetime.fromisoformat(stripped)
    except ValueError:
        return None


def date_form(value: object) -> DateFormat | None:
    """Which form a reply's date-time uses; None when it is not a date-time."""
    if not isinstance(value, str):
        return None
    parsed = _parse(value)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return "local"
    return "utc" if parsed.utcoffset() == UTC.utcoffset(None) and value.strip().endswith("Z") else "offset"


def read_date(value: object, zone: ZoneInfo) -> object:
    """A zoned date-time as the naive local time of ``zone``; anything else unchanged."""
    if not isinstance(value, str):
        return value
    parsed = _parse(value)
    if parsed is None or parsed.tzinfo is None:
        return value
    return parsed.astimezone(zone).replace(tzinfo=None).strftime(LOCAL_FORMAT)


def format_moment(moment: datetime, zone: ZoneInfo, form: DateFormat) -> str:
    """An instant (aware, or naive local of ``zone``) in the written form."""
    aware = moment.replace(tzinfo=zone, fold=0) if moment.tzinfo is None else moment
    aware = aware.replace(microsecond=0)
    if form == "utc":
        return aware.astimezone(UTC).strftime(LOCAL_FORMAT) + "Z"
    local = aware.astimezone(zone)
    if form == "local":
        return local.strftime(LOCAL_FORMAT)
    return local.isoformat()


def write_date(value: object, zone: ZoneInfo, form: DateFormat) -> object:
    """A date-time value of a record body in the written form; other values unchanged."""
    if not isinstance(value, str):
        return value
    parsed = _parse(value)
    return value if parsed is None else format_moment(parsed, zone, form)
