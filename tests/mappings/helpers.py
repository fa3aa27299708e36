"""Small builders shared by the mapping tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from mappings.context import LinkResolver, MappingContext, NoLinks
from mappings.paths import Entity, resolve
from mappings.sides import SIDES, Side
from mappings.transform_base import Shape, Transform
from mappings.transforms import REGISTRY

MADRID = ZoneInfo("Europe/Madrid")
MOSCOW = ZoneInfo("Europe/Moscow")


def ctx(
    planfix: str | ZoneInfo = MOSCOW, planningpme: str | ZoneInfo = MADRID, links: LinkResolver | None = None
) -> MappingContext:
    pf = planfix if isinstance(planfix, ZoneInfo) else ZoneInfo(planfix)
    pme = planningpme if isinstance(planningpme, ZoneInfo) else ZoneInfo(planningpme)
    return MappingContext(pf, pme, links or NoLinks())


def make(
    name: str,
    planfix: Sequence[str],
    planningpme: Sequence[str],
    params: Mapping[str, Any] | None = None,
    entities: tuple[Entity, Entity] = ("task", "event"),
) -> Transform[Any]:
    shape = Shape(
        tuple(resolve(entities[0], p) for p in planfix),
        tuple(resolve(entities[1], p) for p in planningpme),
    )
    transform = REGISTRY[name].build(params or {}, shape)
    assert transform.problems("both") == [], transform.problems("both")
    return transform


def assert_round_trips(
    transform: Transform[Any], context: MappingContext, side: Side, values: Sequence[Any]
) -> Any:
    """Reading ``values`` on ``side`` gives a canonical value that survives a write and a read on
    both sides, and reading is idempotent. Returns the canonical value."""
    canonical = transform.forward(side, values, context)
    for target in SIDES:
        native = transform.inverse(target, canonical, context)
        assert len(native) == len(transform.shape.of(target))
        again = transform.forward(target, native, context)
        assert again == canonical, (side, values, target, native, again, canonical)
    return canonical
