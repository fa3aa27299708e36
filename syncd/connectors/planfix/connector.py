"""Planfix tasks and contacts as ``Connector``s (syncd/connectors/base.py).

Every write goes out with ``<silent>1</silent>`` (the client adds it): the method pages call it
mandatory for periodic mass updates, and without it each write notifies people.

Tasks: changes are listed with the "modified since" filter from the cursor minus an overlap
window (the filter has minute granularity and a naive local zone). ``task.update`` resets every
parameter it is not given (``ПланФикс_API_task.update.md``), so an update reads the task right
before writing it and sends its whole writable state with only the mapped changes laid over it
(see tasks.py for what that state is). Reads for announced updates (``expect_updates``) are
batched: one ``task.getMulti`` reads the task to update and the next few announced ones
(``read_ahead``, 3 by default), and a copy read ahead is used only while it is younger than
``read_ahead_max_age`` (5 s). At Planfix's 1 request/s the copy a write carries is therefore at
most a few seconds old: ``copy_ages`` records the age of each written copy, from the end of its
read to the end of its write, so the window is measured, not assumed. There is no delete:
``delete`` moves the task to an archive status.

Contacts: ``contact.getList`` lists people unless asked for companies
(``ПланФикс_API_contact.getList.md``), so every listing reads both targets, asking for
``lastUpdateDate`` (returned only on request), which becomes the record's modification time.
There is no "modified since" filter for contacts, so every listing is a full scan. An update
sends only the changed fields (``contact.update`` is partial) plus the full, merged custom data;
it may use the copy the cycle has just read (``current``) when it sends no custom data.

Markers live in a string custom field and are written in the same request that creates the
record. They are looked up with the string custom-field filter (101 for tasks, 4101 for
contacts), which matches by "contains", so only exact matches are kept.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import httpx
import structlog

from syncd.connectors.base import Listing, NativeRecord, QuotaHint, RemoteRecord, Seen, System
from syncd.connectors.http import RetryPolicy
from syncd.connectors.planfix.client import PlanfixClient
from syncd.connectors.planfix.contacts import contact_add_params, contact_update_params, parse_contact
from syncd.connectors.planfix.filters import (
    CONTACT_STRING_FIELD,
    TASK_STRING_FIELD,
    custom_field_contains,
    modified_since,
)
from syncd.connectors.planfix.paging import PAGE_SIZE, read_pages
from syncd.connectors.planfix.tasks import parse_task, task_params, task_update_params
from syncd.connectors.planfix.times import MINUTE_FORMAT, floor_minute, from_local, split_moment, to_local
from syncd.connectors.planfix.values import merge_record
from syncd.connectors.planfix.xml import Element, ListPage, Param, list_page
from syncd.errors import NotFoundError, ProtocolError
from syncd.ratelimit import AccountLimiter
from syncd.settings import PlanfixSettings

log = structlog.get_logger(__name__)

DEFAULT_OVERLAP = timedelta(minutes=2)
READ_AHEAD = 3
"""Tasks one ``task.getMulti`` reads for updates that were announced (at most ``PAGE_SIZE``)."""
READ_AHEAD_MAX_AGE = 5.0
"""Seconds a task read ahead may wait for its update; an older copy is read again."""
IDENTITY_FIELDS = frozenset({"id", "general", "userid"})
LAST_UPDATE_DATE: Param = ("fields", [("field", "lastUpdateDate")])
"""Asks ``contact.get``/``contact.getList`` for the modification time they omit otherwise."""


def _changes(data: NativeRecord) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in IDENTITY_FIELDS}


def _custom_value(field_id: str, marker: str | None) -> Param:
    return ("customData", [("customValue", [("id", field_id), ("value", marker or "")])])


@dataclass
class CopyAges:
    """How old the copies of tasks were that updates wrote back (seconds, read end → write end)."""

    count: int = 0
    max: float = 0.0
    total: float = 0.0

    def observe(self, age: float) -> None:
        self.count += 1
        self.total += age
        self.max = max(self.max, age)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


class _PlanfixConnector(ABC):
    """What tasks and contacts share: listing pages, marker look-ups, the quota hint."""

    system: System = "planfix"
    entity: str
    _marker_filter: str
    _listings: tuple[tuple[Param, ...], ...] = ((),)
    """The parameters of each listing that together give every record (one per ``target``)."""
    _get_params: tuple[Param, ...] = ()
    """Extra parameters of ``<entity>.get``."""

    def __init__(self, client: PlanfixClient, *, marker_field: str) -> None:
        self._client = client
        self.marker_field = marker_field

    @abstractmethod
    def _parse(self, el: Element) -> RemoteRecord: ...

    def quota_hint(self) -> QuotaHint:
        return self._client.quota_hint()

    def _list(
        self, filters: Sequence[Param], *, strict: bool = False, seen: Seen | None = None
    ) -> tuple[list[RemoteRecord], bool]:
        """The records the filters select, de-duplicated, and whether the answer is whole.

        A record that cannot be read is left out and makes the answer incomplete (so its absence
        can never look like a delete); with ``strict`` it raises instead. ``seen`` gets each page's
        records as soon as the page is read.
        """
        method = f"{self.entity}.getList"
        plural = f"{self.entity}s"
        unique: dict[str, RemoteRecord] = {}
        unreadable = False

        def fetcher(listing: Sequence[Param]) -> Callable[[int], ListPage]:
            def fetch(page: int) -> ListPage:
                nonlocal unreadable
                params: list[Param] = [("pageCurrent", page), ("pageSize", PAGE_SIZE), *listing]
                if filters:
                    params.append(("filters", list(filters)))
                result = list_page(self._client.call(method, params), plural, self.entity, method=method)
                batch: list[RemoteRecord] = []
                for el in result.items:
                    try:
                        batch.append(self._parse(el))
                    except ProtocolError as exc:
                        if strict:
                            raise
                        log.error("planfix.unreadable_record", entity=self.entity, error=str(exc))
                        unreadable = True
                keep = seen(batch) if seen is not None and batch else None
                unique.update((r.key, r) for r in batch if keep is None or r.key in keep)
                return result

            return fetch

        complete = True
        for listing in self._listings:
            pages = read_pages(fetcher(listing), what=plural, strict=strict)
            complete = complete and pages.complete
        return list(unique.values()), complete and not unreadable

    def _get(self, key: str) -> RemoteRecord | None:
        method = f"{self.entity}.get"
        try:
            root = self._client.call(method, [(self.entity, [("id", key)]), *self._get_params])
        except NotFoundError:
            return None
        el = root.find(self.entity)
        if el is None:
            raise ProtocolError(f"reply to {method}: no <{self.entity}> in an ok reply", system="planfix")
        return self._parse(el)

    def _existing(self, key: str) -> RemoteRecord:
        current = self._get(key)
        if current is None:
            raise NotFoundError(f"{self.entity} {key} does not exist", system="planfix")
        return current

    def find_by_marker(self, marker: str) -> list[RemoteRecord]:
        """The string filter matches by "contains": keep only the records whose marker is ``marker``."""
        found, _ = self._list(
            [custom_field_contains(self._marker_filter, self.marker_field, marker)], strict=True
        )
        return [r for r in found if str((r.data.get("customData") or {}).get(self.marker_field)) == marker]

    def _timed_listing(
        self, read: Callable[[], tuple[list[RemoteRecord], bool]], *, full_scan: bool
    ) -> Listing:
        started = self._client.limiter.clock.now()
        before = self._client.counter.total
        records, complete = read()
        return Listing(
            records=records,
            complete=complete,
            full_scan=full_scan,
            cursor=started,
            requests=self._client.counter.total - before,
        )


class PlanfixTaskConnector(_PlanfixConnector):
    """Planfix tasks (native shape: see tasks.py)."""

    entity = "task"
    _marker_filter = TASK_STRING_FIELD
    # Every task, whatever its status or role, in a stable order so pages do not overlap.
    _listings = ((("target", "all"), ("sort", "NUMBER_ASC")),)

    def __init__(
        self,
        client: PlanfixClient,
        *,
        marker_field: str = "101",
        archive_status: str = "4",
        overlap: timedelta = DEFAULT_OVERLAP,
        read_ahead: int = READ_AHEAD,
        read_ahead_max_age: float = READ_AHEAD_MAX_AGE,
    ) -> None:
        super().__init__(client, marker_field=marker_field)
        self.archive_status = archive_status
        self.overlap = overlap
        self.read_ahead = max(1, min(PAGE_SIZE, read_ahead))
        self.read_ahead_max_age = read_ahead_max_age
        self.copy_ages = CopyAges()
        self._expected: dict[str, None] = {}
        self._ahead: dict[str, tuple[RemoteRecord | None, float]] = {}

    def _parse(self, el: Element) -> RemoteRecord:
        data = parse_task(el)
        return RemoteRecord(key=data["id"], data=data)

    def list_changed(
        self, since: datetime | None, *, full: bool = False, seen: Seen | None = None
    ) -> Listing:
        if since is None or full:
            return self._timed_listing(lambda: self._list([], seen=seen), full_scan=True)
        local = floor_minute(to_local(since - self.overlap, self._client.zone))
        log.debug("planfix.tasks_since", datefrom=local.strftime(MINUTE_FORMAT))
        return self._timed_listing(lambda: self._list([modified_since(local)], seen=seen), full_scan=False)

    def get(self, key: str) -> RemoteRecord | None:
        record = self._get(key)
        if record is not None and key in self._expected:
            # About to be updated (the applier reads first when the mapping keeps values it cannot
            # translate): this copy is as fresh as a read-ahead one, so the update uses it.
            self._ahead[key] = (record, self._client.limiter.clock.monotonic())
        return record

    def get_many(self, keys: Iterable[str]) -> list[RemoteRecord]:
        wanted = list(dict.fromkeys(keys))
        found: list[RemoteRecord] = []
        for start in range(0, len(wanted), PAGE_SIZE):
            found.extend(self._get_multi(wanted[start : start + PAGE_SIZE]))
        return found

    def _get_multi(self, batch: Sequence[str]) -> list[RemoteRecord]:
        root = self._client.call("task.getMulti", [("tasks", [("id", key) for key in batch])])
        return [self._parse(el) for el in list_page(root, "tasks", "task", method="task.getMulti").items]

    def expect_updates(self, keys: Iterable[str]) -> None:
        """The tasks about to be updated, in order: their reads are batched (module docstring)."""
        self._expected = dict.fromkeys(keys)
        self._ahead.clear()

    def _current(self, key: str) -> tuple[RemoteRecord, float]:
        """The task as it is now (read ahead a moment ago, or now with the next expected ones),
        and when that copy was read (the limiter clock's monotonic time)."""
        clock = self._client.limiter.clock
        self._expected.pop(key, None)
        ahead = self._ahead.pop(key, None)
        if ahead is not None and clock.monotonic() - ahead[1] <= self.read_ahead_max_age:
            record, read_at = ahead
        else:
            others = [k for k in self._expected if k not in self._ahead][: self.read_ahead - 1]
            if not others:
                return self._existing(key), clock.monotonic()
            found = {r.key: r for r in self._get_multi([key, *others])}
            read_at = clock.monotonic()
            self._ahead.update({k: (found.get(k), read_at) for k in others})
            record = found.get(key)
        if record is None:
            raise NotFoundError(f"task {key} does not exist", system="planfix")
        return record, read_at

    def create(self, data: NativeRecord, marker: str | None) -> RemoteRecord:
        record = _changes(data)
        if marker is not None:
            record["customData"] = {**dict(record.get("customData") or {}), self.marker_field: marker}
        root = self._client.call("task.add", [("task", task_params(record))], write=True, idempotent=False)
        task_id = (root.findtext("task/id") or "").strip()
        if not task_id:
            raise ProtocolError("reply to task.add: no task id", system="planfix")
        general = (root.findtext("task/general") or "").strip()
        return RemoteRecord(key=task_id, data={**record, "id": task_id, "general": general})

    def update(self, key: str, data: NativeRecord, *, current: NativeRecord | None = None) -> RemoteRecord:
        """``current`` is not used: the whole task is sent, so it is read right before (module docstring)."""
        found, read_at = self._current(key)
        merged = merge_record(found.data, _changes(data))
        if merged == found.data:
            return found
        params = task_update_params(merged)
        self._client.call("task.update", [("task", [("id", key), *params])], write=True)
        age = self._client.limiter.clock.monotonic() - read_at
        self.copy_ages.observe(age)
        log.debug("planfix.task_updated", key=key, copy_age_s=round(age, 3))
        return RemoteRecord(key=key, data=merged)

    def delete(self, key: str) -> None:
        self._ahead.pop(key, None)
        params: list[Param] = [("task", [("id", key)]), ("status", self.archive_status)]
        try:
            self._client.call("task.changeStatus", params, write=True)
        except NotFoundError:
            log.info("planfix.delete_already_gone", entity="task", key=key)

    def set_marker(self, key: str, marker: str | None) -> None:
        self._ahead.pop(key, None)
        params: list[Param] = [("task", [("id", key), _custom_value(self.marker_field, marker)])]
        self._client.call("task.updateCustomData", params, write=True)


class PlanfixContactConnector(_PlanfixConnector):
    """Planfix contacts, people and companies (native shape: see contacts.py)."""

    entity = "contact"
    _marker_filter = CONTACT_STRING_FIELD
    _listings = ((("target", "contact"), LAST_UPDATE_DATE), (("target", "company"), LAST_UPDATE_DATE))
    _get_params = (LAST_UPDATE_DATE,)

    def __init__(self, client: PlanfixClient, *, marker_field: str = "201") -> None:
        super().__init__(client, marker_field=marker_field)

    def _parse(self, el: Element) -> RemoteRecord:
        data = parse_contact(el)
        updated = split_moment(data["lastUpdateDate"]) if data["lastUpdateDate"] else None
        modified = None
        if updated is not None:
            day, at = updated
            modified = from_local(datetime.combine(day, at or time()), self._client.zone)
        return RemoteRecord(key=data["id"], data=data, modified=modified)

    def list_changed(
        self, since: datetime | None, *, full: bool = False, seen: Seen | None = None
    ) -> Listing:
        # No "modified since" filter exists for contacts: always read them all.
        return self._timed_listing(lambda: self._list([], seen=seen), full_scan=True)

    def get(self, key: str) -> RemoteRecord | None:
        return self._get(key)

    def get_many(self, keys: Iterable[str]) -> list[RemoteRecord]:
        found = (self._get(key) for key in dict.fromkeys(keys))
        return [record for record in found if record is not None]

    def create(self, data: NativeRecord, marker: str | None) -> RemoteRecord:
        record = _changes(data)
        if marker is not None:
            record["customData"] = {**dict(record.get("customData") or {}), self.marker_field: marker}
        root = self._client.call(
            "contact.add", [("contact", contact_add_params(record))], write=True, idempotent=False
        )
        ids = {tag: (root.findtext(f"contact/{tag}") or "").strip() for tag in ("id", "userid", "general")}
        if not ids["id"]:
            raise ProtocolError("reply to contact.add: no contact id", system="planfix")
        return RemoteRecord(key=ids["id"], data={**record, **ids})

    def expect_updates(self, keys: Iterable[str]) -> None:
        """Nothing to prepare: contacts cannot be read in batches."""

    def update(self, key: str, data: NativeRecord, *, current: NativeRecord | None = None) -> RemoteRecord:
        changes = _changes(data)
        if current is not None and "customData" not in changes and str(current.get("id")) == key:
            base = RemoteRecord(key=key, data=current)
        else:
            base = self._existing(key)
        merged = merge_record(base.data, changes)
        if merged == base.data:
            return base
        if "customData" in changes:
            changes["customData"] = merged["customData"]
        params = contact_update_params(base.data, changes)
        self._client.call("contact.update", [("contact", [("id", key), *params])], write=True)
        return RemoteRecord(key=key, data=merged, modified=base.modified)

    def delete(self, key: str) -> None:
        try:
            self._client.call("contact.delete", [("contact", [("id", key)])], write=True)
        except NotFoundError:
            log.info("planfix.delete_already_gone", entity="contact", key=key)

    def set_marker(self, key: str, marker: str | None) -> None:
        """Through ``update``: ``contact.update``'s page does not say whether custom values it is
        not given are kept, so like every contact write this one carries the merged custom data."""
        self.update(key, {"customData": {self.marker_field: marker or ""}})


@dataclass(frozen=True)
class PlanfixConnectors:
    """Both Planfix connectors over one client (one account, one limiter)."""

    client: PlanfixClient
    tasks: PlanfixTaskConnector
    contacts: PlanfixContactConnector

    def close(self) -> None:
        self.client.close()


def build_planfix(
    settings: PlanfixSettings,
    limiter: AccountLimiter,
    *,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    task_marker_field: str = "101",
    contact_marker_field: str = "201",
    archive_status: str = "4",
    overlap: timedelta = DEFAULT_OVERLAP,
) -> PlanfixConnectors:
    """The task and contact connectors for ``settings``' account, sharing ``limiter``."""
    client = PlanfixClient(settings, limiter, transport=transport, retry=retry)
    return PlanfixConnectors(
        client=client,
        tasks=PlanfixTaskConnector(
            client, marker_field=task_marker_field, archive_status=archive_status, overlap=overlap
        ),
        contacts=PlanfixContactConnector(client, marker_field=contact_marker_field),
    )
