"""What a report shows a person: a record's name beside its keys, and canonical values in words.

Canonical values are built for comparing, not reading: ``{"company": "ACME SL", "is_company": true}``,
``["1", "3"]``, ``2026-12-02T09:00:00Z``. A person reads ``ACME SL (company)``, ``Иван Петров, Олег
Смирнов``, ``Wed 2 Dec 2026 10:00``. How a value reads depends on its field's transform, which the
mapping knows and the report does not, so the cycle hands the report a ``Readable`` of its pair
(built here, outside the planner, which stays pure). Every function is pure; the report escapes
and masks what they return, like any other remote text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from mappings.errors import MappingValueError
from mappings.instants import parse_canonical
from mappings.text import one_line
from mappings.transform_base import truthy
from syncd.engine.pairs import Pair
from syncd.engine.planner import SIDES, Observed, Operation, Plan, Side
from syncd.logs import redact

EMPTY = "—"
"""An empty value (none, blank, an empty list): one sign, whatever the type."""
VALUE_WIDTH = 60
LABEL_WIDTH = 80

_TITLE_FIELDS = ("title", "label", "subject", "name", "full_name")
"""Canonical fields that name a record on their own (a task's title, an event's label)."""
_PERSON_FIELDS = ("first_name", "last_name")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class FieldStyle:
    """How one canonical field reads: its transform, and names for the references it holds."""

    transform: str = "text"
    names: Mapping[str, str] = field(default_factory=dict)
    """Canonical reference → display name (a lookup's Planfix user id → the resource's label)."""
    entities: tuple[str, str] = ("planfix", "planningpme")
    """What a ``link`` refers to on each side (``contact``, ``customer``), to name its key."""


@dataclass(frozen=True)
class Readable:
    """A pair's fields, its display time zone, and the values of the records its plan names.

    The default (no fields known) still reads values by their shape, so a report of a result
    built without a pair (a test, an older caller) is readable too.
    """

    fields: Mapping[str, FieldStyle] = field(default_factory=dict)
    zone: ZoneInfo | None = None
    """Where date-times are shown; None shows them in UTC."""
    records: Mapping[tuple[Side, str], Mapping[str, Any]] = field(default_factory=dict)
    """(side, key) → the canonical values that side holds now, for the records the plan names.
    Names are made from them only when a report is rendered: most cycles are never reported."""

    @property
    def zone_name(self) -> str:
        return self.zone.key if self.zone is not None else "UTC"

    def value(self, name: str, value: Any) -> str:
        return show(value, self.fields.get(name), self.zone)

    def label(self, op: Operation) -> str | None:
        """The name of the record ``op`` is about: the values it carries first (they are the
        newest: a create's source, an update's merge, a deletion's last synced values), else what
        either side holds now (an unlink, a deferred or reported record)."""
        found = record_label(op.canonical, self.fields)
        for side in SIDES:
            key = op.key(side)
            held = self.records.get((side, key)) if found is None and key is not None else None
            if held is not None:
                found = record_label(held, self.fields)
        return found


def _text(value: Any) -> str:
    return one_line(value) if isinstance(value, str) else ""


def _shorten(text: str, width: int) -> str:
    """``text`` masked, then cut to ``width`` (cut first, what is left of a secret would not match it)."""
    text = redact(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | Mapping) and not value)


def record_label(canonical: Mapping[str, Any], fields: Mapping[str, FieldStyle] | None = None) -> str | None:
    """A record's name from its canonical values: a company's name, else a title, else the
    person's name, else the e-mail address; None when it has none of them."""
    styles = fields or {}

    def kind(name: str) -> str | None:
        style = styles.get(name)
        return style.transform if style is not None else None

    company: Mapping[str, Any] = next(
        (
            v
            for k, v in canonical.items()
            if isinstance(v, Mapping) and (kind(k) == "company" or "is_company" in v)
        ),
        {},
    )
    company_name = _text(company.get("company"))
    found = company_name if company_name and truthy(company.get("is_company")) else ""
    found = found or next((t for name in _TITLE_FIELDS if (t := _text(canonical.get(name)))), "")
    found = found or " ".join(t for name in _PERSON_FIELDS if (t := _text(canonical.get(name))))
    found = found or next((t for k, v in canonical.items() if kind(k) == "name" and (t := _text(v))), "")
    found = found or company_name
    found = found or next(
        (t for k, v in canonical.items() if (kind(k) == "email" or k == "email") and (t := _text(v))), ""
    )
    return _shorten(found, LABEL_WIDTH) if found else None


def show(value: Any, style: FieldStyle | None = None, zone: ZoneInfo | None = None) -> str:
    """One canonical value as a person reads it, by its field's transform (or its shape)."""
    if _is_empty(value):
        return EMPTY
    kind = style.transform if style is not None else None
    if isinstance(value, Mapping) and (kind == "company" or "is_company" in value):
        name = _text(value.get("company"))
        role = "(company)" if truthy(value.get("is_company")) else "(person)"
        return _shorten(f"{name} {role}" if name else role, VALUE_WIDTH)
    if isinstance(value, list | tuple):
        return _shorten(", ".join(_one(v, style, zone) for v in value), VALUE_WIDTH)
    return _shorten(_one(value, style, zone), VALUE_WIDTH)


def _one(value: Any, style: FieldStyle | None, zone: ZoneInfo | None) -> str:
    kind = style.transform if style is not None else None
    if value is None:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    text = str(value)
    if style is not None and text in style.names:
        return style.names[text]
    if kind == "link" and style is not None and not any(c.isspace() for c in text):
        # A dry run names a record it would create in words (``syncd.engine.foresight``): shown as it is.
        pending, _, key = text.partition(":")
        planfix, planningpme = style.entities
        return (
            f"{planningpme} {key} (not linked yet)"
            if key and pending == "planningpme"
            else f"{planfix} {text}"
        )
    if kind == "datetime" or (kind is None and _looks_canonical_time(text)):
        return _when(text, zone)
    # A value is shown on one line: a description's line breaks read as a sign, not as ``\x0a``.
    return " ↵ ".join(text.splitlines()) if "\n" in text or "\r" in text else text


def _looks_canonical_time(text: str) -> bool:
    return len(text) == 20 and text[4] == "-" and text[10] == "T" and text.endswith("Z")


def _when(text: str, zone: ZoneInfo | None) -> str:
    """``2026-12-02T09:00:00Z`` as ``Wed 2 Dec 2026 10:00`` in ``zone``; an all-day date without
    a time. Month and day names are fixed English, not the machine's locale: a report reads the
    same wherever it was made."""
    try:
        parsed = parse_canonical(text)
    except (MappingValueError, ValueError):
        return text
    if parsed is None:
        return EMPTY
    if isinstance(parsed, datetime):
        local = parsed.astimezone(zone or UTC)
        return f"{show_day(local.date())} {local:%H:%M}"
    return f"{show_day(parsed)} (all day)"


def show_day(day: date) -> str:
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def readable_of(pair: Pair, observed: Mapping[Side, Mapping[str, Observed]], the_plan: Plan) -> Readable:
    """The ``Readable`` of one cycle: its pair's fields, the Planfix account's zone (the one an
    admin of it thinks in), and the values of the records the plan names as each side holds them."""
    fields: dict[str, FieldStyle] = {}
    for spec in pair.mapper.spec.fields:
        names: dict[str, str] = {}
        if spec.transform == "lookup":
            table = {str(k): str(v) for k, v in spec.params.get("table", {}).items()}
            labels = {str(k): str(v) for k, v in spec.params.get("labels", {}).items()}
            names = {pf: labels[pme] for pf, pme in table.items() if pme in labels}
        entities = (
            str(spec.params.get("planfix_entity", "contact")),
            str(spec.params.get("planningpme_entity", "customer")),
        )
        fields[spec.name] = FieldStyle(spec.transform, names, entities)
    records = {
        (side, key): obs.canonical
        for side, key in _keys(the_plan.operations)
        if (obs := observed.get(side, {}).get(key)) is not None
    }
    return Readable(fields, pair.mapper.ctx.planfix_zone, records)


def _keys(ops: Iterable[Operation]) -> set[tuple[Side, str]]:
    found: set[tuple[Side, str]] = set()
    for op in ops:
        if op.planfix_key is not None:
            found.add(("planfix", op.planfix_key))
        if op.planningpme_key is not None:
            found.add(("planningpme", op.planningpme_key))
    return found
