"""Transforms between keys of the two systems: value maps, lookup tables, linked records.

Canonical values are always on the Planfix side (a status id, user ids, a contact id), so both
sides of a linked pair read the same canonical value; a table that must be read backwards has to
be one-to-one, and the loader says so when it is not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, field_validator, model_validator

from mappings.context import MappingContext
from mappings.errors import Problem, UnresolvedLinkError
from mappings.paths import Slot
from mappings.sides import SIDE_TITLES, Direction, Side, reads_from
from mappings.transform_base import (
    SCALAR_KINDS,
    Params,
    Transform,
    as_text,
    dicts,
    expect_single,
    is_empty,
    key_order,
    keys_in,
    scalar_in,
    scalar_out,
    scalar_out_ref,
)


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
        key = None if canonical is None else as_text(canonical)
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

    def keeps_current(self, side: Side) -> bool:
        return self._is_list()  # references the table does not name are kept

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
            as_text(c) for c in (canonical if isinstance(canonical, list) else [canonical]) if c is not None
        ]
        keys = ids if side == "planfix" else [self.params.table[i] for i in ids if i in self.params.table]
        labels = self.params.labels if side == "planningpme" else {}
        if not self._is_list():
            return (scalar_out(slot, keys[0] if keys else None, labels.get(keys[0]) if keys else None),)
        refs = [scalar_out_ref(slot, k, labels.get(k)) for k in sorted(set(keys), key=key_order)]
        if current:
            mapped = set(self.params.table) if side == "planfix" else set(self.params.table.values())
            refs.extend(dict(r) for r in dicts(current[0]) if (scalar_in(slot, r) or "") not in mapped)
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
        value = None if is_empty(canonical) else as_text(canonical)
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
