"""PlanningPME connectors: planned events ("do") and customers, behind the ``Connector`` protocol.

PlanningPME has no "modified since" filter, so changes are found in one of two ways:

* **history** (``GET /api/history?since=``): with a cursor, the operations since the cursor minus an
  overlap window name the changed keys; the records are then fetched one by one, or by one paged
  scan when that is cheaper. Deletes come straight from the history (``Listing.deleted``).
* **scan**: without a cursor, with ``full=True``, when the account has no history (404) or the
  cursor is older than ``history_horizon``, every record is read page by page (``full_scan=True``).

Events are scanned through ``POST /api/do/list`` with a date window (default 90 days back to 365
days ahead, whole days in the account's zone): **events entirely outside the window do not take
part** — a scan neither returns them nor, therefore, proves they exist. Customers have no window.

A listing that lost a page, or whose pages shifted under it, says ``complete=False``; its cursor is
then the old one, so nothing is skipped next time. The cursor is never later than the moment the
read started, expressed in the account's time zone.

``find_by_marker`` has no server-side filter to use: it reads every customer, or every event (no
date window, so a marker is found wherever its event lies), and compares ``fields.PLANFIX_ID`` —
about ``ceil(N / 100)`` requests for N records. It is meant for crash recovery and first matching,
not for every record of every cycle.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from syncd.connectors.base import Listing, NativeRecord, QuotaHint, RemoteRecord, Seen, System, check_key
from syncd.connectors.http import HttpTransport
from syncd.connectors.planningpme.client import PlanningPmeClient, is_giving_up, path_of
from syncd.connectors.planningpme.pagination import PAGE_SIZE, Page, PageIndexPaginator, read_pages
from syncd.errors import NotFoundError, ProtocolError, RecordError, RemoteError
from syncd.ratelimit import AccountLimiter
from syncd.settings import PlanningPmeSettings

MARKER_CODE = "PLANFIX_ID"
LOCAL_FORMAT = "%Y-%m-%dT%H:%M:%S"

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ScanOptions:
    """How the connectors read; the defaults suit an account of a few thousand records."""

    page_size: int = PAGE_SIZE
    overlap: timedelta = timedelta(minutes=5)
    """Re-read this much history before the cursor: clocks differ and history has 1 s granularity."""
    history_horizon: timedelta = timedelta(days=7)
    """A cursor older than this is not trusted to history (which is kept for a limited time)."""
    window_back: timedelta = timedelta(days=90)
    window_ahead: timedelta = timedelta(days=365)
    marker_code: str = MARKER_CODE


@dataclass(frozen=True)
class HistoryChanges:
    """What a run of history entries means for one entity: keys to re-read, keys that are gone."""

    changed: list[str]
    deleted: list[str]


def _key_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (2**63, key)


def summarise_history(entries: Iterable[Mapping[str, Any]], entity: str) -> HistoryChanges:
    """The last operation per key wins: Insert/Update → changed, Delete → deleted."""
    last: dict[str, str] = {}
    for entry in entries:
        op = entry.get("op")
        if entry.get("entity") != entity or op not in ("Insert", "Update", "Delete"):
            continue
        key = entry.get("key")
        if isinstance(key, bool) or not isinstance(key, int | str):
            raise ProtocolError("GET /api/history: an entry has no usable 'key'", system="planningpme")
        last[str(key)] = str(op)
    changed = sorted((k for k, op in last.items() if op != "Delete"), key=_key_order)
    deleted = sorted((k for k, op in last.items() if op == "Delete"), key=_key_order)
    return HistoryChanges(changed, deleted)


def prefer_scan(changed: int, known_total: int | None, page_size: int) -> bool:
    """True when one paged scan costs fewer requests than one GET per changed key."""
    if changed == 0:
        return False
    if known_total is None:
        return changed > page_size
    return max(1, math.ceil(known_total / page_size)) < changed


def _aware(moment: datetime) -> datetime:
    """Naive cursors are taken as UTC (the state stores UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Scan:
    records: list[RemoteRecord]
    complete: bool


class _PlanningPmeConnector:
    """What both PlanningPME entities share; subclasses say where their records live."""

    system: System = "planningpme"
    entity: str = ""
    api: str = ""
    """The API's name of the entity: the path under ``/api/`` and the history ``entity``."""

    def __init__(self, client: PlanningPmeClient, options: ScanOptions | None = None) -> None:
        self.client = client
        self.options = options or ScanOptions()
        self._known_total: int | None = None

    # Hooks -----------------------------------------------------------------------------------

    def _scope(self, now: datetime) -> Mapping[str, Any] | None:
        """The filter of a full scan (events: the date window); None = no filter."""
        return None

    def _everything(self) -> Mapping[str, Any] | None:
        """The filter that reaches every record (for ``find_by_marker``)."""
        return None

    def _fetch_page(self, params: dict[str, str], scope: Mapping[str, Any] | None) -> Page:
        raise NotImplementedError

    # Reading ---------------------------------------------------------------------------------

    def list_changed(
        self, since: datetime | None, *, full: bool = False, seen: Seen | None = None
    ) -> Listing:
        start = self.client.now()
        before = self.client.sent_by_this_thread()
        if since is None or full:
            listing = self._full(start, fallback=None, seen=seen)
        elif start - _aware(since) > self.options.history_horizon:
            log.info("planningpme.cursor_too_old", entity=self.entity, since=since.isoformat())
            listing = self._full(start, fallback=since, seen=seen)
        else:
            listing = self._incremental(_aware(since), start, seen)
        return replace(listing, requests=self.client.sent_by_this_thread() - before)

    def _full(self, start: datetime, fallback: datetime | None, seen: Seen | None = None) -> Listing:
        scan = self._scan(self._scope(start), remember_total=True, seen=seen)
        cursor = start if scan.complete else fallback
        return Listing(scan.records, complete=scan.complete, full_scan=True, cursor=cursor)

    def _incremental(self, since: datetime, start: datetime, seen: Seen | None = None) -> Listing:
        try:
            entries, history_complete = self._read_history(since - self.options.overlap)
        except NotFoundError:
            log.info("planningpme.history_unavailable", entity=self.entity)
            return self._full(start, fallback=since, seen=seen)
        changes = summarise_history(entries, self.api)
        if prefer_scan(len(changes.changed), self._known_total, self.options.page_size):
            scan = self._scan(self._scope(start), remember_total=True, seen=seen)
            complete = scan.complete and history_complete
            cursor = start if complete else since
            return Listing(scan.records, complete, full_scan=True, deleted=changes.deleted, cursor=cursor)
        records, fetched_all, gone = self._fetch_each(changes.changed, seen)
        complete = history_complete and fetched_all
        deleted = sorted(set(changes.deleted) | gone, key=_key_order)
        cursor = start if complete else since
        return Listing(records, complete, full_scan=False, deleted=deleted, cursor=cursor)

    def _read_history(self, since: datetime) -> tuple[list[dict[str, Any]], bool]:
        since_text = since.astimezone(self.client.zone).strftime(LOCAL_FORMAT)
        paginator = PageIndexPaginator(self.options.page_size, append_only=True, track_keys=False)
        label = "GET /api/history"

        def fetch(params: dict[str, str]) -> Page:
            body = self.client.request("GET", label, "api/history", params={**params, "since": since_text})
            return Page.parse(body, label)

        entries: list[dict[str, Any]] = []
        try:
            for page in read_pages(paginator, fetch):
                entries.extend(page.items)
        except RemoteError as exc:
            if is_giving_up(exc) or paginator.pages_read == 0:
                raise
            log.warning("planningpme.page_failed", entity=self.entity, list=label, error=str(exc))
            return entries, False
        return entries, not paginator.unstable

    def _fetch_each(
        self, keys: Iterable[str], seen: Seen | None = None
    ) -> tuple[list[RemoteRecord], bool, set[str]]:
        records: list[RemoteRecord] = []
        gone: set[str] = set()
        fetched_all = True
        for key in keys:
            try:
                records.append(self._get(key))
                if seen is not None:
                    seen(records[-1:])
            except NotFoundError:
                gone.add(key)
            except RemoteError as exc:
                if is_giving_up(exc):
                    raise
                fetched_all = False
                log.warning("planningpme.get_failed", entity=self.entity, key=key, error=str(exc))
        return records, fetched_all, gone

    def _scan(
        self,
        scope: Mapping[str, Any] | None,
        *,
        remember_total: bool = False,
        strict: bool = False,
        seen: Seen | None = None,
    ) -> _Scan:
        """Every record in ``scope``, page by page in key order. A failure on the first page (or on
        any page when ``strict``) raises; a later one ends the scan as incomplete."""
        paginator = PageIndexPaginator(self.options.page_size)
        found: dict[str, RemoteRecord] = {}
        try:
            for page in read_pages(paginator, lambda params: self._fetch_page(params, scope)):
                batch = [self._record(item, f"list of {self.api}") for item in page.items]
                keep = seen(batch) if seen is not None and batch else None
                found.update((record.key, record) for record in batch if keep is None or record.key in keep)
        except RemoteError as exc:
            if strict or is_giving_up(exc) or paginator.pages_read == 0:
                raise
            log.warning(
                "planningpme.page_failed", entity=self.entity, page=paginator.page_index, error=str(exc)
            )
            return _Scan(list(found.values()), complete=False)
        if remember_total:
            self._known_total = paginator.total_items
        if paginator.unstable:
            log.warning("planningpme.scan_shifted", entity=self.entity, total=paginator.total_items)
        return _Scan(list(found.values()), complete=not paginator.unstable)

    def _record(self, item: Any, label: str) -> RemoteRecord:
        if not isinstance(item, dict) or item.get("key") is None or isinstance(item.get("key"), bool):
            raise ProtocolError(f"{label}: a record without a 'key'", system="planningpme")
        return RemoteRecord(key=str(item["key"]), data=item)

    def _get(self, key: str) -> RemoteRecord:
        label = f"GET /api/{self.api}/{{key}}"
        check_key(self.system, key, what=label)
        return self._record(self.client.request("GET", label, path_of(self.api, key)), label)

    def get(self, key: str) -> RemoteRecord | None:
        try:
            return self._get(key)
        except NotFoundError:
            return None

    def get_many(self, keys: Iterable[str]) -> list[RemoteRecord]:
        """One GET per key: PlanningPME has no batch read by key."""
        found = (self.get(key) for key in dict.fromkeys(keys))
        return [record for record in found if record is not None]

    def find_by_marker(self, marker: str) -> list[RemoteRecord]:
        scan = self._scan(self._everything(), strict=True)
        if not scan.complete:  # the list moved under us: one more pass before trusting a miss
            scan = self._scan(self._everything(), strict=True)
        code = self.options.marker_code
        return [
            r
            for r in scan.records
            if isinstance(r.data.get("fields"), Mapping)
            and r.data["fields"].get(code) is not None
            and str(r.data["fields"][code]) == marker
        ]

    def quota_hint(self) -> QuotaHint:
        return self.client.quota_hint()

    # Writing ---------------------------------------------------------------------------------

    def _body(self, data: NativeRecord) -> dict[str, Any]:
        body = {name: value for name, value in data.items() if name != "key"}
        if "fields" in body and body["fields"] is not None and not isinstance(body["fields"], Mapping):
            raise RecordError("fields: expected an object of custom field codes", system="planningpme")
        return body

    def create(self, data: NativeRecord, marker: str | None) -> RemoteRecord:
        body = self._body(data)
        if marker is not None:
            body["fields"] = {**dict(body.get("fields") or {}), self.options.marker_code: marker}
        label = f"POST /api/{self.api}"
        reply = self.client.request(
            "POST", label, path_of(self.api), body=body, idempotent=False, priority="write"
        )
        return self._record(reply, label)

    def update(self, key: str, data: NativeRecord, *, current: NativeRecord | None = None) -> RemoteRecord:
        """A partial PUT: only the properties (and custom field codes) in ``data`` are sent, so
        nothing needs reading first (``current`` is not needed)."""
        label = f"PUT /api/{self.api}/{{key}}"
        check_key(self.system, key, what=label)
        reply = self.client.request(
            "PUT", label, path_of(self.api, key), body=self._body(data), priority="write"
        )
        return self._record(reply, label)

    def delete(self, key: str) -> None:
        """Raises ``NotFoundError`` when the record is already gone (the caller decides)."""
        label = f"DELETE /api/{self.api}/{{key}}"
        check_key(self.system, key, what=label)
        self.client.request("DELETE", label, path_of(self.api, key), priority="write")

    def set_marker(self, key: str, marker: str | None) -> None:
        self.update(key, {"fields": {self.options.marker_code: marker}})

    def expect_updates(self, keys: Iterable[str]) -> None:
        """Nothing to prepare: updates are partial PUTs that read nothing first."""


class PlanningPmeEventConnector(_PlanningPmeConnector):
    """Planned events ("do"); full scans cover the configured date window only."""

    entity = "event"
    api = "do"

    def _scope(self, now: datetime) -> Mapping[str, Any] | None:
        day = now.astimezone(self.client.zone).replace(hour=0, minute=0, second=0, microsecond=0)
        last = day + self.options.window_ahead + timedelta(days=1) - timedelta(seconds=1)
        return {
            "dateFrom": (day - self.options.window_back).strftime(LOCAL_FORMAT),
            "dateTo": last.strftime(LOCAL_FORMAT),
        }

    def _everything(self) -> Mapping[str, Any] | None:
        return {}

    def _fetch_page(self, params: dict[str, str], scope: Mapping[str, Any] | None) -> Page:
        label = "POST /api/do/list"
        body = self.client.request(
            "POST", label, "api/do/list", params={**params, "sortInfo": "key+"}, body=dict(scope or {})
        )
        return Page.parse(body, label)


class PlanningPmeCustomerConnector(_PlanningPmeConnector):
    """Customers; every customer takes part."""

    entity = "customer"
    api = "customer"

    def _fetch_page(self, params: dict[str, str], scope: Mapping[str, Any] | None) -> Page:
        label = "GET /api/customer"
        body = self.client.request("GET", label, "api/customer", params={**params, "sortInfo": "key+"})
        return Page.parse(body, label)


def build_planningpme(
    settings: PlanningPmeSettings,
    limiter: AccountLimiter,
    *,
    transport: httpx.BaseTransport | HttpTransport | None = None,
    options: ScanOptions | None = None,
) -> tuple[PlanningPmeEventConnector, PlanningPmeCustomerConnector]:
    """Both connectors of one account, sharing one client (one token, one limiter).

    ``transport`` is for tests: an httpx transport (e.g. ``MockTransport``) or a ready
    ``HttpTransport``. Close the account with ``connector.client.close()``.
    """
    if isinstance(transport, HttpTransport):
        client = PlanningPmeClient(settings, limiter, http=transport)
    else:
        client = PlanningPmeClient(settings, limiter, transport=transport)
    return PlanningPmeEventConnector(client, options), PlanningPmeCustomerConnector(client, options)
