"""What a dry run must pretend: the links that the plans of earlier pairs would make or remove.

A real run applies the contacts plan before it plans tasks, so a task whose client is created in
the same run is created too, and a task whose client is deleted waits. A dry run applies nothing;
without this overlay it would plan tasks against the links as they were, and report "deferred"
where the real run creates (property 11: the dry run's plan is what the real run does).
"""

from __future__ import annotations

from collections.abc import Mapping

from mappings.context import LinkResolver
from syncd.engine.cycle import KnowsDeletions
from syncd.engine.planner import SIDES, Plan, Side, other


class ForeseenLinks:
    """A ``LinkResolver`` that answers from the plans seen so far, then from the real links."""

    def __init__(self, links: LinkResolver, pairs_by_entity: Mapping[str, str]) -> None:
        self.links = links
        self.pairs_by_entity = pairs_by_entity
        self._foreseen: dict[tuple[str, Side], dict[str, str | None]] = {}
        """(pair, side) → {key on that side: key on the other side, or None once unlinked}."""

    def foresee(self, plan: Plan) -> None:
        """Take in the links ``plan`` would make and remove, as if it had been applied."""
        for op in plan.operations:
            if op.kind in ("delete", "archive", "unlink"):
                for side in SIDES:
                    key = op.key(side)
                    if key is not None:
                        self._foreseen.setdefault((plan.pair, side), {})[key] = None
            elif op.kind in ("link", "create"):
                keys: dict[Side, str | None] = {side: op.key(side) for side in SIDES}
                if op.kind == "create" and op.target is not None:
                    # The key does not exist yet; the report names the record to be created instead.
                    keys[op.target] = (
                        f"(new {op.target} record for {other(op.target)} {keys[other(op.target)]})"
                    )
                for side in SIDES:
                    key = keys[side]
                    if key is not None:
                        self._foreseen.setdefault((plan.pair, side), {})[key] = keys[other(side)]

    def _answer(self, side: Side, entity: str, key: str) -> tuple[bool, str | None]:
        pair = self.pairs_by_entity.get(entity)
        foreseen = self._foreseen.get((pair, side), {}) if pair else {}
        return (key in foreseen, foreseen.get(key))

    def planningpme_key(self, entity: str, planfix_key: str) -> str | None:
        known, answer = self._answer("planfix", entity, planfix_key)
        return answer if known else self.links.planningpme_key(entity, planfix_key)

    def planfix_key(self, entity: str, planningpme_key: str) -> str | None:
        known, answer = self._answer("planningpme", entity, planningpme_key)
        return answer if known else self.links.planfix_key(entity, planningpme_key)

    def deleted(self, entity: str, side: Side, key: str) -> bool:
        known, answer = self._answer(side, entity, key)
        if known:
            return answer is None
        return isinstance(self.links, KnowsDeletions) and self.links.deleted(entity, side, key)
