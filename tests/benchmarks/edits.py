"""Edits "people" make between cycles: k linked records changed on each side, and a check that
every edit reached the other system afterwards (an edit that did not is a lost edit).

Only records that take part and are not archived are edited (editing a canceled task would be a
delete, not a change). Successive rounds edit different records, as people do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncd.engine.planner import Side
from tests.benchmarks.world import World

# (Planfix native field, PlanningPME native field) edited per pair; both mapped both ways.
EDITED = {"tasks": ("title", "label"), "contacts": ("lastName", "lastName")}
KINDS = {"tasks": ("tasks", "events"), "contacts": ("contacts", "customers")}
ENTITIES = {"tasks": ("task", "event"), "contacts": ("contact", "customer")}


@dataclass(frozen=True)
class Edit:
    pair: str
    side: Side
    key: str
    other_key: str
    value: str


class People:
    """Makes the edits through the systems' own APIs (a second set of connectors)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._next: dict[str, int] = {}
        self._serial = 0

    def _editable(self, pair: str) -> list[tuple[str, str]]:
        tasks = self.world.records("tasks") if pair == "tasks" else []
        archived = {str(t["id"]) for t in tasks if str(t.get("status")) == "4"}
        return [(pf, pme) for pf, pme in sorted(self.world.links(pair)) if pf not in archived]

    def edit(self, pair: str, k: int) -> list[Edit]:
        """Change ``k`` linked records on each side (2k records, none of them on both sides)."""
        if k == 0:
            return []
        links = self._editable(pair)
        start = self._next.get(pair, 0)
        chosen = [links[(start + i) % len(links)] for i in range(2 * k)]
        self._next[pair] = (start + 2 * k) % len(links)
        pf_field, pme_field = EDITED[pair]
        pf_entity, pme_entity = ENTITIES[pair]
        edits: list[Edit] = []
        with self.world.unthrottled():
            for i, (pf_key, pme_key) in enumerate(chosen):
                self._serial += 1
                value = f"Bench edit {self._serial}"
                if i < k:
                    self.world.connector(pf_entity).update(pf_key, {pf_field: value})
                    edits.append(Edit(pair, "planfix", pf_key, pme_key, value))
                else:
                    self.world.connector(pme_entity).update(pme_key, {pme_field: value})
                    edits.append(Edit(pair, "planningpme", pme_key, pf_key, value))
        return edits


def kept(world: World, edits: list[Edit]) -> int:
    """How many edits both systems hold now (the others were overwritten: lost)."""
    if not edits:
        return 0
    pair = edits[0].pair
    pf_kind, pme_kind = KINDS[pair]
    pf_field, pme_field = EDITED[pair]
    pf = {str(r["id"]): r for r in world.records(pf_kind)}
    pme = {str(r["key"]): r for r in world.records(pme_kind)}

    def holds(records: dict[str, dict[str, Any]], key: str, name: str, value: str) -> bool:
        return str(records.get(key, {}).get(name, "")) == value

    count = 0
    for e in edits:
        pf_key, pme_key = (e.key, e.other_key) if e.side == "planfix" else (e.other_key, e.key)
        if holds(pf, pf_key, pf_field, e.value) and holds(pme, pme_key, pme_field, e.value):
            count += 1
    return count
