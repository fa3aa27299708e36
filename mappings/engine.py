"""The Mapper: native record → canonical dict of mapped fields → native (partial) payload.

Canonical values are JSON-able and normalised so that values equal in meaning compare equal
(whitespace, time zones, order of unordered lists); ``canonical_hash`` of them is what tells the
sync engine whether a record changed since it last saw it — and, because our own writes come
back with the same hash, what stops echoes. Payloads hold exactly the fields asked for, nested
the way the connectors send them, so a field the mapping does not name is never touched.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from mappings.binding import BoundField, bind_field
from mappings.context import LinkResolver, MappingContext, NoLinks, StaticLinks
from mappings.errors import MappingValueError, UnresolvedLinkError
from mappings.filters import Condition
from mappings.paths import Slot, resolve
from mappings.sides import SIDES, Side
from mappings.spec import FieldSpec, MappingSpec
from mappings.text import one_line
from mappings.transform_base import Transform, scalar_in, scalar_out
from mappings.validate import entities

__all__ = [
    "LinkResolver",
    "Mapper",
    "MappingContext",
    "MappingValueError",
    "NoLinks",
    "StaticLinks",
    "UnresolvedLinkError",
    "canonical_hash",
]


def canonical_json(canonical: Any) -> str:
    """The one serialisation of canonical values: sorted keys, no spaces, UTF-8 text as is."""
    return json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical_hash(canonical: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON: the same in every process and on every machine."""
    return hashlib.sha256(canonical_json(canonical).encode("utf-8")).hexdigest()


class Mapper:
    """Applies one validated mapping; pure apart from asking ``ctx.links`` about related records."""

    def __init__(self, spec: MappingSpec, ctx: MappingContext) -> None:
        self.spec = spec
        self.ctx = ctx
        ents = entities(spec)
        fields: dict[str, BoundField] = {}
        for field in spec.fields:
            bound, problems = bind_field(field, ents)
            if bound is None:  # only reachable with a spec built around the validators
                raise ValueError(f"mapping {spec.name!r}: field {field.name!r}: {problems[0].message}")
            fields[field.name] = bound
        self._fields = fields
        self._relating: dict[Side, tuple[BoundField, ...]] = {
            side: tuple(
                f
                for f in fields.values()
                if f.reads(side) and type(f.transform).related is not Transform.related
            )
            for side in SIDES
        }
        """The fields whose transform can refer to other records (``related``), per side: asked
        for every record of a full scan, so the others are not even read."""
        self._markers: dict[Side, Slot] = {
            "planfix": resolve(ents["planfix"], spec.planfix_marker),
            "planningpme": resolve(ents["planningpme"], spec.planningpme_marker),
        }
        self._filters: dict[Side, tuple[Condition, ...]] = {
            "planfix": tuple(Condition.build(ents["planfix"], f) for f in spec.filters.planfix),
            "planningpme": tuple(Condition.build(ents["planningpme"], f) for f in spec.filters.planningpme),
        }
        self._archive: dict[Side, tuple[tuple[Slot, str], ...]] = {
            side: tuple(
                (resolve(ents[side], path), _archive_text(value))
                for path, value in (
                    spec.planfix_archive if side == "planfix" else spec.planningpme_archive
                ).items()
            )
            for side in SIDES
        }

    # ------------------------------------------------------------------------------ fields

    def field(self, name: str) -> FieldSpec:
        """The field's spec, with ``conflict`` resolved to the file default when it has none."""
        spec = self._bound(name).spec
        return spec if spec.conflict is not None else spec.model_copy(update={"conflict": self.spec.conflict})

    def fields_read_from(self, side: Side) -> list[str]:
        return [name for name, f in self._fields.items() if f.reads(side)]

    def fields_written_to(self, side: Side) -> list[str]:
        return [name for name, f in self._fields.items() if f.writes(side)]

    def _bound(self, name: str) -> BoundField:
        try:
            return self._fields[name]
        except KeyError:
            raise KeyError(f"mapping {self.spec.name!r} has no field {name!r}") from None

    # ------------------------------------------------------------------- records ↔ canonical

    def canonical(self, side: Side, record: Mapping[str, Any]) -> dict[str, Any]:
        """Canonical values of every field read from ``side``. A value that cannot be mapped
        raises ``MappingValueError`` naming the field (that record only is affected)."""
        return {name: f.read(side, record, self.ctx) for name, f in self._fields.items() if f.reads(side)}

    def needs_current(self, side: Side, fields: Iterable[str]) -> bool:
        """Whether writing ``fields`` to ``side`` keeps part of the record as it is now (see
        ``payload``): the writer must then read the record first if it has no copy."""
        return any(
            (bound := self._bound(name)).writes(side) and bound.transform.keeps_current(side)
            for name in fields
        )

    def payload(
        self,
        side: Side,
        canonical: Mapping[str, Any],
        fields: Iterable[str],
        current: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A native partial record for ``side`` setting exactly ``fields`` to their canonical
        values. Fields that are not written to ``side`` are left out. ``current`` (the record as
        it is now, when known) lets a partly mapped value keep its unmapped part: the other
        phone numbers of a contact, the workers a lookup table does not know."""
        out: dict[str, Any] = {}
        flags: dict[str, Slot] = {}
        for name in dict.fromkeys(fields):
            bound = self._bound(name)
            if not bound.writes(side):
                continue
            if name not in canonical:
                raise KeyError(f"no canonical value for field {name!r}")
            values = bound.write(side, canonical[name], self.ctx, current)
            shared = bound.transform.flag_positions(side)
            for position, (slot, value) in enumerate(zip(bound.shape.of(side), values, strict=True)):
                if position in shared:
                    flags[slot.path] = slot
                else:
                    slot.put(out, value)
        for slot in flags.values():
            value = self._shared_flag(side, slot, canonical, current)
            if value is not None:
                slot.put(out, value)
        return out

    def _shared_flag(
        self, side: Side, slot: Slot, canonical: Mapping[str, Any], current: Mapping[str, Any] | None
    ) -> bool | None:
        """A flag several fields set (``allDay`` from start and end): true if any of them wants
        it, so that a date-only end is kept when only the start changes."""
        wanted: list[Any] = []
        for name, bound in self._fields.items():
            if not bound.writes(side) or name not in canonical:
                continue
            shared = bound.transform.flag_positions(side)
            paths = [s.path for s in bound.shape.of(side)]
            for position in shared:
                if paths[position] == slot.path:
                    wanted.append(bound.write(side, canonical[name], self.ctx, current)[position])
        if any(v is True for v in wanted):
            return True
        return False if any(v is False for v in wanted) else None

    # -------------------------------------------------------------------------------- markers

    def marker(self, side: Side, record: Mapping[str, Any]) -> str | None:
        """The other system's key stored on this record, if any."""
        value = self._markers[side].get(record)
        text = one_line(str(value)) if value is not None else ""
        return text or None

    def marker_payload(self, side: Side, other_key: str | None) -> dict[str, Any]:
        """A partial record that stores ``other_key`` in the marker field (None clears it)."""
        out: dict[str, Any] = {}
        self._markers[side].put(out, other_key if other_key is not None else "")
        return out

    # ----------------------------------------------------------------- scope, matching, links

    def included(self, side: Side, record: Mapping[str, Any]) -> bool:
        """Whether the record passes every filter of its side."""
        return all(condition.holds(record) for condition in self._filters[side])

    def match_key(self, side: Side, record: Mapping[str, Any]) -> str | None:
        """The record's match keys, normalised for comparison (case and spacing ignored) and
        joined; None when there are none or any of them is empty."""
        if not self.spec.match_keys:
            return None
        parts: list[Any] = []
        for name in self.spec.match_keys:
            value = _match_part(self._bound(name).read(side, record, self.ctx))
            if value is None:
                return None
            parts.append(value)
        return canonical_json(parts)

    def related(self, side: Side, record: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(entity, key) of the records this one refers to — a task's client contact — so the
        engine can link those first."""
        found: dict[tuple[str, str], None] = {}
        for bound in self._relating[side]:
            for item in bound.transform.related(side, bound.values(side, record)):
                found[item] = None
        return list(found)

    # -------------------------------------------------------------------------------- archive

    def archive_payload(self, side: Side) -> dict[str, Any]:
        """The partial record that archives a record of ``side`` (empty: the side has none)."""
        out: dict[str, Any] = {}
        for slot, value in self._archive[side]:
            slot.put(out, scalar_out(slot, value))
        return out

    def is_archived(self, side: Side, record: Mapping[str, Any]) -> bool:
        """Whether the record holds the archive values (a canceled task): it counts as deleted."""
        archive = self._archive[side]
        return bool(archive) and all(scalar_in(slot, slot.get(record)) == value for slot, value in archive)


def _archive_text(value: str | bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _match_part(value: Any) -> Any:
    if value is None or value in ("", []):
        return None
    if isinstance(value, str):
        return one_line(value).casefold() or None
    if isinstance(value, list):
        return sorted((_match_part(v) for v in value), key=canonical_json)
    return value
