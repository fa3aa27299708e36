"""The registry of named transforms a mapping file may use, and the transforms themselves.

Every transform is a pure function pair (``forward``: native → canonical, ``inverse``: canonical →
native) with typed parameters; nothing is evaluated from the file. The table in the README lists
them with their parameters; ``REGISTRY`` is the single source of that list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any, Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from mappings.context import MappingContext
from mappings.errors import MappingValueError, Problem, UnresolvedLinkError
from mappings.instants import (
    day_start,
    format_instant,
    local_to_utc,
    parse_canonical,
    parse_iso,
    parse_planfix_date,
    parse_planfix_time,
    snap,
    utc_to_local,
)
from mappings.paths import Kind, Slot
from mappings.sides import SIDE_TITLES, Direction, Side, reads_from
from mappings.text import html_to_text, multi_line, one_line, text_to_html, truncate
from mappings.transform_base import (
    SCALAR_KINDS,
    Params,
    Shape,
    Transform,
    describe,
    expect_single,
    is_empty,
    key_order,
    keys_in,
    scalar_in,
    scalar_out,
    scalar_out_ref,
    truthy,
)

JsonScalar = str | bool | int | float


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


# --------------------------------------------------------------------------------------- text


class TextParams(Params):
    max_length: PositiveInt | None = None
    multiline: bool = False


class Text(Transform[TextParams]):
    name = "text"
    summary = "trims and collapses whitespace; optional truncation"
    params_model = TextParams

    def _normal(self, value: Any) -> str:
        text = _as_text(value)
        normal = multi_line(text) if self.params.multiline else one_line(text)
        return truncate(normal, self.params.max_length, multiline=self.params.multiline)

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        return self._normal(values[0])

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        return (_as_text(canonical),)


class DefaultParams(Params):
    value: str = Field(min_length=1)

    @field_validator("value")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not one_line(value):
            raise ValueError("the default value must not be blank")
        return value


class Default(Transform[DefaultParams]):
    name = "default"
    summary = "like text, but an empty value reads as the given default"
    params_model = DefaultParams

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        return one_line(_as_text(values[0])) or one_line(self.params.value)

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        return (_as_text(canonical),)


class HtmlTextParams(Params):
    html_side: Side = "planfix"
    max_length: PositiveInt | None = None


class HtmlText(Transform[HtmlTextParams]):
    name = "html_text"
    summary = "HTML on one side ↔ plain text on the other; canonical is normalised plain text"
    params_model = HtmlTextParams

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        raw = _as_text(values[0])
        text = html_to_text(raw) if side == self.params.html_side else multi_line(raw)
        return truncate(text, self.params.max_length, multiline=True)

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        text = _as_text(canonical)
        return (text_to_html(text) if side == self.params.html_side else text,)


class Email(Transform[Params]):
    name = "email"
    summary = "trimmed e-mail address with the domain in lower case"

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        text = "".join(_as_text(values[0]).split())
        local, at, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}" if at else text

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        return (_as_text(canonical),)


class NameParams(Params):
    order: Literal["first_last", "last_first"] = "first_last"


class Name(Transform[NameParams]):
    name = "name"
    summary = "full name on one side ↔ first and last name on the other"
    params_model = NameParams

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        if 1 <= len(slots) <= 2 and all(s.kind in SCALAR_KINDS for s in slots):
            return None
        return (
            f"transform 'name' needs one path (the full name) or two paths (first name, last name)"
            f" on the {SIDE_TITLES[side]} side, got {describe(slots)}"
        )

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        parts = [one_line(_as_text(v)) for v in values]
        if len(parts) == 2 and self.params.order == "last_first":
            parts.reverse()
        return " ".join(p for p in parts if p)

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        full = one_line(_as_text(canonical))
        if len(self.shape.of(side)) == 1:
            return (full,)
        words = full.split(" ") if full else []
        if self.params.order == "first_last":
            first, last = (" ".join(words[:-1]), words[-1]) if len(words) > 1 else (full, "")
        else:
            last, first = (words[0], " ".join(words[1:])) if words else ("", "")
        return (first, last)


class PhoneParams(Params):
    type_id: str = "1"
    """Planfix phone type given to a number syncd adds to a contact that had none."""


class Phone(Transform[PhoneParams]):
    name = "phone"
    summary = "first phone number of a Planfix contact ↔ a phone string, spacing normalised"
    params_model = PhoneParams

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        return expect_single(self.name, side, slots, SCALAR_KINDS | {"phones"}, "phone (or phones list)")

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        value = values[0]
        if self.shape.of(side)[0].kind == "phones":
            numbers = [one_line(_as_text(p.get("number"))) for p in _dicts(value)]
            return next((n for n in numbers if n), "")
        return one_line(_as_text(value))

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        number = one_line(_as_text(canonical))
        if self.shape.of(side)[0].kind != "phones":
            return (number,)
        if not number:
            return ([],)
        phones = [dict(p) for p in _dicts(current[0])] if current else []
        for phone in phones:
            if one_line(_as_text(phone.get("number"))):
                phone["number"] = number
                return (phones,)
        return ([{"number": number, "typeId": self.params.type_id}, *phones],)


def _dicts(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list | tuple) else []


class CompanyParams(Params):
    company_type: str = "Company"
    individual_type: str = "Individual"


class Company(Transform[CompanyParams]):
    name = "company"
    summary = "company flag + company name ↔ customer type + company; canonical {is_company, company}"
    params_model = CompanyParams

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        if len(slots) == 2 and slots[0].kind in SCALAR_KINDS | {"bool"} and slots[1].kind in SCALAR_KINDS:
            return None
        return (
            f"transform 'company' needs two paths on the {SIDE_TITLES[side]} side: the company flag or"
            f" type (e.g. 'isCompany' or 'type') and the company name, got {describe(slots)}"
        )

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        flag, company = values
        if self.shape.of(side)[0].kind == "bool":
            is_company = truthy(flag)
        else:
            is_company = one_line(_as_text(flag)).casefold() == self.params.company_type.casefold()
        return {"company": one_line(_as_text(company)), "is_company": is_company}

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        value = canonical if isinstance(canonical, Mapping) else {}
        is_company = bool(value.get("is_company"))
        company = _as_text(value.get("company"))
        if self.shape.of(side)[0].kind == "bool":
            return (is_company, company)
        return (self.params.company_type if is_company else self.params.individual_type, company)


class ConstantParams(Params):
    value: JsonScalar


class Constant(Transform[ConstantParams]):
    name = "constant"
    summary = "always writes the given value (one way; reads nothing)"
    invertible = False
    params_model = ConstantParams

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        title = SIDE_TITLES[side]
        if direction != "both" and reads_from(direction, side):
            if slots:
                return f"transform 'constant' reads nothing: leave the {title} side empty ({side} = [])"
            return None
        if len(slots) == 1 and slots[0].kind in SCALAR_KINDS | {"bool", "ref"}:
            return None
        return f"transform 'constant' writes one path on the {title} side, got {describe(slots)}"

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        return self.params.value

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        slot = self.shape.of(side)[0]
        return (scalar_out(slot, _as_text(self.params.value)) if slot.kind == "ref" else self.params.value,)


# ---------------------------------------------------------------------------- value maps, lookups


def _stringify_keys(value: Any) -> Any:
    """TOML tables give string keys, but values may be numbers: both are keys here."""
    if isinstance(value, Mapping):
        return {str(k): (str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v)
                for k, v in value.items()}  # fmt: skip
    return value


def _not_one_to_one(table: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(value, first key, second key) of the first value two keys share, else None."""
    seen: dict[str, str] = {}
    for key, value in table.items():
        if value in seen:
            return value, seen[value], key
        seen[value] = key
    return None


def _injective_problem(name: str, table: Mapping[str, str], direction: Direction) -> list[Problem]:
    if not reads_from(direction, "planningpme"):
        return []
    clash = _not_one_to_one(table)
    if clash is None:
        return []
    value, first, second = clash
    return [
        Problem(
            ("params", "map" if name == "value_map" else "table"),
            f"is not one-to-one: {value!r} is the value of both {first!r} and {second!r}, so a"
            f" PlanningPME {value!r} cannot be read back; make the values unique, or set"
            " direction = 'to_planningpme'",
        )
    ]


class ValueMapParams(Params):
    map: dict[str, str] = Field(min_length=1)
    default: str | None = None

    _keys = field_validator("map", mode="before")(_stringify_keys)

    @model_validator(mode="after")
    def _default_is_mapped(self) -> ValueMapParams:
        if self.default is not None and self.default not in self.map:
            raise ValueError(f"default {self.default!r} must be one of the map's keys: {', '.join(self.map)}")
        return self


class ValueMap(Transform[ValueMapParams]):
    name = "value_map"
    summary = (
        "Planfix value ↔ PlanningPME value by a table (status ↔ category); canonical is the Planfix value"
    )
    params_model = ValueMapParams

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        return expect_single(self.name, side, slots, SCALAR_KINDS | {"ref", "bool"}, "value or reference")

    def check_params(self, direction: Direction) -> list[Problem]:
        return _injective_problem(self.name, self.params.map, direction)

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        key = scalar_in(self.shape.of(side)[0], values[0])
        if key is None:
            return None
        if side == "planfix":
            return key if key in self.params.map else self.params.default
        back = {v: k for k, v in reversed(self.params.map.items())}
        return back.get(key, self.params.default)

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        slot = self.shape.of(side)[0]
        key = None if canonical is None else _as_text(canonical)
        if side == "planningpme" and key is not None:
            key = self.params.map.get(key)
        return (scalar_out(slot, key),)


class LookupParams(Params):
    table: dict[str, str] = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    """Display labels written with PlanningPME references (PlanningPME key → label)."""

    _keys = field_validator("table", "labels", mode="before")(_stringify_keys)


class Lookup(Transform[LookupParams]):
    name = "lookup"
    summary = "Planfix ids ↔ PlanningPME keys by a table, for one reference or a list (sorted)"
    params_model = LookupParams

    def _is_list(self) -> bool:
        return self.shape.planfix[:1] != () and self.shape.planfix[0].kind == "refs"

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        if self._is_list():
            return expect_single(self.name, side, slots, frozenset({"refs"}), "list-of-references")
        return expect_single(self.name, side, slots, SCALAR_KINDS | {"ref"}, "reference or value")

    def check_params(self, direction: Direction) -> list[Problem]:
        found = _injective_problem(self.name, self.params.table, direction)
        targets = set(self.params.table.values())
        found.extend(
            Problem(("params", "labels", key), f"{key!r} is not a PlanningPME key of the table")
            for key in self.params.labels
            if key not in targets
        )
        return found

    def _read(self, side: Side, value: Any) -> list[str]:
        keys = keys_in(self.shape.of(side)[0], value)
        if side == "planfix":
            return [k for k in keys if k in self.params.table]
        back = {v: k for k, v in reversed(self.params.table.items())}
        return [back[k] for k in keys if k in back]

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        found = sorted(set(self._read(side, values[0])), key=key_order)
        if self._is_list():
            return found
        return found[0] if found else None

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        slot = self.shape.of(side)[0]
        ids = [
            _as_text(c) for c in (canonical if isinstance(canonical, list) else [canonical]) if c is not None
        ]
        keys = ids if side == "planfix" else [self.params.table[i] for i in ids if i in self.params.table]
        labels = self.params.labels if side == "planningpme" else {}
        if not self._is_list():
            return (scalar_out(slot, keys[0] if keys else None, labels.get(keys[0]) if keys else None),)
        refs = [scalar_out_ref(slot, k, labels.get(k)) for k in sorted(set(keys), key=key_order)]
        if current:
            mapped = set(self.params.table) if side == "planfix" else set(self.params.table.values())
            refs.extend(dict(r) for r in _dicts(current[0]) if (scalar_in(slot, r) or "") not in mapped)
        return (refs,)


class LinkParams(Params):
    planfix_entity: str = "contact"
    planningpme_entity: str = "customer"


class Link(Transform[LinkParams]):
    name = "link"
    summary = "a related record through the link table (task client ↔ event customers)"
    params_model = LinkParams
    PENDING = "planningpme:"

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        return expect_single(self.name, side, slots, SCALAR_KINDS | {"ref", "refs"}, "reference")

    def _keys(self, side: Side, value: Any) -> list[str]:
        return sorted(set(keys_in(self.shape.of(side)[0], value)), key=key_order)

    def related(self, side: Side, values: Sequence[Any]) -> list[tuple[str, str]]:
        entity = self.params.planfix_entity if side == "planfix" else self.params.planningpme_entity
        return [(entity, key) for key in self._keys(side, values[0])]

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        keys = self._keys(side, values[0])
        if not keys:
            return None
        if side == "planfix":
            return keys[0]
        linked = ctx.links.planfix_key(self.params.planningpme_entity, keys[0])
        return linked if linked is not None else f"{self.PENDING}{keys[0]}"

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        slot = self.shape.of(side)[0]
        value = None if is_empty(canonical) else _as_text(canonical)
        key: str | None = None
        if value is not None:
            pending = value.removeprefix(self.PENDING) if value.startswith(self.PENDING) else None
            if side == "planningpme":
                key = (
                    pending
                    if pending is not None
                    else ctx.links.planningpme_key(self.params.planfix_entity, value)
                )
            else:
                key = (
                    value
                    if pending is None
                    else ctx.links.planfix_key(self.params.planningpme_entity, pending)
                )
            if key is None:
                entity = self.params.planningpme_entity if pending is not None else self.params.planfix_entity
                raise UnresolvedLinkError(
                    f"{entity} {pending or value} has no counterpart on the {SIDE_TITLES[side]} side yet"
                )
        return (scalar_out(slot, key),)


# ---------------------------------------------------------------------------------- date-times


class DateTimeParams(Params):
    date_only: Literal["midnight", "all_day"] = "midnight"
    """How a day without a time is kept: as 00:00 local time, or as a date (all-day)."""


_PF_PAIR: tuple[Kind, Kind] = ("date", "time")


class DateTime(Transform[DateTimeParams]):
    name = "datetime"
    summary = "naive local date-times in each account's zone ↔ canonical UTC (or a date for all-day)"
    params_model = DateTimeParams

    def _form(self, side: Side) -> Literal["pair", "iso", "iso_flag"]:
        kinds = tuple(s.kind for s in self.shape.of(side))
        if kinds == _PF_PAIR:
            return "pair"
        return "iso_flag" if len(kinds) == 2 else "iso"

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        kinds = tuple(s.kind for s in slots)
        iso: set[Kind] = {"datetime", "text", "any"}
        if kinds == _PF_PAIR or (len(kinds) == 1 and kinds[0] in iso):
            return None
        if len(kinds) == 2 and kinds[0] in iso and kinds[1] == "bool":
            if self.params.date_only != "all_day":
                return (
                    f"the all-day flag {slots[1].path!r} is only used with date_only = 'all_day'"
                    f" (on the {SIDE_TITLES[side]} side)"
                )
            return None
        return (
            f"transform 'datetime' needs, on the {SIDE_TITLES[side]} side, a date and a time path"
            " (e.g. ['startDate', 'startTime']), one ISO date-time path (e.g. 'start'), or an ISO"
            f" path and an all-day flag (e.g. ['start', 'allDay']); got {describe(slots)}"
        )

    def flag_positions(self, side: Side) -> frozenset[int]:
        return frozenset({1}) if self._form(side) == "iso_flag" else frozenset()

    def _day(self, day: date, zone: Any, ctx: MappingContext) -> str:
        if self.params.date_only == "all_day":
            return day.isoformat()
        return self._instant(day_start(day), zone, ctx)

    def _instant(self, local: datetime, zone: Any, ctx: MappingContext) -> str:
        instant = local_to_utc(local, zone) if local.tzinfo is None else local
        return format_instant(snap(instant, (ctx.planfix_zone, ctx.planningpme_zone)))

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        zone = ctx.zone(side)
        form = self._form(side)
        if form == "pair":
            raw_date, raw_time = values
            if is_empty(raw_date):
                return None
            day, time_in_date = parse_planfix_date(_as_text(raw_date))
            clock = parse_planfix_time(_as_text(raw_time)) if not is_empty(raw_time) else None
            clock = clock or time_in_date
            return (
                self._day(day, zone, ctx)
                if clock is None
                else self._instant(datetime.combine(day, clock), zone, ctx)
            )
        raw = values[0]
        if is_empty(raw):
            return None
        parsed = parse_iso(_as_text(raw))
        if not isinstance(parsed, datetime):
            return self._day(parsed, zone, ctx)
        all_day = form == "iso_flag" and truthy(values[1])
        if all_day and parsed.tzinfo is None and parsed.replace(second=0, microsecond=0).time() == time():
            return self._day(parsed.date(), zone, ctx)
        return self._instant(parsed, zone, ctx)

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        form = self._form(side)
        value = parse_canonical(canonical)
        if value is None:
            return (None, None) if form != "iso" else (None,)
        if not isinstance(value, datetime):
            if form == "pair":
                return (value.strftime("%d-%m-%Y"), None)
            if form == "iso_flag":
                return (day_start(value).strftime("%Y-%m-%dT%H:%M:%S"), True)
            if self.params.date_only == "all_day":
                return (value.isoformat(),)
            value = local_to_utc(day_start(value), ctx.zone(side))
        local = utc_to_local(value, ctx.zone(side))
        if form == "pair":
            return (local.strftime("%d-%m-%Y"), local.strftime("%H:%M"))
        iso = local.strftime("%Y-%m-%dT%H:%M:%S")
        return (iso, False) if form == "iso_flag" else (iso,)


# ------------------------------------------------------------------------------------ registry

REGISTRY: Mapping[str, type[Transform[Any]]] = MappingProxyType(
    {
        t.name: t
        for t in (
            Text,
            HtmlText,
            DateTime,
            ValueMap,
            Lookup,
            Link,
            Name,
            Email,
            Phone,
            Company,
            Constant,
            Default,
        )
    }
)
"""Every transform a mapping file may name, by name."""


def transform_names() -> list[str]:
    return sorted(REGISTRY)


__all__ = [
    "REGISTRY",
    "MappingValueError",
    "Shape",
    "Transform",
    "transform_names",
]
