"""What a mapping needs from the running daemon: the two accounts' time zones and a way to find
the counterpart of a related record (a task's client is a Planfix contact; its counterpart is a
PlanningPME customer, known only to the state store).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from zoneinfo import ZoneInfo

from mappings.sides import Side


class LinkResolver(Protocol):
    """Finds the other system's key of an already linked record."""

    def planningpme_key(self, entity: str, planfix_key: str) -> str | None:
        """PlanningPME key linked to Planfix ``entity`` (e.g. ``"contact"``) ``planfix_key``."""
        ...

    def planfix_key(self, entity: str, planningpme_key: str) -> str | None:
        """Planfix key linked to PlanningPME ``entity`` (e.g. ``"customer"``) ``planningpme_key``."""
        ...


class NoLinks:
    """A resolver that knows no links: every related record counts as not linked yet."""

    def planningpme_key(self, entity: str, planfix_key: str) -> str | None:
        return None

    def planfix_key(self, entity: str, planningpme_key: str) -> str | None:
        return None


@dataclass(frozen=True)
class StaticLinks:
    """A fixed table of links, for tests and dry runs: ``{(planfix_entity, planfix_key): pme_key}``.

    Entity names follow ``Mapper.related``: Planfix ``contact`` pairs with PlanningPME ``customer``
    unless ``entity_pairs`` says otherwise.
    """

    links: Mapping[tuple[str, str], str]
    entity_pairs: Mapping[str, str] = field(default_factory=lambda: {"contact": "customer"})

    def planningpme_key(self, entity: str, planfix_key: str) -> str | None:
        return self.links.get((entity, planfix_key))

    def planfix_key(self, entity: str, planningpme_key: str) -> str | None:
        for (pf_entity, pf_key), pme_key in self.links.items():
            if self.entity_pairs.get(pf_entity) == entity and pme_key == planningpme_key:
                return pf_key
        return None


@dataclass(frozen=True)
class MappingContext:
    """Everything outside the mapping file that mapping a record depends on."""

    planfix_zone: ZoneInfo
    planningpme_zone: ZoneInfo
    links: LinkResolver = field(default_factory=NoLinks)

    def zone(self, side: Side) -> ZoneInfo:
        return self.planfix_zone if side == "planfix" else self.planningpme_zone
