"""The planner's vocabulary: the two sides, a pair's rules, what the cycle hands in, and the Plan.

Every rule module speaks in these types and nothing else, so they live apart from the rules: a
rule module imports this one, never another rule module's types, and the cycle and the applier can
name a ``Plan`` or an ``Observed`` record without pulling in any rule. Plain frozen data only; the
one behaviour here is reading and writing values (``Echo.value``, ``Echo.wrote``), which every rule
family needs the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Side = Literal["planfix", "planningpme"]
SIDES: tuple[Side, Side] = ("planfix", "planningpme")
Direction = Literal["both", "to_planningpme", "to_planfix"]
ConflictPolicy = Literal["planfix", "planningpme", "newest", "manual"]
DeletePolicy = Literal["propagate", "ignore", "archive"]
OpKind = Literal[
    "create", "update", "delete", "archive", "link", "unlink", "refresh", "conflict", "defer", "report"
]

WRITE_KINDS: frozenset[str] = frozenset({"create", "update", "delete", "archive"})


def other(side: Side) -> Side:
    return "planningpme" if side == "planfix" else "planfix"


# -- the rules of a pair ---------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRule:
    name: str
    direction: Direction
    conflict: ConflictPolicy
    defaulted: bool = False
    """The field is an enumeration a system fills in by itself when a record is written without
    it (Planfix task status New, a PlanningPME category): see ``Echo``."""

    def read_from(self, side: Side) -> bool:
        """Whether this side's value of the field is a source of truth."""
        return self.direction in ("both", f"to_{other(side)}")

    def written_to(self, side: Side) -> bool:
        return self.direction in ("both", f"to_{side}")


@dataclass(frozen=True)
class PairRules:
    pair: str
    fields: tuple[FieldRule, ...]
    on_delete: Mapping[Side, DeletePolicy]
    """What happens to the other side's record when a record is deleted on this side."""
    newest_fallback: Side = "planfix"
    modify_beats_delete: bool = True

    def rule(self, name: str) -> FieldRule:
        for rule in self.fields:
            if rule.name == name:
                return rule
        raise KeyError(name)


# -- what the cycle hands in -----------------------------------------------------------------


@dataclass(frozen=True)
class Observed:
    """A record as it is now on one side, already mapped to canonical values."""

    side: Side
    key: str
    canonical: Mapping[str, Any]
    hash: str
    marker: str | None = None
    match_key: str | None = None
    modified: datetime | None = None
    included: bool = True
    unresolved: tuple[str, ...] = ()
    """Fields referring to records not linked yet (e.g. a customer not yet in Planfix)."""
    native: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The record as read; the planner never looks at it, the applier merges partial writes into it."""


@dataclass(frozen=True)
class Echo:
    """What syncd expects to read back from the records it wrote, and what each side holds in
    place of a synced value (property 17).

    A system fills in or normalises what it is given: Planfix gives a task without a status the
    status New, a text comes back trimmed, a number rounded. Compared with the synced value, that
    reads as an edit made on that side: copied back (an echo write), or, when the other record was
    deleted meanwhile, taken for a modification that wins over the deletion (a resurrection).

    So a side syncd wrote is *awaiting* its echo, with the fields it wrote (every field, for a
    create). The first time that record is read again, a field that differs from what was written
    only as a system would make it differ (``is_echo``: a value filled in an enumeration field
    where syncd wrote none; the same text up to spacing and case; the same number or time to a
    coarser precision; the same list in another order) is *held*: that side's value of the field,
    compared against from then on instead of the synced value, and never copied. Every other
    difference is an edit. No request is spent on it: the write changed the record, so the next
    listing reads it anyway. (The rules themselves are in ``syncd.engine.planner.echo``.)

    The window accepted: an edit a person makes between syncd's write and that first read-back
    (normally one cycle of the pair) that only sets an enumeration (a status, a category) syncd
    wrote empty, or only changes spacing, case or precision of a value syncd wrote, is taken for
    the system's own doing and not copied to the other side. The value stays where the person put
    it, and the next edit of that field on either side is synced as usual. A free field syncd wrote
    empty (a phone, a description) is never taken for a default: no system invents those.
    """

    awaiting: Mapping[Side, frozenset[str]] = field(default_factory=dict)
    """Side → the fields syncd wrote there that have not been read back since."""
    held: Mapping[Side, Mapping[str, Any]] = field(default_factory=dict)
    """Side → field → the value that side holds in place of the synced value."""

    def value(self, side: Side, name: str, canonical: Mapping[str, Any]) -> Any:
        """The value ``side`` is expected to hold for ``name``."""
        held = self.held.get(side, {})
        return held[name] if name in held else canonical.get(name)

    def wrote(self, side: Side, names: Iterable[str]) -> Echo:
        """This echo after syncd wrote ``names`` to ``side``."""
        awaiting = dict(self.awaiting)
        awaiting[side] = frozenset(awaiting.get(side, frozenset()) | set(names))
        return Echo(awaiting, self.held)

    def as_json(self) -> dict[str, Any]:
        """The stored form (empty parts left out, so a link without an echo stores ``{}``)."""
        out: dict[str, Any] = {}
        awaiting = {side: sorted(names) for side, names in self.awaiting.items() if names}
        held = {side: dict(values) for side, values in self.held.items() if values}
        if awaiting:
            out["awaiting"] = awaiting
        if held:
            out["held"] = held
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Echo:
        data = data or {}
        awaiting = {
            side: frozenset(names) for side, names in (data.get("awaiting") or {}).items() if side in SIDES
        }
        held = {side: dict(values) for side, values in (data.get("held") or {}).items() if side in SIDES}
        return cls(awaiting, held)


@dataclass(frozen=True)
class LinkState:
    planfix_key: str
    planningpme_key: str
    canonical: Mapping[str, Any]
    planfix_hash: str
    planningpme_hash: str
    echo: Echo = field(default_factory=Echo)

    def key(self, side: Side) -> str:
        return self.planfix_key if side == "planfix" else self.planningpme_key

    def hash(self, side: Side) -> str:
        return self.planfix_hash if side == "planfix" else self.planningpme_hash


@dataclass(frozen=True)
class SideView:
    side: Side
    records: Mapping[str, Observed]
    """Records read this cycle (changed ones, or all of them after a full scan), by key."""
    deleted: frozenset[str] = frozenset()
    """Keys confirmed gone. Ignored unless the listing was complete."""
    complete: bool = True
    archived: frozenset[str] = frozenset()
    """Keys among ``deleted`` whose record still exists, holding the archive values (a canceled
    task): when modification wins over that deletion, the record is reopened, not re-created."""


@dataclass(frozen=True)
class PlanInput:
    rules: PairRules
    links: tuple[LinkState, ...]
    planfix: SideView
    planningpme: SideView
    tombstones: frozenset[tuple[Side, str]] = frozenset()
    backing_off: frozenset[tuple[Side, str]] = frozenset()
    """Records in the failure queue whose next retry is not due: left for a later cycle."""

    def view(self, side: Side) -> SideView:
        return self.planfix if side == "planfix" else self.planningpme


# -- what the planner hands back -------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Operation:
    """One planned step. ``target`` is the side written to (None for state-only steps)."""

    kind: OpKind
    target: Side | None
    planfix_key: str | None
    planningpme_key: str | None
    reason: str
    rule: str
    changes: tuple[FieldChange, ...] = ()
    canonical: Mapping[str, Any] = field(default_factory=dict)
    """The merged canonical values after this step (what the link will hold)."""
    source_hash: str | None = None
    """For a create: the hash of the source record, stored on the new link."""
    conflicts: tuple[FieldChange, ...] = ()
    """For a ``conflict`` step: field, planfix value (old), planningpme value (new)."""
    echo: Echo = field(default_factory=Echo)
    """The link's echo after this step, before the write itself (the applier adds what it wrote)."""

    def key(self, side: Side) -> str | None:
        return self.planfix_key if side == "planfix" else self.planningpme_key

    @property
    def writes(self) -> bool:
        return self.kind in WRITE_KINDS


@dataclass(frozen=True)
class Plan:
    pair: str
    operations: tuple[Operation, ...]

    def count(self, kind: str, target: Side | None = None) -> int:
        return sum(1 for op in self.operations if op.kind == kind and (target is None or op.target == target))

    @property
    def write_count(self) -> int:
        return sum(1 for op in self.operations if op.writes)

    @property
    def deletes(self) -> int:
        return sum(1 for op in self.operations if op.kind in ("delete", "archive"))
