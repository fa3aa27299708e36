"""A field of a mapping file bound to its resolved paths and its built transform.

Validation and the engine both go through ``bind_field``, so what the loader accepted is exactly
what the engine runs.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mappings.context import MappingContext
from mappings.errors import MappingValueError, Problem
from mappings.paths import Entity, PathError, Slot, resolve
from mappings.sides import SIDE_TITLES, SIDES, Side, other, reads_from, writes_to
from mappings.transform_base import Shape, Transform
from mappings.transforms import REGISTRY, transform_names

if TYPE_CHECKING:
    from mappings.spec import FieldSpec


@dataclass(frozen=True)
class BoundField:
    """One mapped field, ready to read and write native records."""

    spec: FieldSpec
    transform: Transform[Any]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def shape(self) -> Shape:
        return self.transform.shape

    def reads(self, side: Side) -> bool:
        return reads_from(self.spec.direction, side)

    def writes(self, side: Side) -> bool:
        return writes_to(self.spec.direction, side)

    def values(self, side: Side, record: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(slot.get(record) for slot in self.shape.of(side))

    def read(self, side: Side, record: Mapping[str, Any], ctx: MappingContext) -> Any:
        """The canonical value of this field in a native ``record`` of ``side``."""
        try:
            return self.transform.forward(side, self.values(side, record), ctx)
        except MappingValueError as exc:
            raise type(exc)(f"{self._where(side)}: {exc}") from None

    def write(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...]:
        """Native values (one per path of ``side``) that hold ``canonical``."""
        present = self.values(side, current) if current is not None else None
        try:
            return self.transform.inverse(side, canonical, ctx, present)
        except MappingValueError as exc:
            raise type(exc)(f"{self._where(side)}: {exc}") from None

    def _where(self, side: Side) -> str:
        paths = ", ".join(s.path for s in self.shape.of(side))
        return f"field {self.name!r} ({SIDE_TITLES[side]} {paths})"


def _paths(raw: str | Sequence[str]) -> tuple[str, ...]:
    return (raw,) if isinstance(raw, str) else tuple(raw)


def resolve_paths(entity: Entity, field: FieldSpec, side: Side) -> tuple[tuple[Slot, ...], list[Problem]]:
    raw = field.planfix if side == "planfix" else field.planningpme
    single = isinstance(raw, str)
    slots: list[Slot] = []
    problems: list[Problem] = []
    for index, path in enumerate(_paths(raw)):
        try:
            slots.append(resolve(entity, path))
        except PathError as exc:
            problems.append(Problem((side,) if single else (side, index), str(exc)))
    return tuple(slots), problems


def bind_field(field: FieldSpec, entities: Mapping[Side, Entity]) -> tuple[BoundField | None, list[Problem]]:
    """The bound field, or None and the problems (locations relative to the field)."""
    problems: list[Problem] = []
    cls = REGISTRY.get(field.transform)
    if cls is None:
        close = difflib.get_close_matches(field.transform, transform_names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(
            Problem(
                ("transform",),
                f"unknown transform {field.transform!r}{hint}; known: {', '.join(transform_names())}",
            )
        )
    resolved: dict[Side, tuple[Slot, ...]] = {}
    for side in SIDES:
        resolved[side], found = resolve_paths(entities[side], field, side)
        problems.extend(found)
    if cls is None or problems:
        return None, problems
    shape = Shape(resolved["planfix"], resolved["planningpme"])
    try:
        transform = cls.build(field.params, shape)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            if err["type"] == "extra_forbidden":
                known = ", ".join(cls.params_model.model_fields) or "none"
                message = (
                    f"unknown parameter {loc[-1]!r} for transform {cls.name!r} (its parameters: {known})"
                )
                loc = loc[:-1]
            elif err["type"] == "missing":
                message = f"transform {cls.name!r} needs the parameter {loc[-1]!r}"
                loc = loc[:-1]
            else:
                error = (err.get("ctx") or {}).get("error")
                message = str(error) if error is not None else err["msg"]
            problems.append(Problem(("params", *loc), message))
        return None, problems
    if field.direction == "both" and not cls.invertible:
        problems.append(
            Problem(
                ("direction",),
                f"transform {cls.name!r} only goes one way, but direction is 'both':"
                " set direction = 'to_planningpme' or 'to_planfix'",
            )
        )
    problems.extend(transform.problems(field.direction))
    for side in SIDES:
        if not writes_to(field.direction, side):
            continue
        for slot in shape.of(side):
            if not slot.writable:
                problems.append(
                    Problem(
                        (side,),
                        f"{slot.path!r} is read-only on a {SIDE_TITLES[side]} record, but direction"
                        f" {field.direction!r} writes it: set direction = 'to_{other(side)}'",
                    )
                )
    return (None if problems else BoundField(field, transform)), problems
