"""The echo rules (property 17): what a system did to syncd's own write is not a change.

A system fills in or normalises what syncd writes (a default status, trimmed or re-cased text, a
rounded number, a time to the minute). Read back and compared with the synced value, that would
look like an edit on that side and be copied back, or win over a deletion on the other side. The
rules that tell the system's doing from a person's edit, and that decide which fields changed
since the last sync, are kept here in one place because the merge, the deletions and the cycle
(``changed_fields`` on an archived record) must all judge a read-back the same way. The state they
work on is ``model.Echo``.

- ``is_echo``: a difference a system plausibly made by itself (a default where nothing was
  written; spacing and case; fewer decimals; whole minutes or seconds; another list order).
- ``read_back``: the first read of a record syncd wrote holds those differences as that side's
  own values; a free field syncd wrote empty is never taken for a default.
- ``changed_fields``: the fields a record changed since the last sync, against the values its side
  is expected to hold.
- ``settled``: after a merge, a field whose synced value changed is held by no side any more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from syncd.engine.planner.model import Echo, LinkState, Observed, PairRules


def is_empty(value: Any) -> bool:
    """No value at all: what syncd writes for a field it has nothing for."""
    return value is None or value in ("", [], {})


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 16 or not value[:4].isdigit():
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def is_echo(written: Any, read: Any) -> bool:
    """Whether ``read`` is what a system plausibly made of ``written`` by itself: a default
    filled in where nothing was written; the same text up to surrounding or repeated spaces and
    case; the same number to fewer decimals; the same time to whole minutes or seconds; the same
    list in another order. Anything else is somebody's edit."""
    if written == read:
        return True
    if is_empty(written):
        return not is_empty(read)
    if isinstance(written, str) and isinstance(read, str):
        w_time, r_time = _instant(written), _instant(read)
        if w_time is not None and r_time is not None:
            coarser = {w_time.replace(second=0, microsecond=0), w_time.replace(microsecond=0)}
            return r_time in coarser
        w_num, r_num = _decimal(written), _decimal(read)
        if w_num is not None and r_num is not None:
            return _rounded(w_num, r_num)
        return " ".join(written.split()).casefold() == " ".join(read.split()).casefold()
    if isinstance(written, int | float) and isinstance(read, int | float):
        w_num, r_num = _decimal(written), _decimal(read)
        return w_num is not None and r_num is not None and _rounded(w_num, r_num)
    if isinstance(written, list) and isinstance(read, list) and len(written) == len(read):
        return sorted(map(repr, written)) == sorted(map(repr, read))
    return False


def _rounded(written: Decimal, read: Decimal) -> bool:
    """``read`` is ``written`` rounded to the decimals ``read`` kept (none, for a whole number)."""
    exponent = read.normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        return False
    return abs(written - read) <= Decimal(1).scaleb(min(exponent, 0)) / 2


def read_back(
    rules: PairRules, link: LinkState, records: Iterable[Observed | None], *, defaults: bool = True
) -> Echo:
    """The link's echo once ``records`` were read: each side syncd wrote has its echo back, and
    the differences that are only that system's doing (``is_echo``) are held. ``defaults=False``:
    a value where syncd wrote none is not taken for a default (a record read in the archive
    values: no system files a record it was given into the archive by itself)."""
    awaiting = dict(link.echo.awaiting)
    held = {side: dict(values) for side, values in link.echo.held.items()}
    for rec in records:
        if rec is None or rec.side not in awaiting:
            continue
        wrote = awaiting.pop(rec.side)
        side_held = held.setdefault(rec.side, {})
        for rule in rules.fields:
            name = rule.name
            if name not in wrote or not rule.read_from(rec.side) or name not in rec.canonical:
                continue
            expected = link.echo.value(rec.side, name, link.canonical)
            value = rec.canonical[name]
            if is_empty(expected) and not (rule.defaulted and defaults):
                continue  # a system fills in enumerations, never free fields
            if value != expected and is_echo(expected, value):
                side_held[name] = value
    return Echo(awaiting, {side: values for side, values in held.items() if values})


def changed_fields(
    rules: PairRules, link: LinkState, rec: Observed | None, *, defaults: bool = True
) -> dict[str, Any]:
    """The fields ``rec`` changed since the last sync, by the values its side is expected to hold
    (what the system did to syncd's own write is not a change; ``defaults``: see ``read_back``)."""
    if rec is None or rec.hash == link.hash(rec.side):
        return {}
    echo = read_back(rules, link, (rec,), defaults=defaults)
    changed: dict[str, Any] = {}
    for rule in rules.fields:
        if not rule.read_from(rec.side) or rule.name not in rec.canonical:
            continue
        value = rec.canonical[rule.name]
        if value != echo.value(rec.side, rule.name, link.canonical):
            changed[rule.name] = value
    return changed


def settled(echo: Echo, base: Mapping[str, Any], merged: Mapping[str, Any]) -> Echo:
    """The echo after a merge: a field whose synced value changed is held by no side any more
    (one side has the new value, the other is written it), nor is one a side holds as synced."""
    held = {
        side: {
            name: value
            for name, value in values.items()
            if merged.get(name) == base.get(name) and value != merged.get(name)
        }
        for side, values in echo.held.items()
    }
    return Echo(echo.awaiting, {side: values for side, values in held.items() if values})
