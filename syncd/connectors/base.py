"""The Connector protocol: what the sync core needs from a remote system, and nothing more.

Each connector serves one entity of one system (Planfix tasks, Planfix contacts, PlanningPME
planned events, PlanningPME customers). It translates between the wire format and a *native
record*: a plain JSON-like dict in the system's own field names, already normalised to one shape
(for Planfix, e.g., the several read shapes of task dates become ``startDate``/``startTime``).
The mapping layer works only on native records; the sync core never sees XML or HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from syncd.errors import RecordError

System = Literal["planfix", "planningpme"]

NativeRecord = Mapping[str, Any]
"""A record in the system's own field names: str keys, JSON-like values."""


@dataclass(frozen=True)
class RemoteRecord:
    """One record as read from a remote system."""

    key: str
    """The record's id on its own system, as a string."""
    data: NativeRecord
    """The native record, including ``key``'s field (``id`` or ``key``)."""
    modified: datetime | None = None
    """When the remote says it last changed (aware, UTC) if it says so; a hint only."""


Seen = Callable[[Sequence[RemoteRecord]], Collection[str] | None]
"""Told about records as a listing reads them (see ``Connector.list_changed``). It may answer
with the keys to keep: the page's other records are then left out of the listing (the caller
has taken note of them), so a full scan need not hold every record it read."""


@dataclass(frozen=True)
class Listing:
    """The answer to ``list_changed``: what changed, and how much the answer can be trusted."""

    records: Sequence[RemoteRecord]
    complete: bool
    """Every page was read without error. An incomplete listing never justifies a delete."""
    full_scan: bool
    """The listing holds *every* record that takes part, so a linked key missing from it is gone."""
    deleted: Sequence[str] = ()
    """Keys the remote itself reported as deleted (e.g. a history endpoint)."""
    cursor: datetime | None = None
    """Where the next incremental listing may start (never past the moment the read started)."""
    requests: int = 0
    """Requests this listing used, for reports and benchmarks."""


@dataclass(frozen=True)
class QuotaHint:
    """What the remote last said about its remaining quota (coarse: refreshed slowly)."""

    remaining: int | None = None
    observed_at: datetime | None = None


@runtime_checkable
class Connector(Protocol):
    """One entity of one remote system."""

    system: System
    entity: str
    """``task`` or ``contact`` (Planfix); ``event`` or ``customer`` (PlanningPME)."""

    def list_changed(
        self, since: datetime | None, *, full: bool = False, seen: Seen | None = None
    ) -> Listing:
        """Records changed since ``since`` (minus an overlap window), or all records when ``since`` is
        None or ``full`` is set. Never raises for a failure half-way: returns ``complete=False``
        with what it read, unless nothing at all could be read (then raises ``RemoteError``).

        ``seen`` is called with the records of each page as soon as it is read, in the reading
        thread, so the caller can work on them while the next page waits for the rate limit; the
        returned ``Listing`` remains the answer (a record may be seen and then left out)."""
        ...

    def get(self, key: str) -> RemoteRecord | None:
        """The record, or None when the remote confirms it does not exist."""
        ...

    def get_many(self, keys: Iterable[str]) -> list[RemoteRecord]:
        """The records that exist among ``keys`` (batched where the API allows)."""
        ...

    def create(self, data: NativeRecord, marker: str | None) -> RemoteRecord:
        """Create a record; ``marker`` (the other system's key) is written into the marker field
        in the same request, so a crash right after cannot leave an unrecognisable duplicate."""
        ...

    def update(self, key: str, data: NativeRecord, *, current: NativeRecord | None = None) -> RemoteRecord:
        """Change the fields in ``data`` only; fields that are not given are never cleared.

        ``current`` is the record as this cycle read it, when it did. A connector that reads the
        record before writing it may use this copy instead, where an older copy cannot undo
        someone else's edit (a partial update); one that sends the whole record reads it anew."""
        ...

    def expect_updates(self, keys: Iterable[str]) -> None:
        """A hint: these records will be updated next, in this order. A connector that must read
        a record before updating it may read them in batches instead of one by one."""
        ...

    def delete(self, key: str) -> None:
        """Delete the record, or archive it where the system has no delete (Planfix tasks)."""
        ...

    def set_marker(self, key: str, marker: str | None) -> None:
        """Write (or clear) the other system's key in this record's marker field."""
        ...

    def find_by_marker(self, marker: str) -> list[RemoteRecord]:
        """Records whose marker field holds ``marker`` (normally zero or one)."""
        ...

    def quota_hint(self) -> QuotaHint:
        """The remote's last word on the remaining quota."""
        ...


@dataclass(frozen=True)
class MarkerField:
    """Where a system stores the other system's key: a custom field id (Planfix) or code (PME)."""

    system: System
    field_id: str


@dataclass
class RequestCounter:
    """Counts requests by method name; one per client, read by reports and benchmarks."""

    by_method: dict[str, int] = field(default_factory=dict)

    def add(self, method: str) -> None:
        self.by_method[method] = self.by_method.get(method, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_method.values())


# What a record key of each system looks like. Planfix ids are numbers; PlanningPME's are numbers
# too, but only letters, digits, ``_`` and ``-`` are needed to be safe in a path segment, so nothing
# stricter is assumed of them. ``[0-9]`` (not ``\d``) keeps out other scripts' digits.
_KEY_PATTERNS: dict[System, tuple[re.Pattern[str], str]] = {
    "planfix": (re.compile(r"[0-9]{1,18}"), "Planfix ids are numbers"),
    "planningpme": (
        re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"),
        "PlanningPME keys are letters, digits, '_' and '-'",
    ),
}


def check_key(system: System, key: str, *, what: str) -> str:
    """``key`` when it looks like a record key of ``system``; otherwise RecordError naming ``what``.

    Keys end up in request paths (``/api/do/{key}``) and filters (``<id>``). A marker is text
    anyone can edit, and a server's reply is not ours either: ``..``, ``../x`` or ``a/b`` would
    survive quoting into a path that names another resource, so such a key is refused before use.
    """
    pattern, rule = _KEY_PATTERNS[system]
    if isinstance(key, str) and pattern.fullmatch(key):
        return key
    shown = repr(key) if len(repr(key)) <= 80 else repr(key)[:77] + "..."
    raise RecordError(f"{what}: {shown} is not a {system} key ({rule}); left alone")
