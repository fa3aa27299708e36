"""PlanningPME connectors: planned events ("do") and customers, behind the ``Connector`` protocol.

PlanningPME has no "modified since" filter, so changes are found in one of two ways:

* **history** (``GET /api/history?since=``): with a cursor, the operations since the cursor minus an
  overlap window name the changed keys; the records are then fetched one by one, or by one paged
  scan when that is cheaper. Deletes come straight from the history (``Listing.deleted``).
* **scan**: without a cursor, with ``full=True``, or when the cursor is older than
  ``history_horizon``, every record is read page by page (``full_scan=True``).

A history the connector does not understand never means "nothing changed": no history endpoint
(404, or ``history_path = ""``), a reply that is not a list of entries, or an entry of an unknown
type, operation or shape makes that cycle a full (windowed) read whose cursor stays where it was,
and a warning is logged once per cause and connector. Every path, the list body, the history's
types and operations are ``[planningpme]`` settings (defaults in ``assumptions``).

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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from syncd.connectors.base import Listing, NativeRecord, QuotaHint, RemoteRecord, Seen, System, check_key
from syncd.connectors.http import HttpTransport
from syncd.connectors.planningpme.assumptions import (
    ENUM_FIELDS,
    HISTORY_OPS,
    HISTORY_TYPES,
    DateFormat,
    HistoryEffect,
    HistoryTarget,
    fill_list_body,
)
from syncd.connectors.planningpme.client import PlanningPmeClient, is_giving_up, path_of
from syncd.connectors.planningpme.dates import date_form, format_moment, read_date, write_date
from syncd.connectors.planningpme.enums import EnumNames
from syncd.connectors.planningpme.pagination import PAGE_SIZE, Page, PageIndexPaginator, read_pages
from syncd.errors import NotFoundError, ProtocolError, RecordError, RemoteError
from syncd.ratelimit import AccountLimiter
from syncd.settings import PlanningPmeSettings

MARKER_CODE = "PLANFIX_ID"

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
    """What a run of history entries means for one entity: keys to re-read, keys that are gone,
    and why some entries were not understood (then the history cannot prove what did not change)."""

    changed: list[str]
    deleted: list[str]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryRules:
    """How history entries are read: ``[planningpme] history_types`` and ``history_ops``, and the
    names of enum numbers (``/api/config``) for entries that give numbers."""

    types: Mapping[str, HistoryTarget] = field(default_factory=lambda: dict(HISTORY_TYPES))
    ops: Mapping[str, HistoryEffect] = field(default_factory=lambda: dict(HISTORY_OPS))
    enums: EnumNames = field(default_factory=EnumNames.fallback)


def _key_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (2**63, key)


def _usable_key(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
        return None
    return str(value).strip()


def _read_entry(entry: object, rules: HistoryRules) -> tuple[HistoryTarget, HistoryEffect, str] | str:
    """(what it is about, what it did, key) or the reason it is not understood."""
    if not isinstance(entry, Mapping):
        return "a history entry that is not an object"
    if "entity" in entry:
        kind = entry["entity"]
    elif "type" in entry:
        kind = rules.enums.name("HistoryType", entry["type"])
    else:
        return "a history entry with neither 'entity' nor 'type'"
    if not isinstance(kind, str) or kind not in rules.types:
        return f"history entries of type {kind!r} (not in planningpme.history_types)"
    op = rules.enums.name("HistoryOp", entry.get("op"))
    if not isinstance(op, str) or op not in rules.ops:
        return f"history operation {op!r} (not in planningpme.history_ops)"
    target, effect = rules.types[kind], rules.ops[op]
    if target == "ignore" or effect == "ignore":
        return target, effect, ""
    key = _usable_key(entry.get("key"))
    if key is None:
        return "a history entry without a usable 'key'"
    return target, effect, key


def summarise_history(
    entries: Iterable[object], entity: str, rules: HistoryRules | None = None
) -> HistoryChanges:
    """The last operation per key of ``entity`` (``event`` or ``customer``) wins. Entries that are
    not understood are named in ``problems``; the ones understood are still summarised."""
    last: dict[str, HistoryEffect] = {}
    problems: list[str] = []
    reading_rules = rules or HistoryRules()
    for entry in entries:
        reading = _read_entry(entry, reading_rules)
        if isinstance(reading, str):
            if reading not in problems:
                problems.append(reading)
            continue
        target, effect, key = reading
        if target == entity and effect != "ignore":
            last[key] = effect
    changed = sorted((k for k, op in last.items() if op == "changed"), key=_key_order)
    deleted = sorted((k for k, op in last.items() if op == "deleted"), key=_key_order)
    return HistoryChanges(changed, deleted, tuple(problems))


def _gives_numbers(entries: Iterable[object]) -> bool:
    return any(
        isinstance(entry, Mapping)
        and any(isinstance(entry.get(n), int) and not isinstance(entry.get(n), bool) for n in ("type", "op"))
        for entry in entries
    )


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
class _NotUnderstood:
    """Why the history cannot be trusted this cycle; ``deleted`` are the deletes it did report."""

    cause: str
    detail: str
    causes: tuple[str, ...] = ()
    deleted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryProbe:
    """What ``probe_history`` found: whether cycles will use the history, and why not."""

    usable: bool
    detail: str


@dataclass(frozen=True)
class _Scan:
    records: list[RemoteRecord]
    complete: bool


class _PlanningPmeConnector:
    """What both PlanningPME entities share; subclasses say where their records live."""

    system: System = "planningpme"
    entity: str = ""

    def __init__(self, client: PlanningPmeClient, options: ScanOptions | None = None) -> None:
        self.client = client
        self.options = options or ScanOptions()
        self.settings = client.settings
        self._known_total: int | None = None
        self._warned: set[str] = set()
        self.reply_date_forms: set[DateFormat] = set()
        """The forms of date-time the account's replies used so far (for ``syncd check``: records
        are normalised to local time, so the form is kept here)."""

    @property
    def api(self) -> str:
        """Where the records live under ``/{brand}/`` (a ``[planningpme]`` setting)."""
        raise NotImplementedError

    def _date_fields(self) -> Iterable[str]:
        return ()

    def _enum_fields(self) -> Mapping[str, str]:
        return ENUM_FIELDS.get(self.entity, {})

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

    def _warn_once(self, cause: str, **details: Any) -> None:
        """One warning per cause and connector: a fallback that repeats every cycle says so once."""
        if cause not in self._warned:
            self._warned.add(cause)
            log.warning("planningpme.history_not_understood", entity=self.entity, cause=cause, **details)

    def _fallback(
        self, since: datetime, start: datetime, seen: Seen | None, deleted: Iterable[str] = ()
    ) -> Listing:
        """A full (windowed) read instead of a history not understood. The cursor stays at ``since``:
        the history past it was not understood, so the next cycle must not start after it."""
        scan = self._scan(self._scope(start), remember_total=True, seen=seen)
        return Listing(scan.records, scan.complete, full_scan=True, deleted=list(deleted), cursor=since)

    def _understand_history(self, since: datetime) -> tuple[HistoryChanges, bool] | _NotUnderstood:
        """The history since ``since`` summarised for this entity (and whether every page was read),
        or why it cannot be trusted."""
        path = self.settings.history_path
        if not path:
            return _NotUnderstood(
                "no history endpoint", 'planningpme.history_path = "": every cycle reads in full'
            )
        try:
            entries, history_complete = self._read_history(path, since)
        except NotFoundError:
            return _NotUnderstood(
                "history endpoint missing",
                f"GET /{path} answers 404; every cycle reads in full until planningpme.history_path "
                'names the account\'s history (or is set to "" to stop asking)',
            )
        except ProtocolError as exc:
            return _NotUnderstood("unexpected history reply", str(exc))
        rules = HistoryRules(self.settings.history_types, self.settings.history_ops)
        if _gives_numbers(entries):
            rules = replace(rules, enums=self.client.enum_names())
        changes = summarise_history(entries, self.entity, rules)
        if changes.problems:
            return _NotUnderstood(
                changes.problems[0],
                "; ".join(changes.problems) + " (fix planningpme.history_types / history_ops)",
                changes.problems,
                changes.deleted,
            )
        return changes, history_complete

    def sample(self) -> tuple[int, NativeRecord | None]:
        """Read-only: how many records a full scan would list, and the first of them, read and
        normalised as a cycle reads them (one page of one record). For ``syncd check``."""
        page = self._fetch_page({"pageIndex": "0", "pageSize": "1"}, self._scope(self.client.now()))
        first = self._record(page.items[0], f"{self.entity} list").data if page.items else None
        return page.total_items, first

    def probe_history(self) -> HistoryProbe:
        """Read-only, no warning logged: would the history of the last ``overlap`` be understood?
        For ``syncd check``, which says whether cycles will use the history or read in full."""
        found = self._understand_history(self.client.now() - self.options.overlap)
        if isinstance(found, _NotUnderstood):
            return HistoryProbe(False, f"{found.detail}; cycles will read in full (the scan window)")
        return HistoryProbe(True, f"GET /{self.settings.history_path} understood")

    def _incremental(self, since: datetime, start: datetime, seen: Seen | None = None) -> Listing:
        found = self._understand_history(since - self.options.overlap)
        if isinstance(found, _NotUnderstood):
            for cause in found.causes or (found.cause,):
                self._warn_once(cause, detail=found.detail, then="this cycle reads in full; the cursor stays")
            return self._fallback(since, start, seen, found.deleted)
        changes, history_complete = found
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

    def _read_history(self, path: str, since: datetime) -> tuple[list[dict[str, Any]], bool]:
        since_text = format_moment(since, self.client.zone, self.settings.date_format)
        paginator = PageIndexPaginator(self.options.page_size, append_only=True, track_keys=False)
        label = f"GET /{path}"

        def fetch(params: dict[str, str]) -> Page:
            body = self.client.request("GET", label, path, params={**params, "since": since_text})
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
        if not isinstance(item, dict):
            raise ProtocolError(f"{label}: a record without a 'key'", system="planningpme")
        key = _usable_key(item.get("key"))
        if key is None:
            raise ProtocolError(f"{label}: a record without a 'key'", system="planningpme")
        return RemoteRecord(key=key, data=self._normalise(item))

    def _normalise(self, item: dict[str, Any]) -> dict[str, Any]:
        """Zoned date-times as naive local ones, enum numbers as names: one shape whatever the
        account's version writes, so a change of form is not a change of data."""
        out = dict(item)
        for name in self._date_fields():
            if name in out:
                form = date_form(out[name])
                if form is not None:
                    self.reply_date_forms.add(form)
                out[name] = read_date(out[name], self.client.zone)
        numbered = {
            name: enum
            for name, enum in self._enum_fields().items()
            if isinstance(out.get(name), int) and not isinstance(out.get(name), bool)
        }
        if numbered:
            enums = self.client.enum_names()
            for name, enum in numbered.items():
                out[name] = enums.name(enum, out[name])
        return out

    def _get(self, key: str) -> RemoteRecord:
        label = f"GET /{self.api}/{{key}}"
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
        for name in self._date_fields():
            if name in body:
                body[name] = write_date(body[name], self.client.zone, self.settings.date_format)
        return body

    def create(self, data: NativeRecord, marker: str | None) -> RemoteRecord:
        body = self._body(data)
        if marker is not None:
            body["fields"] = {**dict(body.get("fields") or {}), self.options.marker_code: marker}
        label = f"POST /{self.api}"
        reply = self.client.request(
            "POST", label, path_of(self.api), body=body, idempotent=False, priority="write"
        )
        return self._record(reply, label)

    def update(self, key: str, data: NativeRecord, *, current: NativeRecord | None = None) -> RemoteRecord:
        """A partial PUT: only the properties (and custom field codes) in ``data`` are sent, so
        nothing needs reading first (``current`` is not needed)."""
        label = f"PUT /{self.api}/{{key}}"
        check_key(self.system, key, what=label)
        reply = self.client.request(
            "PUT", label, path_of(self.api, key), body=self._body(data), priority="write"
        )
        return self._record(reply, label)

    def delete(self, key: str) -> None:
        """Raises ``NotFoundError`` when the record is already gone (the caller decides)."""
        label = f"DELETE /{self.api}/{{key}}"
        check_key(self.system, key, what=label)
        self.client.request("DELETE", label, path_of(self.api, key), priority="write")

    def set_marker(self, key: str, marker: str | None) -> None:
        self.update(key, {"fields": {self.options.marker_code: marker}})

    def expect_updates(self, keys: Iterable[str]) -> None:
        """Nothing to prepare: updates are partial PUTs that read nothing first."""


class PlanningPmeEventConnector(_PlanningPmeConnector):
    """Planned events ("do"); full scans cover the configured date window only."""

    entity = "event"

    @property
    def api(self) -> str:
        return self.settings.events_path

    def _date_fields(self) -> Iterable[str]:
        return self.settings.event_date_fields

    def _scope(self, now: datetime) -> Mapping[str, Any] | None:
        zone, form = self.client.zone, self.settings.date_format
        day = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        last = day + self.options.window_ahead + timedelta(days=1) - timedelta(seconds=1)
        first = day - self.options.window_back
        return fill_list_body(
            self.settings.event_list_body, format_moment(first, zone, form), format_moment(last, zone, form)
        )

    def _everything(self) -> Mapping[str, Any] | None:
        return fill_list_body(self.settings.event_list_body, None, None)

    def _fetch_page(self, params: dict[str, str], scope: Mapping[str, Any] | None) -> Page:
        path = self.settings.event_list_path
        label = f"POST /{path}"
        body = self.client.request(
            "POST", label, path, params={**params, "sortInfo": "key+"}, body=dict(scope or {})
        )
        return Page.parse(body, label)


class PlanningPmeCustomerConnector(_PlanningPmeConnector):
    """Customers; every customer takes part."""

    entity = "customer"

    @property
    def api(self) -> str:
        return self.settings.customers_path

    def _fetch_page(self, params: dict[str, str], scope: Mapping[str, Any] | None) -> Page:
        label = f"GET /{self.api}"
        body = self.client.request("GET", label, self.api, params={**params, "sortInfo": "key+"})
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
