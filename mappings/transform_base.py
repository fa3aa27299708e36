"""The contract every transform keeps, and the helpers they share for native value shapes.

A transform turns the native value(s) of one field on either side into one canonical value and
back. It is built once per field from the mapping file (its parameters validated by its own
pydantic model) together with the resolved paths (``Shape``), so that a wrong combination, such
as a date-time transform on a title, is rejected when the file is loaded, not when a record comes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict

from mappings.context import MappingContext
from mappings.errors import Problem
from mappings.paths import Kind, Slot
from mappings.sides import SIDE_TITLES, SIDES, Direction, Side

SCALAR_KINDS: frozenset[Kind] = frozenset({"text", "any", "date", "time", "datetime"})
"""Kinds that hold one string-like value."""


class Params(BaseModel):
    """Base of every transform's parameters: unknown parameters are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class NoParams(Params):
    pass


@dataclass(frozen=True)
class Shape:
    """The resolved paths of one field on both sides, in the order the mapping file gives them."""

    planfix: tuple[Slot, ...]
    planningpme: tuple[Slot, ...]

    def of(self, side: Side) -> tuple[Slot, ...]:
        return self.planfix if side == "planfix" else self.planningpme


P = TypeVar("P", bound=Params)


class Transform(ABC, Generic[P]):
    """A named, pure, two-sided conversion between native values and one canonical value.

    ``forward(side, values)`` reads the field's native values on ``side`` (one per path) into the
    canonical value; ``inverse(side, canonical)`` gives the native values to write there. For an
    ``invertible`` transform, ``forward(s, inverse(s, c)) == c`` for every canonical value ``c``
    that ``forward`` can produce, on both sides: that is what lets a write come back unchanged.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    invertible: ClassVar[bool] = True
    params_model: ClassVar[type[Params]] = NoParams

    def __init__(self, params: P, shape: Shape) -> None:
        self.params = params
        self.shape = shape

    @classmethod
    def build(cls, raw_params: Mapping[str, Any], shape: Shape) -> Transform[Any]:
        """Validate the parameters (pydantic ``ValidationError`` when wrong) and bind the paths."""
        params = cls.params_model.model_validate(dict(raw_params))
        return cls(cast(Any, params), shape)

    def problems(self, direction: Direction) -> list[Problem]:
        """What is wrong with this transform on these paths in this direction (empty: nothing)."""
        found: list[Problem] = []
        for side in SIDES:
            message = self.check_side(side, self.shape.of(side), direction)
            if message:
                found.append(Problem((side,), message))
        found.extend(self.check_params(direction))
        return found

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        """Default shape: exactly one path holding a string-like value."""
        return expect_single(self.name, side, slots, SCALAR_KINDS, "text")

    def check_params(self, direction: Direction) -> list[Problem]:
        return []

    def keeps_current(self, side: Side) -> bool:
        """Whether ``inverse`` keeps part of the record as it is now (values the mapping cannot
        translate), so writing this field without the ``current`` record would drop them."""
        return False

    def flag_positions(self, side: Side) -> frozenset[int]:
        """Positions of paths this transform may share with other fields (boolean flags that
        several fields set together, such as PlanningPME ``allDay``)."""
        return frozenset()

    def related(self, side: Side, values: Sequence[Any]) -> list[tuple[str, str]]:
        """(entity, key) of records the values refer to, for transforms that link records."""
        return []

    @abstractmethod
    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        """Native value(s) read on ``side`` → the canonical value (JSON-able, normalised)."""

    @abstractmethod
    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        """Canonical value → the native value(s) to write on ``side``, one per path.

        ``current`` holds the record's present native values when the caller has them, so that a
        transform that maps part of a value (the first phone of several) keeps the rest.
        """


def describe(slots: Sequence[Slot]) -> str:
    if not slots:
        return "no path"
    return ", ".join(f"{s.path!r} ({s.kind})" for s in slots)


def expect_single(
    transform: str, side: Side, slots: tuple[Slot, ...], kinds: frozenset[Kind], what: str
) -> str | None:
    """The usual shape check: one path, of one of ``kinds``."""
    if len(slots) == 1 and slots[0].kind in kinds:
        return None
    title = SIDE_TITLES[side]
    if not slots:
        return f"transform {transform!r} needs one {what} path on the {title} side"
    return f"transform {transform!r} needs one {what} path on the {title} side, got {describe(slots)}"


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def truthy(value: Any) -> bool:
    """Booleans as the two APIs spell them: true/false, "1"/"0", "true"/"false", "yes"/"no"."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "on")
    return bool(value)


def scalar_in(slot: Slot, value: Any) -> str | None:
    """A native value as a plain string key: a reference's id/key, a flag as "true"/"false"."""
    if isinstance(value, Mapping):
        value = value.get(slot.key_attr)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    if not text or (slot.kind == "ref" and slot.key_attr == "id" and text == "0"):
        return None
    return text


def scalar_out(slot: Slot, value: str | None, label: str | None = None) -> Any:
    """A plain string key as the native value for ``slot`` (inverse of ``scalar_in``)."""
    if slot.kind == "ref":
        if value is None:
            return None
        ref: dict[str, Any] = {slot.key_attr: slot.wrap_key(value)}
        if label is not None:
            ref[slot.label_attr] = label
        return ref
    if slot.kind == "refs":
        return [] if value is None else [scalar_out_ref(slot, value, label)]
    if slot.kind == "bool":
        return None if value is None else value == "true"
    if value is None:
        return "" if slot.kind == "text" else None
    return value


def scalar_out_ref(slot: Slot, key: str, label: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {slot.key_attr: slot.wrap_key(key)}
    if label is not None:
        ref[slot.label_attr] = label
    return ref


def keys_in(slot: Slot, value: Any) -> list[str]:
    """The keys of a reference or a list of references (empty and "0" ids dropped)."""
    items = value if isinstance(value, list | tuple) else [value]
    keys = [scalar_in(slot, item) for item in items]
    return [k for k in keys if k is not None]


def key_order(key: str) -> tuple[int, int, str]:
    """Numeric keys in numeric order, before other keys in text order: a stable, natural order."""
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def as_text(value: Any) -> str:
    """Any native scalar as text: None is empty, booleans are "true"/"false"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def dicts(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a native list (anything else in it ignored)."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list | tuple) else []
