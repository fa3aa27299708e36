"""Executes a Plan against the remote systems and the state database, one operation at a time.

Each operation is its own transaction in the state database, written right after the remote
write succeeds. A create is journalled first (an *intent*), and the new record carries the
marker, so a crash at any point leaves either nothing or a record the next run recognises
(``recover_intents``). One failing record goes to the failure queue; the others go on.

The applier asks the state database only what it does not know already: the cycle hands it the
links it loaded and the records that were failing, so applying an operation costs the remote
write and the transactions that record it, not a look-up per record besides.
"""

from __future__ import annotations

import contextvars
import json
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import structlog

from mappings.errors import MappingValueError
from state.errors import LinkConflict
from state.rows import AuditRow
from state.store import Store
from syncd.engine.links import link_state
from syncd.engine.pairs import Pair
from syncd.engine.planner import REOPEN_RULE, SIDES, Echo, LinkState, Observed, Operation, Plan, Side, other
from syncd.errors import (
    AuthError,
    FatalRemoteError,
    NotFoundError,
    QuotaExhaustedError,
    RecordError,
    RemoteError,
    TransientError,
)
from syncd.logs import redact

log = structlog.get_logger(__name__)

ABORT_AFTER_TRANSIENT = 3
"""Consecutive transient failures after which the remote is taken to be down for this cycle."""

SETTLING_KINDS = frozenset({"update", "refresh", "conflict", "delete", "archive", "unlink"})
"""Operations that decide every field of a link this cycle: a conflict they do not repeat is over."""


@dataclass(frozen=True)
class FailurePolicy:
    max_attempts: int = 8
    backoff_base_s: float = 60.0
    backoff_cap_s: float = 6 * 3600.0


@dataclass
class ApplyResult:
    """What was done; feeds the report, the audit summary and the exit code."""

    done: list[Operation] = field(default_factory=list)
    failed: list[tuple[Operation, str]] = field(default_factory=list)
    skipped: list[tuple[Operation, str]] = field(default_factory=list)
    aborted: str | None = None


class Applier:
    def __init__(
        self,
        store: Store,
        pair: Pair,
        cycle_id: int,
        now: Callable[[], datetime],
        failures: FailurePolicy,
        observed: Mapping[tuple[Side, str], Observed],
        should_stop: Callable[[], bool] = lambda: False,
        links: Iterable[LinkState] | None = None,
        failing: Collection[tuple[Side, str]] | None = None,
    ) -> None:
        """``links``: the pair's links as loaded for this plan (every link the plan names); None
        makes the applier look each one up. ``failing``: the records in the failure queue; None
        makes it clear the queue for every record it applies."""
        self.should_stop = should_stop
        self.store = store
        self.pair = pair
        self.cycle_id = cycle_id
        self.now = now
        self.failures = failures
        self.observed = observed
        self._links: dict[str, LinkState] | None = None
        self._by_pme: dict[str, str] = {}
        self._links_lock = threading.Lock()
        if links is not None:
            self._links = {}
            for link in links:
                self._remember(link)
        self._failing = None if failing is None else set(failing)
        self._wrote: dict[tuple[str, str], dict[Side, set[str]]] = {}
        """Per link, the fields each side was written this run (see ``_save_link``)."""
        self._held: set[tuple[str | None, str | None]] = set()
        """Links with a field in conflict in the plan being applied (see ``_save_link``)."""

    # -- entry point -------------------------------------------------------------------

    def apply(self, plan: Plan) -> ApplyResult:
        in_conflict: dict[tuple[str | None, str | None], set[str]] = {}
        for op in plan.operations:
            fields = in_conflict.setdefault((op.planfix_key, op.planningpme_key), set())
            fields.update(c.field for c in op.conflicts)
        waiting = {(c.planfix_key, c.planningpme_key) for c in self.store.pending_conflicts(self.pair.name)}
        self._held = {ident for ident, fields in in_conflict.items() if fields}
        for side in SIDES:
            self.pair.connectors[side].expect_updates(
                key
                for op in plan.operations
                if op.target == side and op.kind in ("update", "archive") and (key := op.key(side))
            )
        run = _Run(plan.operations, waiting, in_conflict)
        lanes = [lane for lane in _lanes(plan.operations) if lane]
        if len(lanes) < 2:
            for lane in lanes:
                self._run_lane(run, lane)
        else:
            # The two systems are written at the same time, each by its own thread behind its
            # own limiter, so a cycle that writes both takes as long as the slower one.
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"apply-{self.pair.name}") as pool:
                futures = [
                    pool.submit(contextvars.copy_context().run, self._run_lane, run, lane) for lane in lanes
                ]
                errors = [exc for f in futures if (exc := f.exception()) is not None]
            if errors:
                raise errors[0]
        return run.result()

    def _run_lane(self, run: _Run, lane: list[int]) -> None:
        """Apply the operations at these plan positions, in order (see ``_lanes``)."""
        transient_in_a_row = 0
        for index in lane:
            op = run.operations[index]
            ident = (op.planfix_key, op.planningpme_key)
            if run.aborted is None and self.should_stop():
                run.abort("stopping: the daemon was asked to stop")
            if run.aborted is not None:
                run.skipped[index] = run.aborted
                continue
            if ident in run.failed_links and op.kind != "create":
                run.skipped[index] = "an earlier step for this record failed"
                continue
            try:
                try:
                    self._apply_one(op)
                except LinkConflict as exc:
                    raise RecordError(str(exc), system="state") from None
                except MappingValueError as exc:
                    raise RecordError(str(exc), system="mapping") from None
            except (AuthError, FatalRemoteError, QuotaExhaustedError) as exc:
                run.abort(str(exc))  # the other lane stops too
                raise
            except (RecordError, TransientError) as exc:
                run.failed_links.add(ident)
                self._fail(op, exc)
                run.failed[index] = str(exc)
                if isinstance(exc, TransientError):
                    transient_in_a_row += 1
                    if transient_in_a_row >= ABORT_AFTER_TRANSIENT:
                        run.abort(f"{transient_in_a_row} transient failures in a row: {exc}")
                continue
            transient_in_a_row = 0
            run.done.add(index)
            self._clear_failures(op)
            if ident in run.waiting:
                self._settle_conflicts(op, run.in_conflict[ident])

    def record_unmappable(self, side: Side, key: str, error: str) -> None:
        """A record the mapping cannot translate goes to the failure queue like a refused write."""
        if self._failing is not None:
            self._failing.add((side, key))
        self.store.record_failure(
            self.pair.name,
            side,
            key,
            "map",
            redact(error),
            self.now(),
            max_attempts=self.failures.max_attempts,
            backoff_base_s=self.failures.backoff_base_s,
            backoff_cap_s=self.failures.backoff_cap_s,
        )

    # -- one operation ------------------------------------------------------------------

    def _apply_one(self, op: Operation) -> None:
        handler = {
            "create": self._create,
            "update": self._update,
            "delete": self._delete,
            "archive": self._delete,
            "link": self._link,
            "unlink": self._unlink,
            "refresh": self._refresh,
            "conflict": self._conflict,
            "defer": self._note,
            "report": self._note,
        }[op.kind]
        handler(op)

    # -- the links as they stand while the plan is applied ------------------------------------

    def _remember(self, link: LinkState) -> None:
        assert self._links is not None
        with self._links_lock:
            self._remember_unlocked(link)

    def _remember_unlocked(self, link: LinkState) -> None:
        assert self._links is not None
        stale = self._by_pme.get(link.planningpme_key)
        if stale is not None and stale != link.planfix_key:
            self._links.pop(stale, None)  # re-keyed: the link now has another Planfix key
        old = self._links.get(link.planfix_key)
        if old is not None and old.planningpme_key != link.planningpme_key:
            self._by_pme.pop(old.planningpme_key, None)
        self._links[link.planfix_key] = link
        self._by_pme[link.planningpme_key] = link.planfix_key

    def _forget(self, planfix_key: str) -> None:
        with self._links_lock:
            if self._links is not None and (old := self._links.pop(planfix_key, None)) is not None:
                self._by_pme.pop(old.planningpme_key, None)

    def _saved(
        self,
        pf_key: str,
        pme_key: str,
        canonical: Mapping[str, Any],
        pf_hash: str,
        pme_hash: str,
        echo: Echo,
    ) -> None:
        if self._links is not None:
            self._remember(LinkState(pf_key, pme_key, dict(canonical), pf_hash, pme_hash, echo))

    def _link_of(self, planfix_key: str | None) -> LinkState | None:
        if not planfix_key:
            return None
        if self._links is not None:
            return self._links.get(planfix_key)
        row = self.store.link_by_planfix(self.pair.name, planfix_key)
        if row is None:
            return None
        return link_state(row)

    def _hashes(self, op: Operation, written: set[Side], echo: Echo | None = None) -> dict[Side, str]:
        """Per side: the hash the record will read back with (written: the values written, and
        those it holds by itself) or as observed now."""
        hashes: dict[Side, str] = {}
        link = self._link_of(op.planfix_key)
        for side in SIDES:
            key = op.key(side)
            seen = self.observed.get((side, key)) if key else None
            if side in written:
                held = (echo or op.echo).held.get(side, {})
                hashes[side] = self.pair.side_hash(side, {**op.canonical, **held})
            elif seen is not None:
                hashes[side] = seen.hash
            elif link is not None:
                hashes[side] = link.planfix_hash if side == "planfix" else link.planningpme_hash
            else:
                hashes[side] = self.pair.side_hash(side, op.canonical)
        return hashes

    def _save_link(self, op: Operation, pf_key: str, pme_key: str, written: set[Side]) -> None:
        # Both sides of a link may be written by two steps of one plan: each step stores what
        # both wrote so far, so the second does not forget the read-back the first awaits.
        wrote = self._wrote.setdefault((pf_key, pme_key), {})
        for side in written:
            wrote.setdefault(side, set()).update(c.field for c in op.changes)
        echo = op.echo
        for side, names in wrote.items():
            echo = echo.wrote(side, names)
        hashes = self._hashes(op, set(wrote), echo)
        if (op.planfix_key, op.planningpme_key) in self._held:
            # A field of this link waits for a person: both records must still read as changed
            # next cycle, or one side's waiting value would be taken for the only change.
            link = self.store.link_by_planfix(self.pair.name, pf_key)
            if link is not None:
                hashes = {"planfix": link.planfix_hash, "planningpme": link.planningpme_hash}
        self.store.upsert_link(
            self.pair.name,
            pf_key,
            pme_key,
            dict(op.canonical),
            hashes["planfix"],
            hashes["planningpme"],
            self.now(),
            echo=echo.as_json(),
        )

    def _create(self, op: Operation) -> None:
        assert op.target is not None
        target = op.target
        source: Side = other(target)
        source_key = op.key(source)
        assert source_key is not None
        fields = [c.field for c in op.changes]
        payload = self.pair.mapper.payload(target, op.canonical, fields)
        payload = _deep_merge(payload, self.pair.mapper.marker_payload(target, source_key))
        intent = self.store.open_intent(
            self.pair.name, target, source_key, source_key, dict(op.canonical), self.now()
        )
        created = self.pair.connectors[target].create(payload, source_key)
        pf_key, pme_key = (source_key, created.key) if source == "planfix" else (created.key, source_key)
        # The new record awaits its read-back in every field: what the target fills in by itself
        # (a default status, a trimmed title) is adopted then, not taken for an edit.
        echo = Echo().wrote(target, self.pair.mapper.fields_read_from(target))
        hashes = self._hashes(replace(op, planfix_key=pf_key, planningpme_key=pme_key), {target}, echo)
        self.store.complete_intent(
            intent,
            planfix_key=pf_key,
            planningpme_key=pme_key,
            canonical=dict(op.canonical),
            planfix_hash=hashes["planfix"],
            planningpme_hash=hashes["planningpme"],
            now=self.now(),
            echo=echo.as_json(),
        )
        self._saved(pf_key, pme_key, op.canonical, hashes["planfix"], hashes["planningpme"], echo)
        self._audit(op, target, created.key, source_key)

    def _update(self, op: Operation) -> None:
        assert op.target is not None and op.planfix_key and op.planningpme_key
        key = op.key(op.target)
        assert key is not None
        seen = self.observed.get((op.target, key))
        current = seen.native if seen else None
        fields = [c.field for c in op.changes]
        connector = self.pair.connectors[op.target]
        if current is None and self.pair.mapper.needs_current(op.target, fields):
            # A field that keeps what the mapping cannot translate (a second phone, a resource no
            # table names) is written from the record as it is: read it, as the cycle did not.
            found = connector.get(key)
            if found is None:
                raise NotFoundError(f"{op.target} {key} does not exist", system=op.target)
            current = found.data
        # Values the target holds by itself are written as it holds them (a reopen writes back
        # the default status its record had); any other update never names those fields.
        values = {**op.canonical, **op.echo.held.get(op.target, {})}
        payload = self.pair.mapper.payload(op.target, values, fields, current=current)
        if op.rule == REOPEN_RULE:
            self._check_reopens(op.target, payload)
        connector.update(key, payload, current=current)
        written = {op.target}
        self._save_link(op, op.planfix_key, op.planningpme_key, written)
        self._audit(op, op.target, key, op.key(other(op.target)))

    def _check_reopens(self, side: Side, payload: Mapping[str, Any]) -> None:
        """A reopen must take the record out of the archive values, or the next cycle would see
        it archived again, take that for a deletion and delete the surviving record."""
        archive = self.pair.mapper.archive_payload(side)
        if self.pair.mapper.is_archived(side, _deep_merge(archive, payload)):
            raise RecordError(
                f"cannot reopen the archived {side} record: the surviving record gives no value "
                f"that takes it out of the archive ({', '.join(sorted(archive))}); set one by hand",
                system="mapping",
            )

    def _delete(self, op: Operation) -> None:
        assert op.target is not None and op.planfix_key and op.planningpme_key
        key = op.key(op.target)
        assert key is not None
        try:
            archive = self.pair.mapper.archive_payload(op.target) if op.kind == "archive" else None
            if archive:
                seen = self.observed.get((op.target, key))
                self.pair.connectors[op.target].update(key, archive, current=seen.native if seen else None)
            else:
                self.pair.connectors[op.target].delete(key)
        except NotFoundError:
            pass  # already gone: the goal is reached
        now = self.now()
        for side in SIDES:
            side_key = op.key(side)
            assert side_key is not None
            self.store.add_tombstone(self.pair.name, side, side_key, op.reason, now)
        self.store.delete_link(self.pair.name, op.planfix_key, op.planningpme_key)
        self._forget(op.planfix_key)
        self._audit(op, op.target, key, op.key(other(op.target)))

    def _link(self, op: Operation) -> None:
        assert op.planfix_key and op.planningpme_key
        self._save_link(op, op.planfix_key, op.planningpme_key, set())
        self._audit(op, None, op.planfix_key, op.planningpme_key)

    def _unlink(self, op: Operation) -> None:
        assert op.planfix_key and op.planningpme_key
        now = self.now()
        survivor_recreated = op.rule == "modification wins over deletion"
        for side in SIDES:
            key = op.key(side)
            assert key is not None
            gone = self.observed.get((side, key)) is None
            if not survivor_recreated or gone:
                self.store.add_tombstone(self.pair.name, side, key, op.reason, now)
        self.store.delete_link(self.pair.name, op.planfix_key, op.planningpme_key)
        self._forget(op.planfix_key)
        self._audit(op, None, op.planfix_key, op.planningpme_key)

    def _refresh(self, op: Operation) -> None:
        assert op.planfix_key and op.planningpme_key
        self._save_link(op, op.planfix_key, op.planningpme_key, set())

    def _conflict(self, op: Operation) -> None:
        assert op.planfix_key and op.planningpme_key
        link = self._link_of(op.planfix_key)
        base = link.canonical if link is not None else {}
        for change in op.conflicts:
            new = self.store.record_conflict(
                self.pair.name,
                op.planfix_key,
                op.planningpme_key,
                change.field,
                change.old,
                change.new,
                base.get(change.field),
                self.now(),
            )
            if new:
                self._audit(op, None, op.planfix_key, op.planningpme_key)
        if link is not None:
            # Keep the stored hashes: the record stays "changed" until the conflict is resolved.
            self.store.upsert_link(
                self.pair.name,
                op.planfix_key,
                op.planningpme_key,
                dict(op.canonical),
                link.planfix_hash,
                link.planningpme_hash,
                self.now(),
                echo=link.echo.as_json(),
            )
            self._saved(
                op.planfix_key,
                op.planningpme_key,
                op.canonical,
                link.planfix_hash,
                link.planningpme_hash,
                link.echo,
            )

    def _settle_conflicts(self, op: Operation, still_in_conflict: set[str]) -> None:
        """A waiting conflict that this cycle's merge no longer finds (a person made the sides agree,
        or put one back) or whose record is gone is settled: `syncd status` stops listing it."""
        if op.kind not in SETTLING_KINDS or not (op.planfix_key and op.planningpme_key):
            return
        for waiting in self.store.pending_conflicts(self.pair.name):
            same_link = (waiting.planfix_key, waiting.planningpme_key) == (op.planfix_key, op.planningpme_key)
            if same_link and waiting.field not in still_in_conflict:
                self.store.resolve_conflict(waiting.id, f"settled: {op.kind} ({op.rule})", self.now())

    def _note(self, op: Operation) -> None:
        log.info(
            f"plan.{op.kind}",
            pair=self.pair.name,
            planfix=op.planfix_key,
            planningpme=op.planningpme_key,
            reason=op.reason,
        )

    # -- bookkeeping -------------------------------------------------------------------

    def _audit(self, op: Operation, side: Side | None, key: str | None, other_key: str | None) -> None:
        fields = {c.field: [c.old, c.new] for c in (op.changes or op.conflicts)}
        self.store.audit(
            [
                AuditRow(
                    cycle_id=self.cycle_id,
                    at=self.now(),
                    pair=self.pair.name,
                    operation=op.kind,
                    side=side,
                    key=key,
                    other_key=other_key,
                    fields=json.loads(json.dumps(fields, default=str)),
                    rule=op.rule,
                    detail=op.reason,
                )
            ]
        )

    def _record_sides(self, op: Operation) -> list[tuple[Side, str]]:
        if op.kind == "create" and op.target is not None:
            key = op.key(other(op.target))
            return [(other(op.target), key)] if key else []
        return [(s, k) for s in SIDES if (k := op.key(s))]

    def _fail(self, op: Operation, exc: RemoteError) -> None:
        for side, key in self._record_sides(op):
            if self._failing is not None:
                self._failing.add((side, key))
            row = self.store.record_failure(
                self.pair.name,
                side,
                key,
                op.kind,
                redact(exc),
                self.now(),
                max_attempts=self.failures.max_attempts,
                backoff_base_s=self.failures.backoff_base_s,
                backoff_cap_s=self.failures.backoff_cap_s,
            )
            log.warning(
                "record.failed",
                pair=self.pair.name,
                operation=op.kind,
                side=side,
                key=key,
                error=str(exc),
                attempts=row.attempts,
                parked=row.parked,
            )

    def _clear_failures(self, op: Operation) -> None:
        for side, key in self._record_sides(op):
            if self._failing is None or (side, key) in self._failing:
                self.store.clear_failure(self.pair.name, side, key)
                if self._failing is not None:
                    self._failing.discard((side, key))


class _Run:
    """What the lanes of one ``apply`` share: the outcome per plan position, and the stop flag."""

    def __init__(
        self,
        operations: tuple[Operation, ...],
        waiting: set[tuple[str, str]],
        in_conflict: dict[tuple[str | None, str | None], set[str]],
    ) -> None:
        self.operations = operations
        self.waiting = waiting
        self.in_conflict = in_conflict
        self.done: set[int] = set()
        self.failed: dict[int, str] = {}
        self.skipped: dict[int, str] = {}
        self.failed_links: set[tuple[str | None, str | None]] = set()
        self.aborted: str | None = None
        self._lock = threading.Lock()

    def abort(self, why: str) -> None:
        with self._lock:
            if self.aborted is None:
                self.aborted = why

    def result(self) -> ApplyResult:
        """In plan order, whichever lane did what when."""
        ops = self.operations
        return ApplyResult(
            done=[ops[i] for i in sorted(self.done)],
            failed=[(ops[i], why) for i, why in sorted(self.failed.items())],
            skipped=[(ops[i], why) for i, why in sorted(self.skipped.items())],
            aborted=self.aborted,
        )


def _lanes(operations: Sequence[Operation]) -> list[list[int]]:
    """Plan positions split into two lanes that may run at the same time: one for the operations
    that write only PlanningPME, one for everything else (Planfix writes, state-only steps).

    Operations that share a record key (two steps for one link; an unlink and the create that
    brings the record back) stay together, in plan order, in one lane: only records that have
    nothing to do with each other are applied side by side.
    """
    parent: dict[tuple[Side, str], tuple[Side, str]] = {}

    def find(token: tuple[Side, str]) -> tuple[Side, str]:
        parent.setdefault(token, token)
        while parent[token] != token:
            parent[token] = parent[parent[token]]
            token = parent[token]
        return token

    tokens = [[(side, key) for side in SIDES if (key := op.key(side))] for op in operations]
    for keys in tokens:
        for token in keys[1:]:
            parent[find(token)] = find(keys[0])
    targets: dict[tuple[Side, str], set[Side | None]] = {}
    for op, keys in zip(operations, tokens, strict=True):
        targets.setdefault(find(keys[0]), set()).add(op.target)
    lanes: list[list[int]] = [[], []]
    for index, keys in enumerate(tokens):
        only_planningpme = targets[find(keys[0])] == {"planningpme"}
        lanes[1 if only_planningpme else 0].append(index)
    return lanes


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
