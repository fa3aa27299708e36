"""Builds what a run needs from the settings: limiters, connectors, mappers, the state store.

The only place that knows which connector module serves which entity; the core never imports
a connector's internals (the bugwarrior rule, checked by the architecture test).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from mappings.context import LinkResolver
from mappings.engine import Mapper, MappingContext
from mappings.errors import MappingFileError
from mappings.loading import load_mapping
from mappings.spec import MappingSpec
from state.errors import StateCorrupt, StateFileError, StateLocked
from state.store import Store
from syncd.connectors.base import Connector
from syncd.connectors.planfix.connector import build_planfix
from syncd.connectors.planningpme.connector import build_planningpme
from syncd.engine.applier import FailurePolicy
from syncd.engine.cycle import CycleOptions, LinkResolverFromStore
from syncd.engine.foresight import ForeseenLinks
from syncd.engine.pairs import Pair
from syncd.engine.planner import GuardLimits, Side
from syncd.errors import MappingError, StateCorruptError, StateError, StateLockedError
from syncd.ratelimit import AccountLimiter, Clock, planfix_limiter, planningpme_limiter
from syncd.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


def load_mappings(settings: Settings, base_dir: Path) -> list[MappingSpec]:
    """Load every configured mapping; a bad file is a MappingError naming file and field."""
    specs: list[MappingSpec] = []
    for ref in settings.sync.mappings:
        try:
            specs.append(load_mapping(ref, base_dir))
        except MappingFileError as exc:
            raise MappingError(str(exc)) from None
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MappingError(f"sync.mappings: two mappings share the name {', '.join(duplicates)}")
    # Contacts before tasks: a task's client must be linked before the task is.
    return sorted(specs, key=lambda s: 0 if s.planfix_entity == "contact" else 1)


@contextmanager
def open_store(path: Path, *, readonly: bool = False) -> Iterator[Store]:
    """The state store, with its own errors turned into syncd's."""
    try:
        store = Store.open(path, readonly=readonly)
    except StateLocked as exc:
        raise StateLockedError(str(exc)) from None
    except StateCorrupt as exc:
        raise StateCorruptError(str(exc)) from None
    except StateFileError as exc:
        raise StateError(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


@dataclass
class Remotes:
    """The four connectors and the two account limiters of one process."""

    limiters: dict[Side, AccountLimiter]
    by_entity: dict[str, Connector]
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self.closers:
            close()

    def requests(self) -> dict[Side, int]:
        """Requests sent so far, per system (for reports and the demo)."""
        counts: dict[Side, int] = {"planfix": 0, "planningpme": 0}
        seen: set[int] = set()
        for connector in self.by_entity.values():
            client = getattr(connector, "client", None) or getattr(connector, "_client", None)
            counter = getattr(client, "counter", None)
            if counter is not None and id(counter) not in seen:
                seen.add(id(counter))
                counts[connector.system] += counter.total
        return counts


_CUSTOM_FIELD = re.compile(r"^customData\[(\d+)\]$")
_PME_FIELD = re.compile(r"^fields\.([A-Z0-9_]+)$")


def _marker(specs: list[MappingSpec], entity: str, default: str) -> str:
    for spec in specs:
        for side_entity, path in (
            (spec.planfix_entity, spec.planfix_marker),
            (spec.planningpme_entity, spec.planningpme_marker),
        ):
            if side_entity == entity:
                found = _CUSTOM_FIELD.match(path) or _PME_FIELD.match(path)
                if found:
                    return found.group(1)
    return default


def build_remotes(
    settings: Settings,
    specs: list[MappingSpec] | None = None,
    clock: Clock | None = None,
    transports: Mapping[Side, httpx.BaseTransport] | None = None,
) -> Remotes:
    zone = ZoneInfo(settings.planfix.timezone)
    limiters: dict[Side, AccountLimiter] = {
        "planfix": planfix_limiter(
            settings.planfix.requests_per_second,
            settings.planfix.daily_quota,
            settings.planfix.quota_reserve,
            zone,
            clock,
        ),
        "planningpme": planningpme_limiter(settings.planningpme.requests_per_hour, clock),
    }
    t = transports or {}
    found = specs or []
    planfix = build_planfix(
        settings.planfix,
        limiters["planfix"],
        transport=t.get("planfix"),
        task_marker_field=_marker(found, "task", "101"),
        contact_marker_field=_marker(found, "contact", "201"),
    )
    events, customers = build_planningpme(
        settings.planningpme, limiters["planningpme"], transport=t.get("planningpme")
    )
    return Remotes(
        limiters,
        {"task": planfix.tasks, "contact": planfix.contacts, "event": events, "customer": customers},
        [planfix.close, events.client.close],
    )


def build_pairs(
    settings: Settings, specs: list[MappingSpec], remotes: Remotes, store: Store, *, dry_run: bool = False
) -> list[Pair]:
    """The pairs, in ``specs`` order. For a dry run, their link resolver also answers from the plans
    of the pairs planned before (see ``syncd.engine.foresight``)."""
    pairs_by_entity: dict[str, str] = {s.planfix_entity: s.name for s in specs}
    pairs_by_entity.update({s.planningpme_entity: s.name for s in specs})
    links: LinkResolver = LinkResolverFromStore(store, pairs_by_entity)
    ctx = MappingContext(
        planfix_zone=ZoneInfo(settings.planfix.timezone),
        planningpme_zone=ZoneInfo(settings.planningpme.timezone),
        links=ForeseenLinks(links, pairs_by_entity) if dry_run else links,
    )
    return [
        Pair(
            name=spec.name,
            mapper=Mapper(spec, ctx),
            connectors={
                "planfix": remotes.by_entity[spec.planfix_entity],
                "planningpme": remotes.by_entity[spec.planningpme_entity],
            },
        )
        for spec in specs
    ]


Now = Callable[[], datetime]


def cycle_options(settings: Settings, *, dry_run: bool, force_delete: bool, full: bool) -> CycleOptions:
    """What a cycle may do, from the settings: shared by the service and the one-shot commands."""
    return CycleOptions(
        dry_run=dry_run,
        force_delete=force_delete,
        full=full,
        guard=GuardLimits(settings.sync.max_delete, settings.sync.max_delete_percent),
        failures=FailurePolicy(
            settings.sync.max_attempts, settings.sync.retry_backoff, settings.sync.retry_backoff_cap
        ),
    )
