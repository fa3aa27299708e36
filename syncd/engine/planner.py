"""The pure decision core: (state, what each side has now, the rules) → a Plan of operations.

Nothing here does I/O, reads a clock or touches a database: the cycle gathers every input first,
so a dry run and the following real run plan exactly the same thing, and the core can be driven
by property-based tests at memory speed (the vdirsyncer model).

The rules, in the order they are applied to a record seen on one side:

1. Tombstoned keys are ignored: what was deleted never comes back.
2. A linked record is merged field by field against the last synced value (three-way merge):
   changed on one side → copied; changed on both to the same value → nothing; changed on both
   differently → the field's conflict policy. A deletion on one side → that side's delete policy,
   unless the other side changed meanwhile (modification wins by default). What a system did to
   a record syncd wrote (a default it filled in, a trimmed or re-cased text, a rounded number) is
   adopted at the first read-back as that side's own value, never taken for a change (``Echo``).
   A record the other side *archived* (a canceled task) that modification wins over is reopened
   in place, not created a second time.
3. An unlinked record carrying a marker is linked to the record the marker names (crash recovery).
4. An unlinked record is matched by the mapping's match keys against unlinked records of the
   other side; exactly one candidate each way → linked; several → reported, never guessed.
5. Otherwise it is created on the other side, with the marker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
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
REOPEN_RULE = "modification wins over deletion: reopened"
"""The rule of an update that takes an archived record (a canceled task) out of the archive."""


def other(side: Side) -> Side:
    return "planningpme" if side == "planfix" else "planfix"


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
    listing reads it anyway.

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


def _empty(value: Any) -> bool:
    return value is None or value in ("", [], {})


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 16 or not value[:4].isdigit():
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def is_echo(written: Any, read: Any) -> bool:
    """Whether ``read`` is what a system plausibly made of ``written`` by itself: a default
    filled in where nothing was written; the same text up to surrounding or repeated spaces and
    case; the same number to fewer decimals; the same time to whole minutes or seconds; the same
    list in another order. Anything else is somebody's edit."""
    if written == read:
        return True
    if _empty(written):
        return not _empty(read)
    if isinstance(written, str) and isinstance(read, str):
        w_time, r_time = _instant(written), _instant(read)
        if w_time is not None and r_time is not None:
            coarser = {w_time.replace(second=0, microsecond=0), w_time.replace(microsecond=0)}
            return r_time in coarser
        w_num, r_num = _decimal(written), _decimal(read)
        if w_num is not None and r_num is not None:
            return _rounded(w_num, r_num)
        return " ".join(written.split()).casefold() == " ".join(read.split()).casefold()
    if isinstance(written, int | float) and isinstance(read, int | float):
        w_num, r_num = _decimal(written), _decimal(read)
        return w_num is not None and r_num is not None and _rounded(w_num, r_num)
    if isinstance(written, list) and isinstance(read, list) and len(written) == len(read):
        return sorted(map(repr, written)) == sorted(map(repr, read))
    return False


def _rounded(written: Decimal, read: Decimal) -> bool:
    """``read`` is ``written`` rounded to the decimals ``read`` kept (none, for a whole number)."""
    exponent = read.normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        return False
    return abs(written - read) <= Decimal(1).scaleb(min(exponent, 0)) / 2


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


@dataclass(frozen=True)
class GuardLimits:
    max_delete: int
    max_delete_percent: float


def guard_violation(plan: Plan, linked: int, limits: GuardLimits) -> str | None:
    """Why the mass-delete guard must stop this plan, or None when it may run."""
    deletes = plan.deletes
    if deletes == 0:
        return None
    if deletes > limits.max_delete:
        return f"{plan.pair}: the plan deletes {deletes} records, more than max_delete = {limits.max_delete}"
    if linked > 0:
        percent = 100.0 * deletes / linked
        if percent > limits.max_delete_percent:
            return (
                f"{plan.pair}: the plan deletes {deletes} of {linked} linked records ({percent:.1f} %), "
                f"more than max_delete_percent = {limits.max_delete_percent:g} %"
            )
    return None


class _Index:
    """Links indexed by either side's key."""

    def __init__(self, links: Iterable[LinkState]) -> None:
        self.by_side: dict[Side, dict[str, LinkState]] = {"planfix": {}, "planningpme": {}}
        for link in links:
            self.by_side["planfix"][link.planfix_key] = link
            self.by_side["planningpme"][link.planningpme_key] = link

    def get(self, side: Side, key: str) -> LinkState | None:
        return self.by_side[side].get(key)


def plan(data: PlanInput) -> Plan:
    """Decide every operation for one entity pair. Deterministic: same input, same plan."""
    return _Planner(data).run()


class _Planner:
    def __init__(self, data: PlanInput) -> None:
        self.data = data
        self.rules = data.rules
        self.index = _Index(data.links)
        self.ops: list[Operation] = []
        self.handled_links: set[tuple[str, str]] = set()
        self.claimed: set[tuple[Side, str]] = set()

    def run(self) -> Plan:
        self._linked_records()
        self._deletions()
        self._unlinked_records()
        return Plan(self.rules.pair, tuple(self.ops))

    # -- helpers -------------------------------------------------------------------------

    def _skip(self, side: Side, key: str) -> bool:
        return (side, key) in self.data.tombstones or (side, key) in self.data.backing_off

    def _deleted(self, side: Side) -> frozenset[str]:
        view = self.data.view(side)
        return view.deleted if view.complete else frozenset()

    def _rec(self, side: Side, key: str) -> Observed | None:
        return self.data.view(side).records.get(key)

    # -- linked records --------------------------------------------------------------------

    def _linked_records(self) -> None:
        seen: list[LinkState] = []
        for side in SIDES:
            for key in sorted(self.data.view(side).records):
                link = self.index.get(side, key)
                if link is None or (link.planfix_key, link.planningpme_key) in self.handled_links:
                    continue
                self.handled_links.add((link.planfix_key, link.planningpme_key))
                seen.append(link)
        for link in seen:
            pf_key, pme_key = link.planfix_key, link.planningpme_key
            if any(self._skip(s, link.key(s)) for s in SIDES):
                continue
            if pf_key in self._deleted("planfix") or pme_key in self._deleted("planningpme"):
                continue  # handled with deletions
            self._merge(link, self._rec("planfix", pf_key), self._rec("planningpme", pme_key))

    def _echo(self, link: LinkState, records: Iterable[Observed | None]) -> Echo:
        return read_back(self.rules, link, records)

    def _changed_fields(self, link: LinkState, rec: Observed | None) -> dict[str, Any]:
        return changed_fields(self.rules, link, rec)

    def _merge(self, link: LinkState, pf: Observed | None, pme: Observed | None) -> None:
        if (pf is not None and not pf.included) or (pme is not None and not pme.included):
            return  # out of the mapping's scope: left alone, still linked
        unresolved = (pf.unresolved if pf else ()) + (pme.unresolved if pme else ())
        if unresolved:
            self.ops.append(self._defer(link.planfix_key, link.planningpme_key, unresolved))
            return
        changed = {"planfix": self._changed_fields(link, pf), "planningpme": self._changed_fields(link, pme)}
        echo = self._echo(link, (pf, pme))
        merged = dict(link.canonical)
        writes: dict[Side, list[FieldChange]] = {"planfix": [], "planningpme": []}
        conflicts: list[FieldChange] = []
        decided: list[str] = []
        for rule in self.rules.fields:
            in_pf, in_pme = rule.name in changed["planfix"], rule.name in changed["planningpme"]
            base = link.canonical.get(rule.name)
            if not (in_pf or in_pme):
                continue
            if in_pf and in_pme:
                v_pf, v_pme = changed["planfix"][rule.name], changed["planningpme"][rule.name]
                if v_pf == v_pme:
                    merged[rule.name] = v_pf
                    continue
                winner = self._resolve(rule, pf, pme)
                if winner is None:
                    conflicts.append(FieldChange(rule.name, v_pf, v_pme))
                    continue
                decided.append(f"{rule.name}: conflict → {winner} ({rule.conflict})")
                source: Side = winner
            else:
                source = "planfix" if in_pf else "planningpme"
            value = changed[source][rule.name]
            merged[rule.name] = value
            target = other(source)
            if rule.written_to(target):
                current = changed[target].get(rule.name, base)
                writes[target].append(FieldChange(rule.name, current, value))
        echo = _settled(echo, link.canonical, merged)
        reason_bits = [f"changed on {s}: {', '.join(sorted(changed[s]))}" for s in SIDES if changed[s]]
        rule_text = "; ".join(decided) if decided else "three-way merge"
        for target in SIDES:
            if writes[target]:
                self.ops.append(
                    Operation(
                        "update",
                        target,
                        link.planfix_key,
                        link.planningpme_key,
                        reason="; ".join(reason_bits),
                        rule=rule_text,
                        changes=tuple(writes[target]),
                        canonical=merged,
                        echo=echo,
                    )
                )
        if conflicts:
            self.ops.append(
                Operation(
                    "conflict",
                    None,
                    link.planfix_key,
                    link.planningpme_key,
                    reason="changed on both sides to different values",
                    rule="manual",
                    conflicts=tuple(conflicts),
                    canonical=merged,
                    echo=echo,
                )
            )
        if not writes["planfix"] and not writes["planningpme"] and not conflicts:
            stale = [r for r in (pf, pme) if r is not None and r.hash != link.hash(r.side)]
            if stale or merged != dict(link.canonical) or echo != link.echo:
                self.ops.append(
                    Operation(
                        "refresh",
                        None,
                        link.planfix_key,
                        link.planningpme_key,
                        reason="; ".join(reason_bits) or "mapped values unchanged; stored hash refreshed",
                        rule="equal values are not a conflict" if reason_bits else "hash refresh",
                        canonical=merged,
                        echo=echo,
                    )
                )

    def _resolve(self, rule: FieldRule, pf: Observed | None, pme: Observed | None) -> Side | None:
        if rule.conflict in ("planfix", "planningpme"):
            return rule.conflict
        if rule.conflict == "manual":
            return None
        pf_time = pf.modified if pf else None
        pme_time = pme.modified if pme else None
        if pf_time is not None and pme_time is not None and pf_time != pme_time:
            return "planfix" if pf_time > pme_time else "planningpme"
        return self.rules.newest_fallback

    def _defer(self, pf_key: str | None, pme_key: str | None, fields: Iterable[str]) -> Operation:
        names = ", ".join(sorted(set(fields)))
        return Operation(
            "defer",
            None,
            pf_key,
            pme_key,
            reason=f"refers to records not linked yet ({names})",
            rule="relations first",
        )

    # -- deletions ----------------------------------------------------------------------

    def _deletions(self) -> None:
        done: set[tuple[str, str]] = set()
        for side in SIDES:
            for key in sorted(self._deleted(side)):
                link = self.index.get(side, key)
                if link is None:
                    continue
                ident = (link.planfix_key, link.planningpme_key)
                if ident in done:
                    continue
                done.add(ident)
                self._delete_linked(link, side)

    def _delete_linked(self, link: LinkState, side: Side) -> None:
        target = other(side)
        target_key = link.key(target)
        if target_key in self._deleted(target):
            self.ops.append(
                Operation(
                    "unlink",
                    None,
                    link.planfix_key,
                    link.planningpme_key,
                    reason="deleted on both sides",
                    rule="tombstone",
                )
            )
            return
        survivor = self._rec(target, target_key)
        if (
            self.rules.modify_beats_delete
            and survivor is not None
            and survivor.hash != link.hash(target)
            and self._changed_fields(link, survivor)
        ):
            if link.key(side) in self.data.view(side).archived:
                self._reopen(link, side, survivor)
            else:
                self._recreate(link, side, survivor)
            return
        policy = self.rules.on_delete[side]
        if policy == "ignore":
            self.ops.append(
                Operation(
                    "unlink",
                    None,
                    link.planfix_key,
                    link.planningpme_key,
                    reason=f"deleted on {side}; the {target} record is kept",
                    rule=f"on_{side}_delete = ignore",
                )
            )
            return
        kind: OpKind = "archive" if policy == "archive" else "delete"
        self.ops.append(
            Operation(
                kind,
                target,
                link.planfix_key,
                link.planningpme_key,
                reason=f"deleted on {side}",
                rule=f"on_{side}_delete = {policy}",
                canonical=link.canonical,
            )
        )

    def _reopen(self, link: LinkState, archived_side: Side, survivor: Observed) -> None:
        """Modification wins over an archive (a canceled task): the same record takes the surviving
        record's values back, so no second record with the same marker is made."""
        merged = {**link.canonical, **self._changed_fields(link, survivor)}
        echo = _settled(self._echo(link, (survivor,)), link.canonical, merged)
        # The archived side's values are all rewritten. Where the surviving record has none, the
        # value that side held by itself (the default status of a task made from an event without
        # a category) is written back: it is what takes the record out of the archive.
        kept = {
            name: value
            for name, value in link.echo.held.get(archived_side, {}).items()
            if _empty(merged.get(name))
        }
        echo = Echo(echo.awaiting, {s: v for s, v in echo.held.items() if s != archived_side})
        if kept:
            echo = Echo(echo.awaiting, {**echo.held, archived_side: kept})
        changes = tuple(
            FieldChange(r.name, None, kept.get(r.name, merged[r.name]))
            for r in self.rules.fields
            if r.written_to(archived_side) and r.name in merged
        )
        self.ops.append(
            Operation(
                "update",
                archived_side,
                link.planfix_key,
                link.planningpme_key,
                reason=f"archived on {archived_side} but changed on {survivor.side}",
                rule=REOPEN_RULE,
                changes=changes,
                canonical=merged,
                echo=echo,
            )
        )

    def _recreate(self, link: LinkState, deleted_side: Side, survivor: Observed) -> None:
        """Modification wins over deletion: the deleted side gets the record back, as edited."""
        canonical = {**link.canonical, **self._changed_fields(link, survivor)}
        self.ops.append(
            Operation(
                "unlink",
                None,
                link.planfix_key,
                link.planningpme_key,
                reason=f"deleted on {deleted_side} but changed on {survivor.side}",
                rule="modification wins over deletion",
            )
        )
        self.ops.append(self._create(survivor, canonical, "modification wins over deletion"))
        self.claimed.add((survivor.side, survivor.key))

    # -- unlinked records ------------------------------------------------------------------

    def _unlinked(self, side: Side) -> list[Observed]:
        return [
            rec
            for key, rec in sorted(self.data.view(side).records.items())
            if self.index.get(side, key) is None
            and not self._skip(side, key)
            and (side, key) not in self.claimed
        ]

    def _unlinked_records(self) -> None:
        unlinked = {side: self._unlinked(side) for side in SIDES}
        by_key = {side: {r.key: r for r in unlinked[side]} for side in SIDES}
        # 3. markers: crash recovery and records created by us whose link was lost
        for side in SIDES:
            for rec in unlinked[side]:
                if rec.marker is None or (side, rec.key) in self.claimed:
                    continue
                self._by_marker(rec, by_key[other(side)])
        # 4. match keys
        match_counts = {
            side: Counter(
                r.match_key for r in unlinked[side] if r.match_key and (side, r.key) not in self.claimed
            )
            for side in SIDES
        }
        for rec in unlinked["planfix"]:
            if (rec.side, rec.key) in self.claimed or not rec.match_key or not rec.included:
                continue
            candidates = [
                c
                for c in unlinked["planningpme"]
                if c.match_key == rec.match_key and ("planningpme", c.key) not in self.claimed and c.included
            ]
            if not candidates:
                continue
            if len(candidates) > 1 or match_counts["planfix"][rec.match_key] > 1:
                # Every record sharing the key is left alone (none of them linked or created).
                twins = [
                    r
                    for r in unlinked["planfix"]
                    if r.match_key == rec.match_key and ("planfix", r.key) not in self.claimed
                ]
                pf_keys = ", ".join(r.key for r in twins)
                pme_keys = ", ".join(c.key for c in candidates)
                self.ops.append(
                    Operation(
                        "report",
                        None,
                        rec.key,
                        None,
                        reason=f"ambiguous match on {rec.match_key!r}: planfix {pf_keys}; "
                        f"planningpme {pme_keys} — link them by hand or make the match keys stricter",
                        rule="match keys; ambiguous matches are never guessed",
                    )
                )
                self.claimed.update(("planfix", r.key) for r in twins)
                self.claimed.update(("planningpme", c.key) for c in candidates)
                continue
            self._link_matched(rec, candidates[0])
        # 5. creates
        for side in SIDES:
            for rec in unlinked[side]:
                if (side, rec.key) in self.claimed or not rec.included:
                    continue
                if rec.marker is not None:
                    continue  # handled (or reported) by the marker step
                if rec.unresolved:
                    self.ops.append(
                        self._defer(
                            rec.key if side == "planfix" else None,
                            rec.key if side == "planningpme" else None,
                            rec.unresolved,
                        )
                    )
                    continue
                self.ops.append(self._create(rec, dict(rec.canonical), "new record"))
                self.claimed.add((side, rec.key))

    def _by_marker(self, rec: Observed, others: Mapping[str, Observed]) -> None:
        assert rec.marker is not None
        target = other(rec.side)
        if (target, rec.marker) in self.data.tombstones:
            self._leave_alone(
                rec, f"its counterpart {target} {rec.marker} was deleted; not recreated", "tombstone"
            )
            return
        if self.index.get(target, rec.marker) is not None:
            self._leave_alone(
                rec,
                f"its marker names {target} {rec.marker}, which is linked to another record: "
                "a copy made outside syncd? Left alone",
                "marker",
            )
            return
        counterpart = others.get(rec.marker)
        if counterpart is None:
            self._leave_alone(
                rec, f"its marker names {target} {rec.marker}, which was not found; left alone", "marker"
            )
            return
        pf_rec, pme_rec = (rec, counterpart) if rec.side == "planfix" else (counterpart, rec)
        self._link_matched(pf_rec, pme_rec, rule="marker")

    def _leave_alone(self, rec: Observed, reason: str, rule: str) -> None:
        """Report a record the plan must not touch, and keep later steps from touching it."""
        self.claimed.add((rec.side, rec.key))
        self.ops.append(
            Operation(
                "report",
                None,
                rec.key if rec.side == "planfix" else None,
                rec.key if rec.side == "planningpme" else None,
                reason=reason,
                rule=rule,
            )
        )

    def _link_matched(self, pf: Observed, pme: Observed, rule: str = "match keys") -> None:
        """Link two existing records; where their values differ, the conflict rules decide."""
        self.claimed.add(("planfix", pf.key))
        self.claimed.add(("planningpme", pme.key))
        if pf.unresolved or pme.unresolved:
            self.ops.append(self._defer(pf.key, pme.key, pf.unresolved + pme.unresolved))
            return
        merged: dict[str, Any] = {}
        writes: dict[Side, list[FieldChange]] = {"planfix": [], "planningpme": []}
        for fr in self.rules.fields:
            v_pf = pf.canonical.get(fr.name) if fr.read_from("planfix") else None
            v_pme = pme.canonical.get(fr.name) if fr.read_from("planningpme") else None
            has_pf = fr.read_from("planfix") and fr.name in pf.canonical
            has_pme = fr.read_from("planningpme") and fr.name in pme.canonical
            if not (has_pf or has_pme):
                continue
            if has_pf and has_pme and v_pf == v_pme:
                merged[fr.name] = v_pf
                continue
            if has_pf and has_pme:
                source = self._resolve(fr, pf, pme) or self.rules.newest_fallback
            else:
                source = "planfix" if has_pf else "planningpme"
            value = v_pf if source == "planfix" else v_pme
            merged[fr.name] = value
            target = other(source)
            if fr.written_to(target):
                old = v_pme if target == "planningpme" else v_pf
                writes[target].append(FieldChange(fr.name, old, value))
        self.ops.append(
            Operation(
                "link",
                None,
                pf.key,
                pme.key,
                reason="same record on both sides"
                if rule == "match keys"
                else "marker names its counterpart",
                rule=rule,
                canonical=merged,
            )
        )
        for target in SIDES:
            if writes[target]:
                self.ops.append(
                    Operation(
                        "update",
                        target,
                        pf.key,
                        pme.key,
                        reason="values differ at first link",
                        rule=f"{rule}; conflict policy per field",
                        changes=tuple(writes[target]),
                        canonical=merged,
                    )
                )

    def _create(self, source: Observed, canonical: Mapping[str, Any], reason: str) -> Operation:
        target = other(source.side)
        changes = tuple(
            FieldChange(r.name, None, canonical[r.name])
            for r in self.rules.fields
            if r.written_to(target) and r.read_from(source.side) and r.name in canonical
        )
        return Operation(
            "create",
            target,
            source.key if source.side == "planfix" else None,
            source.key if source.side == "planningpme" else None,
            reason=reason,
            rule=f"created on {target} with marker {source.key}",
            changes=changes,
            canonical=dict(canonical),
            source_hash=source.hash,
        )


def read_back(
    rules: PairRules, link: LinkState, records: Iterable[Observed | None], *, defaults: bool = True
) -> Echo:
    """The link's echo once ``records`` were read: each side syncd wrote has its echo back, and
    the differences that are only that system's doing (``is_echo``) are held. ``defaults=False``:
    a value where syncd wrote none is not taken for a default (a record read in the archive
    values: no system files a record it was given into the archive by itself)."""
    awaiting = dict(link.echo.awaiting)
    held = {side: dict(values) for side, values in link.echo.held.items()}
    for rec in records:
        if rec is None or rec.side not in awaiting:
            continue
        wrote = awaiting.pop(rec.side)
        side_held = held.setdefault(rec.side, {})
        for rule in rules.fields:
            name = rule.name
            if name not in wrote or not rule.read_from(rec.side) or name not in rec.canonical:
                continue
            expected = link.echo.value(rec.side, name, link.canonical)
            value = rec.canonical[name]
            if _empty(expected) and not (rule.defaulted and defaults):
                continue  # a system fills in enumerations, never free fields
            if value != expected and is_echo(expected, value):
                side_held[name] = value
    return Echo(awaiting, {side: values for side, values in held.items() if values})


def changed_fields(
    rules: PairRules, link: LinkState, rec: Observed | None, *, defaults: bool = True
) -> dict[str, Any]:
    """The fields ``rec`` changed since the last sync, by the values its side is expected to hold
    (what the system did to syncd's own write is not a change; ``defaults``: see ``read_back``)."""
    if rec is None or rec.hash == link.hash(rec.side):
        return {}
    echo = read_back(rules, link, (rec,), defaults=defaults)
    changed: dict[str, Any] = {}
    for rule in rules.fields:
        if not rule.read_from(rec.side) or rule.name not in rec.canonical:
            continue
        value = rec.canonical[rule.name]
        if value != echo.value(rec.side, rule.name, link.canonical):
            changed[rule.name] = value
    return changed


def _settled(echo: Echo, base: Mapping[str, Any], merged: Mapping[str, Any]) -> Echo:
    """The echo after a merge: a field whose synced value changed is held by no side any more
    (one side has the new value, the other is written it), nor is one a side holds as synced."""
    held = {
        side: {
            name: value
            for name, value in values.items()
            if merged.get(name) == base.get(name) and value != merged.get(name)
        }
        for side, values in echo.held.items()
    }
    return Echo(echo.awaiting, {side: values for side, values in held.items() if values})
