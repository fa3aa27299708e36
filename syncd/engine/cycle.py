"""One sync pass for one entity pair: recover → read → observe → plan → guard → apply → cursors.

Both sides are read at the same time (each behind its own account limiter), so a cycle takes
about as long as the slower side, not the sum; records are mapped as their pages arrive, in the
reading threads, while the next page waits for the limiter. Cursors move only for sides that
were read completely, and never past the moment this cycle started reading: a change made while
the cycle runs is seen by the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from mappings.errors import MappingValueError
from state.rows import FailureRow, PushedChangeRow
from state.store import Store
from syncd.connectors.base import Listing, RemoteRecord
from syncd.engine.applier import Applier, ApplyResult, FailurePolicy
from syncd.engine.links import KnowsDeletions, LinkResolverFromStore, LinkSet
from syncd.engine.pairs import Pair
from syncd.engine.planner import (
    SIDES,
    Echo,
    GuardLimits,
    Observed,
    Plan,
    PlanInput,
    Side,
    SideView,
    changed_fields,
    guard_violation,
    other,
    plan,
)
from syncd.engine.readable import Readable, readable_of
from syncd.engine.scan import FullScan, resolved_related
from syncd.errors import GuardError, QuotaExhaustedError, RecordError
from syncd.logs import redact

log = structlog.get_logger(__name__)

CURSOR_KIND = "incremental"
PUSHED_PER_CYCLE = 1000
"""Pushed contact changes one cycle takes from the queue; the rest wait for the next cycle."""


@dataclass(frozen=True)
class CycleOptions:
    dry_run: bool = False
    force_delete: bool = False
    full: bool = False
    pushed_only: bool = False
    """A push-triggered cycle: Planfix contacts are read by key, only those pushed (see ``_read_both``)."""
    guard: GuardLimits = field(default_factory=lambda: GuardLimits(max_delete=50, max_delete_percent=10))
    failures: FailurePolicy = field(default_factory=FailurePolicy)


@dataclass
class CycleResult:
    pair: str
    started_at: datetime
    plan: Plan
    dry_run: bool
    listings: dict[Side, Listing]
    applied: ApplyResult | None = None
    recovered: list[str] = field(default_factory=list)
    guard: str | None = None
    cycle_id: int | None = None
    unmappable: list[tuple[Side, str, str]] = field(default_factory=list)
    """Records whose values the mapping cannot translate: (side, key, why). Queued as failures."""
    readable: Readable = field(default_factory=Readable)
    """How the report names the plan's records and shows their values (see ``syncd.engine.readable``)."""

    @property
    def failed(self) -> int:
        return (len(self.applied.failed) if self.applied else 0) + len(self.unmappable)


class Cycle:
    def __init__(
        self,
        store: Store,
        pair: Pair,
        options: CycleOptions,
        now: Callable[[], datetime],
        extra_keys: Mapping[Side, Iterable[str]] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.should_stop = should_stop
        self.store = store
        self.pair = pair
        self.options = options
        self.now = now
        self.extra_keys = {s: set((extra_keys or {}).get(s, ())) for s in SIDES}
        self._early: dict[Side, dict[str, tuple[RemoteRecord, Observed | str]]] = {s: {} for s in SIDES}
        """Records observed as their page arrived (see ``_read_both``), with the record observed."""
        self._archived: dict[Side, set[str]] = {s: set() for s in SIDES}
        """Keys counted as deleted because a person archived them (see ``_archived_as_deleted``)."""
        self._open_row: int | None = None
        """The cycle row opened for the writes, until it is finished."""

    # -- the pass -------------------------------------------------------------------------

    def run(self) -> CycleResult:
        """One pass. A used-up daily quota is recorded as a cycle, so `syncd status` can say so;
        and a cycle row opened for the writes is closed whatever stops them (an account-level
        error mid-apply), so no row is left looking as if it still ran."""
        started = self.now()
        try:
            return self._run(started)
        except QuotaExhaustedError as exc:
            if not self.options.dry_run:
                self._close_row(started, PAUSED_OUTCOME, exc)
            raise
        except Exception as exc:
            if self._open_row is not None:
                self._close_row(started, STOPPED_OUTCOME, exc)
            raise

    def _close_row(self, started: datetime, outcome: str, exc: Exception) -> None:
        now = self.now()
        summary: dict[str, Any] = {"system": getattr(exc, "system", None), "error": redact(exc)}
        if isinstance(exc, QuotaExhaustedError):
            resumes = now + timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
            summary["resumes_at"] = resumes.isoformat(timespec="seconds") if resumes else None
        cycle_id = (
            self._open_row
            if self._open_row is not None
            else self.store.start_cycle(self.pair.name, False, started)
        )
        self._open_row = None
        self.store.finish_cycle(cycle_id, outcome, summary, now)

    def _run(self, started: datetime) -> CycleResult:
        recovered = [] if self.options.dry_run else self._recover_intents()
        pushed = self._pushed_changes()
        self.extra_keys["planfix"].update(r.contact_id for r in pushed if r.action != "delete")
        failures = self.store.failures(self.pair.name)
        needed = {
            side: {*self.extra_keys[side], *(f.key for f in failures if f.side == side)} for side in SIDES
        }
        needed["planfix"].update(r.contact_id for r in pushed)
        listings, present, linked = self._read_both(started, needed)
        records: dict[Side, dict[str, RemoteRecord]] = {
            side: {r.key: r for r in listings[side].records} for side in SIDES
        }
        links = LinkSet(
            self.store,
            self.pair.name,
            everything=any(listing.full_scan for listing in listings.values()),
            linked=linked,
        )
        for side in SIDES:
            links.want(side, [*records[side], *listings[side].deleted, *self.extra_keys[side]])
        links.want("planfix", (r.contact_id for r in pushed))
        deleted = self._confirmed_deletions(listings, records, present, links)
        deleted = self._pushed_deletions(pushed, links, deleted)
        self._fetch_extra(records, present, links, failures)
        for side in SIDES:
            # Everything the planner will look up: the records' own links and their markers'.
            links.want(side, records[side])
            markers = (self.pair.usable_marker(side, r) for r in records[side].values())
            links.want(other(side), (m for m in markers if m))
        observed, unmappable = self._observe_all(records)
        deleted = self._archived_as_deleted(records, observed, links, deleted)
        tombstones = frozenset((s, k) for s, k in self.store.tombstones(self.pair.name) if s in SIDES)
        backing_off = frozenset(
            (f.side, f.key)
            for f in failures
            if f.side in SIDES and (f.parked or (f.next_retry_at is not None and f.next_retry_at > started))
        )
        views = {
            side: SideView(
                side,
                observed[side],
                deleted[side],
                listings[side].complete,
                archived=frozenset(self._archived[side]),
            )
            for side in SIDES
        }
        data = PlanInput(
            rules=self.pair.rules,
            links=links.states(),
            planfix=views["planfix"],
            planningpme=views["planningpme"],
            tombstones=tombstones,
            backing_off=backing_off,
        )
        the_plan = plan(data)
        result = CycleResult(
            self.pair.name,
            started,
            the_plan,
            self.options.dry_run,
            listings,
            recovered=recovered,
            unmappable=unmappable,
            readable=readable_of(self.pair, observed, the_plan),
        )
        violation = guard_violation(the_plan, links.count, self.options.guard)
        if violation and not self.options.force_delete:
            result.guard = violation
            if not self.options.dry_run:
                raise GuardError(
                    f"{violation}. Nothing was changed. Check the plan with --dry-run; "
                    "run with --force-delete if the deletions are intended."
                )
            return result
        if self.options.dry_run:
            return result
        cycle_id = self.store.start_cycle(self.pair.name, False, started)
        self._open_row = cycle_id
        result.cycle_id = cycle_id
        flat = {(side, key): obs for side in SIDES for key, obs in observed[side].items()}
        applier = Applier(
            self.store,
            self.pair,
            cycle_id,
            self.now,
            self.options.failures,
            flat,
            self.should_stop,
            links=links.states(),
            failing={(f.side, f.key) for f in failures if f.side in SIDES},
        )
        for side, key, error in unmappable:
            applier.record_unmappable(side, key, error)
        result.applied = applier.apply(the_plan)
        if result.applied.aborted is None:
            self._commit_cursors(listings, started)
            if pushed:
                self.store.mark_pushed_processed([r.id for r in pushed], self.now())
        self.store.finish_cycle(cycle_id, _outcome(result), summarise(result), self.now())
        self._open_row = None
        return result

    # -- steps ------------------------------------------------------------------------------

    def _read_both(
        self, started: datetime, needed: Mapping[Side, Collection[str]]
    ) -> tuple[dict[Side, Listing], dict[Side, Collection[str]], dict[Side, Collection[str]] | None]:
        """Both listings; per side every key they returned (a full scan keeps only the records it
        must plan with, see ``scan``, yet knows every key it saw); and, when both sides were
        scanned in full, every linked key the scans started from."""
        cursors = {
            side: None if self.options.full else self.store.get_cursor(self.pair.name, side, CURSOR_KIND)
            for side in SIDES
        }
        scans: dict[Side, FullScan] = {}

        def read(side: Side) -> Listing:
            since = cursors[side]
            early = self._early[side]
            if side == "planfix" and self.options.pushed_only and since is not None:
                # No listing (for contacts, that is every contact): ``_fetch_extra`` gets the pushed
                # ones by key. Nothing absent from it counts as gone, and the cursor stays put.
                return Listing((), complete=True, full_scan=False, cursor=since)
            if since is None:
                scans[side] = scan = FullScan(
                    self.store,
                    self.pair,
                    side,
                    needed=needed[side],
                    observe=lambda record: self._try_observe(side, record),
                    write=not (self.options.dry_run or self.store.readonly),
                )
                listing = self.pair.connectors[side].list_changed(None, full=True, seen=scan.seen(early))
                scan.flush()
                log.info("scan.sifted", pair=self.pair.name, side=side, **scan.summary())
                return listing

            def seen(batch: Sequence[RemoteRecord]) -> None:
                # Mapped here, in the reading thread, while the next page waits for the limiter.
                for record in batch:
                    early[record.key] = (record, self._try_observe(side, record))

            return self.pair.connectors[side].list_changed(since, full=False, seen=seen)

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"read-{self.pair.name}") as pool:
            futures = {side: pool.submit(read, side) for side in SIDES}
            listings = {side: futures[side].result() for side in SIDES}
        present: dict[Side, Collection[str]] = {
            side: scans[side].present if side in scans else {r.key for r in listings[side].records}
            for side in SIDES
        }
        linked = {side: scans[side].linked_keys() for side in SIDES} if len(scans) == len(SIDES) else None
        return listings, present, linked

    def _confirmed_deletions(
        self,
        listings: Mapping[Side, Listing],
        records: dict[Side, dict[str, RemoteRecord]],
        present: Mapping[Side, Collection[str]],
        links: LinkSet,
    ) -> dict[Side, frozenset[str]]:
        """Keys gone for sure. Only complete listings count; absence is confirmed with a ``get``."""
        result: dict[Side, frozenset[str]] = {}
        for side in SIDES:
            listing = listings[side]
            if not listing.complete:
                result[side] = frozenset()
                continue
            reported = {key for key in listing.deleted if links.get(side, key) is not None}
            missing: set[str] = set()
            if listing.full_scan:
                missing = links.missing_from(side, present[side]) - reported
            suspects = sorted(reported | missing)
            if not suspects:
                result[side] = frozenset()
                continue
            still_there = {r.key: r for r in self.pair.connectors[side].get_many(suspects)}
            for key, rec in still_there.items():
                records[side].setdefault(key, rec)
            result[side] = frozenset(k for k in suspects if k not in still_there)
            links.want(side, result[side])
        return result

    def _fetch_extra(
        self,
        records: dict[Side, dict[str, RemoteRecord]],
        present: Mapping[Side, Collection[str]],
        links: LinkSet,
        failures: Iterable[FailureRow],
    ) -> None:
        """Bring in records the listings did not show but the plan needs: due retries, pushed
        changes, and the counterparts named by markers of unlinked records."""
        wanted: dict[Side, set[str]] = {side: set(self.extra_keys[side]) for side in SIDES}
        started = self.now()
        for failure in failures:
            if (
                failure.side in SIDES
                and not failure.parked
                and (failure.next_retry_at is None or failure.next_retry_at <= started)
            ):
                wanted[failure.side].add(failure.key)
        for side in SIDES:
            for key, rec in records[side].items():
                if links.get(side, key) is not None:
                    continue
                marker = self.pair.usable_marker(side, rec)
                if marker and marker not in records[other(side)] and marker not in present[other(side)]:
                    wanted[other(side)].add(marker)
        # Linked counterparts of changed records are not needed: the link holds their last values.
        for side in SIDES:
            missing = sorted(wanted[side] - set(records[side]))
            if missing:
                for rec in self.pair.connectors[side].get_many(missing):
                    records[side][rec.key] = rec

    def _pushed_changes(self) -> list[PushedChangeRow]:
        """Contact changes Planfix pushed (seed 003): handled by this cycle like polled changes."""
        if self.pair.mapper.spec.planfix_entity != "contact":
            return []
        return self.store.pending_pushed_changes(limit=PUSHED_PER_CYCLE)

    def _pushed_deletions(
        self, pushed: list[PushedChangeRow], links: LinkSet, deleted: dict[Side, frozenset[str]]
    ) -> dict[Side, frozenset[str]]:
        """A contact removed from a list that feeds PlanningPME, where the admin said that removal
        means deletion (``push.delete_means_delete``): its customer goes, through the delete policy."""
        gone = {r.contact_id for r in pushed if r.action == "delete"}
        if not gone:
            return deleted
        linked = {key for key in gone if links.get("planfix", key) is not None}
        return {**deleted, "planfix": deleted["planfix"] | linked}

    def _observe_all(
        self, records: dict[Side, dict[str, RemoteRecord]]
    ) -> tuple[dict[Side, dict[str, Observed]], list[tuple[Side, str, str]]]:
        observed: dict[Side, dict[str, Observed]] = {side: {} for side in SIDES}
        unmappable: list[tuple[Side, str, str]] = []
        for side in SIDES:
            for key, rec in records[side].items():
                early = self._early[side].get(key)
                outcome = early[1] if early is not None and early[0] is rec else self._try_observe(side, rec)
                if isinstance(outcome, Observed):
                    observed[side][key] = outcome
                else:
                    unmappable.append((side, key, outcome))
                    log.warning("record.unmappable", pair=self.pair.name, side=side, key=key, error=outcome)
        return observed, unmappable

    def _try_observe(self, side: Side, record: RemoteRecord) -> Observed | str:
        """The record observed, or why the mapping cannot translate it (or its marker is no key)."""
        try:
            return self._observe(side, record)
        except (MappingValueError, RecordError) as exc:
            return str(exc)

    def _archived_as_deleted(
        self,
        records: Mapping[Side, Mapping[str, RemoteRecord]],
        observed: dict[Side, dict[str, Observed]],
        links: LinkSet,
        deleted: dict[Side, frozenset[str]],
    ) -> dict[Side, frozenset[str]]:
        """A record a person moved to the archive values (a canceled task) counts as deleted; one
        that came back from our own write (unchanged, or changed only by what the system did to
        that write) does not. Unlinked archived records take no part."""
        result = dict(deleted)
        for side in SIDES:
            gone = set(deleted[side])
            for key, obs in list(observed[side].items()):
                if not self.pair.mapper.is_archived(side, records[side][key].data):
                    continue
                link = links.get(side, key)
                if link is None:
                    observed[side][key] = replace(obs, included=False)
                elif changed_fields(self.pair.rules, link, obs, defaults=False):
                    gone.add(key)
                    self._archived[side].add(key)
                    del observed[side][key]
            result[side] = frozenset(gone)
        return result

    def _observe(self, side: Side, record: RemoteRecord) -> Observed:
        resolver = self.pair.mapper.ctx.links
        unresolved: list[str] = []
        for entity, key, found in resolved_related(self.pair, side, record):
            # A record whose related record was deleted must not wait for it forever: the other
            # side dropped the reference (or will), and that change is merged like any other.
            if found is None and not (
                isinstance(resolver, KnowsDeletions) and resolver.deleted(entity, side, key)
            ):
                unresolved.append(f"{entity} {key}")
        return self.pair.observe(side, record, tuple(unresolved))

    def _recover_intents(self) -> list[str]:
        """Creates that were journalled but not closed: the process died in between."""
        notes: list[str] = []
        for intent in self.store.open_intents(self.pair.name):
            target: Side = intent.target_side  # type: ignore[assignment]
            found = self.pair.connectors[target].find_by_marker(intent.marker)
            now = self.now()
            if not found:
                self.store.close_intent(intent.id, "not created", None, now)
                notes.append(
                    f"{target}: create for {intent.source_key} had not happened; it will be planned again"
                )
                continue
            created = sorted(found, key=lambda r: r.key)[0]
            source: Side = other(target)
            pf_key, pme_key = (
                (intent.source_key, created.key) if source == "planfix" else (created.key, intent.source_key)
            )
            canonical = intent.payload
            # Hashes are left empty so the next time either record is seen, its fields are compared;
            # the new record awaits its read-back like any create (see ``planner.Echo``).
            echo = Echo().wrote(target, self.pair.mapper.fields_read_from(target))
            self.store.upsert_link(self.pair.name, pf_key, pme_key, canonical, "", "", now, echo.as_json())
            self.store.close_intent(intent.id, "recovered", created.key, now)
            notes.append(f"{target}: create for {intent.source_key} had happened ({created.key}); linked")
            log.info(
                "intent.recovered",
                pair=self.pair.name,
                target=target,
                source=intent.source_key,
                key=created.key,
            )
        return notes

    def _commit_cursors(self, listings: Mapping[Side, Listing], started: datetime) -> None:
        for side in SIDES:
            listing = listings[side]
            if not listing.complete:
                continue
            value = listing.cursor if listing.cursor is not None and listing.cursor <= started else started
            self.store.set_cursor(self.pair.name, side, CURSOR_KIND, value, self.now())


PAUSED_OUTCOME = "paused: quota"
STOPPED_OUTCOME = "stopped: error"
"""An error no record can get past (credentials, the account, a bug) stopped the writes part-way."""
"""The outcome of a cycle stopped by a used-up request quota (its summary says until when)."""


def _outcome(result: CycleResult) -> str:
    if result.applied is None:
        return "planned"
    if result.applied.aborted:
        return "aborted"
    return "failed records" if result.applied.failed else "ok"


def summarise(result: CycleResult) -> dict[str, Any]:
    """Counts per operation and target, for the cycle record, `syncd status` and sd_notify."""
    counts: dict[str, int] = {}
    ops = result.applied.done if result.applied else list(result.plan.operations)
    for op in ops:
        label = f"{op.kind}:{op.target}" if op.target else op.kind
        counts[label] = counts.get(label, 0) + 1
    return {
        "pair": result.pair,
        "dry_run": result.dry_run,
        "operations": counts,
        "failed": result.failed,
        "requests": {side: result.listings[side].requests for side in SIDES},
        "complete": {side: result.listings[side].complete for side in SIDES},
        "recovered": len(result.recovered),
        "guard": result.guard,
    }


__all__ = [
    "Cycle",
    "CycleOptions",
    "CycleResult",
    "KnowsDeletions",
    "LinkResolverFromStore",
    "summarise",
    "timedelta",
]
