"""The peer a script would be: a stateless "read everything, write everything that differs" sync.

It uses syncd's connectors and the same mapping (so values are compared exactly as syncd compares
them, after normalisation), but keeps no state: every run reads both systems completely, pairs
records by their markers, and where the mapped values differ it cannot know which side changed,
so the mapping's conflict rule picks the winner (``newest``, falling back to Planfix: PlanningPME
records carry no modification time). Records without a counterpart are created with a marker.
It never deletes (without state, a record missing on one side could as well be new on the other).

This is a baseline for request counts and echo writes, not something to run: it loses edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mappings.engine import Mapper, MappingContext
from syncd.connectors.base import Connector, RemoteRecord
from syncd.engine.pairs import Pair
from syncd.engine.planner import SIDES, Side, other


class MarkerLinks:
    """Related records (a task's client) resolved through the markers of the pairs run before."""

    def __init__(self) -> None:
        self.to_pme: dict[tuple[str, str], str] = {}
        self.to_pf: dict[tuple[str, str], str] = {}

    def planningpme_key(self, entity: str, planfix_key: str) -> str | None:
        return self.to_pme.get((entity, planfix_key))

    def planfix_key(self, entity: str, planningpme_key: str) -> str | None:
        return self.to_pf.get((entity, planningpme_key))

    def learn(self, planfix_entity: str, planningpme_entity: str, pairs: Mapping[str, str]) -> None:
        self.to_pme.update({(planfix_entity, pf): pme for pf, pme in pairs.items()})
        self.to_pf.update({(planningpme_entity, pme): pf for pf, pme in pairs.items()})


@dataclass
class NaiveRun:
    writes: int = 0
    creates: int = 0


class NaiveSync:
    """One stateless pass over one entity pair (see the module docstring)."""

    def __init__(self, pair: Pair, links: MarkerLinks) -> None:
        self.links = links
        self.mapper = Mapper(
            pair.mapper.spec,
            MappingContext(pair.mapper.ctx.planfix_zone, pair.mapper.ctx.planningpme_zone, links),
        )
        self.connectors: Mapping[Side, Connector] = pair.connectors
        self.rules = pair.rules

    def run(self) -> NaiveRun:
        records = {
            side: {r.key: r for r in self.connectors[side].list_changed(None, full=True).records}
            for side in SIDES
        }
        paired = self._pair(records)
        spec = self.mapper.spec
        self.links.learn(spec.planfix_entity, spec.planningpme_entity, paired)
        result = NaiveRun()
        for pf_key, pme_key in sorted(paired.items()):
            pf, pme = records["planfix"][pf_key], records["planningpme"][pme_key]
            if not (
                self.mapper.included("planfix", pf.data) and self.mapper.included("planningpme", pme.data)
            ):
                continue
            result.writes += self._converge(pf, pme)
        taken = {"planfix": set(paired), "planningpme": set(paired.values())}
        for side in SIDES:
            for key, rec in sorted(records[side].items()):
                if key in taken[side] or not self.mapper.included(side, rec.data):
                    continue
                if self.mapper.is_archived(side, rec.data):
                    continue
                target = other(side)
                canonical = self.mapper.canonical(side, rec.data)
                payload = self.mapper.payload(target, canonical, self.mapper.fields_written_to(target))
                self.connectors[target].create(payload, key)
                result.creates += 1
        return result

    def _pair(self, records: Mapping[Side, Mapping[str, RemoteRecord]]) -> dict[str, str]:
        """Planfix key → PlanningPME key, from the marker on either record."""
        paired: dict[str, str] = {}
        for key, rec in records["planfix"].items():
            marker = self.mapper.marker("planfix", rec.data)
            if marker and marker in records["planningpme"]:
                paired[key] = marker
        taken = set(paired.values())
        for key, rec in records["planningpme"].items():
            marker = self.mapper.marker("planningpme", rec.data)
            if key not in taken and marker and marker in records["planfix"] and marker not in paired:
                paired[marker] = key
        return paired

    def _converge(self, pf: RemoteRecord, pme: RemoteRecord) -> int:
        """Write each side the fields where it lost; returns the number of writes sent."""
        values = {
            "planfix": self.mapper.canonical("planfix", pf.data),
            "planningpme": self.mapper.canonical("planningpme", pme.data),
        }
        merged: dict[str, Any] = {}
        lost: dict[Side, list[str]] = {"planfix": [], "planningpme": []}
        for rule in self.rules.fields:
            v_pf, v_pme = values["planfix"].get(rule.name), values["planningpme"].get(rule.name)
            if v_pf == v_pme:
                merged[rule.name] = v_pf
                continue
            winner = self._winner(rule.conflict, pf, pme)
            merged[rule.name] = values[winner].get(rule.name)
            if rule.written_to(other(winner)):
                lost[other(winner)].append(rule.name)
        writes = 0
        current: dict[Side, RemoteRecord] = {"planfix": pf, "planningpme": pme}
        for target, rec in current.items():
            if lost[target]:
                payload = self.mapper.payload(target, merged, lost[target], current=rec.data)
                self.connectors[target].update(rec.key, payload)
                writes += 1
        return writes

    def _winner(self, policy: str, pf: RemoteRecord, pme: RemoteRecord) -> Side:
        if policy in SIDES:
            return "planfix" if policy == "planfix" else "planningpme"
        if pf.modified is not None and pme.modified is not None and pf.modified != pme.modified:
            return "planfix" if pf.modified > pme.modified else "planningpme"
        return self.rules.newest_fallback
