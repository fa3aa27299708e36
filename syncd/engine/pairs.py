"""An entity pair at run time: its mapping, its two connectors, and the planner's rules for it.

The mapping file is the admin's language; ``PairRules`` is the planner's. Keeping the translation
here means the planner never depends on the mapping package's models.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mappings.engine import Mapper, canonical_hash
from syncd.connectors.base import Connector, RemoteRecord, check_key
from syncd.engine.planner import SIDES, FieldRule, Observed, PairRules, Side, other
from syncd.errors import RecordError

DEFAULTED_TRANSFORMS = frozenset({"value_map"})
"""Transforms of enumerations (a status, a category): a system may fill those in by itself when a
record is written without one, so an empty value written may read back set (``planner.Echo``)."""


@dataclass(frozen=True)
class Pair:
    """One entity pair, e.g. ``tasks``: Planfix tasks ↔ PlanningPME planned events."""

    name: str
    mapper: Mapper
    connectors: Mapping[Side, Connector]

    @property
    def rules(self) -> PairRules:
        spec = self.mapper.spec
        fields = tuple(
            FieldRule(
                f.name,
                f.direction,
                self.mapper.field(f.name).conflict or spec.conflict,
                defaulted=f.transform in DEFAULTED_TRANSFORMS,
            )
            for f in spec.fields
        )
        return PairRules(
            pair=self.name,
            fields=fields,
            on_delete={"planfix": spec.on_planfix_delete, "planningpme": spec.on_planningpme_delete},
            newest_fallback=spec.newest_fallback,
        )

    def side_hash(self, side: Side, canonical: Mapping[str, Any]) -> str:
        """The hash this side's record will have once it holds ``canonical``'s values."""
        read = set(self.mapper.fields_read_from(side))
        return canonical_hash({k: v for k, v in canonical.items() if k in read})

    def marker(self, side: Side, record: RemoteRecord) -> str | None:
        """The other system's key stored on this record, checked to look like one of its keys.

        A marker is a field anyone can edit, and it names the record the next request reads or
        writes, so ``..``, ``a/b`` or ``12 34`` raise RecordError naming the record and the marker.
        """
        value = self.mapper.marker(side, record.data)
        if value is None:
            return None
        spec = self.mapper.spec
        where = spec.planfix_marker if side == "planfix" else spec.planningpme_marker
        return check_key(other(side), value, what=f"{side} record {record.key}: its marker {where}")

    def usable_marker(self, side: Side, record: RemoteRecord) -> str | None:
        """``marker``, or None when it is not a key (``observe`` then reports the record as failed)."""
        try:
            return self.marker(side, record)
        except RecordError:
            return None

    def observe(self, side: Side, record: RemoteRecord, unresolved: tuple[str, ...] = ()) -> Observed:
        """The record as the planner sees it; RecordError when its marker is not a key."""
        marker = self.marker(side, record)
        canonical = self.mapper.canonical(side, record.data)
        return Observed(
            side=side,
            key=record.key,
            canonical=canonical,
            hash=canonical_hash(canonical),
            marker=marker,
            match_key=self.mapper.match_key(side, record.data),
            modified=record.modified,
            included=self.mapper.included(side, record.data),
            unresolved=unresolved,
            native=record.data,
        )


__all__ = ["SIDES", "Pair"]
