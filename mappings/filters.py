"""Whether a native record takes part in a mapping, by the file's ``[[filters.<side>]]``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from mappings.errors import MappingValueError
from mappings.instants import parse_iso, parse_planfix_date
from mappings.paths import Entity, Slot, resolve
from mappings.transform_base import keys_in

if TYPE_CHECKING:
    from mappings.spec import FilterSpec


@dataclass(frozen=True)
class Condition:
    """One resolved filter: all conditions of a side must hold."""

    slot: Slot
    spec: FilterSpec

    @classmethod
    def build(cls, entity: Entity, spec: FilterSpec) -> Condition:
        return cls(resolve(entity, spec.path), spec)

    def holds(self, record: Mapping[str, Any]) -> bool:
        value = self.slot.get(record)
        if self.spec.in_ is not None:
            return bool(set(keys_in(self.slot, value)) & set(self.spec.in_))
        if self.spec.not_in is not None:
            return not set(keys_in(self.slot, value)) & set(self.spec.not_in)
        moment = _local_moment(self.slot, value)
        if moment is None:
            return False
        since, until = self.spec.since, self.spec.until
        return (since is None or moment >= datetime.fromisoformat(since)) and (
            until is None or moment < datetime.fromisoformat(until)
        )


def _local_moment(slot: Slot, value: Any) -> datetime | None:
    """The record's own local date-time at the path (a date counts as its midnight)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        if slot.kind == "date":
            day, clock = parse_planfix_date(value)
            return datetime.combine(day, clock) if clock else datetime.combine(day, datetime.min.time())
        parsed = parse_iso(value)
    except MappingValueError:
        return None
    if isinstance(parsed, datetime):
        return parsed.replace(tzinfo=None)
    assert isinstance(parsed, date)
    return datetime.combine(parsed, datetime.min.time())
