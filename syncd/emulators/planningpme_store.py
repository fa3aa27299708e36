"""The PlanningPME emulator's data: events and customers in memory, and the history of changes.

Both entities share one generic ``Table`` (integer keys that are never reused, validation through
``planningpme_model``), so create/update/delete behave identically for both. Every write through
the API appends a history entry, which ``GET /api/history`` serves; seeded sample data is written
without history, as if it had existed before the history started.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from syncd.emulators.planningpme_model import (
    References,
    WriteDefaults,
    apply_customer,
    apply_event,
    blank_customer,
    blank_event,
    parse_when,
    write_when,
)
from syncd.emulators.planningpme_query import EventFilter
from syncd.emulators.planningpme_reference import LOOKUPS

Entity = Literal["do", "customer"]
HistoryOp = Literal["Insert", "Update", "Delete"]
Apply = Callable[[Mapping[str, Any], object, References, ZoneInfo], dict[str, Any]]


@dataclass(frozen=True)
class HistoryEntry:
    op: HistoryOp
    entity: Entity
    key: int
    label: str
    start: str | None
    end: str | None
    user: str
    at: float
    """Seconds since the epoch (the emulator's clock)."""

    def as_json(self, zone: ZoneInfo) -> dict[str, Any]:
        return {
            "op": self.op,
            "entity": self.entity,
            "key": self.key,
            "label": self.label,
            "start": self.start,
            "end": self.end,
            "user": self.user,
            "date": write_when(datetime.fromtimestamp(self.at, UTC).astimezone(zone)),
        }


@dataclass
class Table:
    """Records of one entity with never-reused integer keys."""

    entity: Entity
    blank: Callable[[int], dict[str, Any]]
    create_rule: Apply
    update_rule: Apply
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_key: int = 1

    def get(self, key: int) -> dict[str, Any]:
        record = self.records.get(key)
        if record is None:
            kind = "planned event" if self.entity == "do" else "customer"
            raise LookupError(f"no {kind} with key {key}")
        return record


class PlanningPmeStore:
    """All mutable data of one emulator instance; callers hold the emulator's lock."""

    def __init__(
        self,
        zone: ZoneInfo,
        clock: Callable[[], float],
        history_retention: float,
        defaults: WriteDefaults | None = None,
    ) -> None:
        self.zone = zone
        self.defaults = defaults or WriteDefaults()
        self._clock = clock
        self.history_retention = history_retention
        self.tables: dict[Entity, Table] = {}
        self.history: list[HistoryEntry] = []
        self.reset()

    def reset(self) -> None:
        self.tables = {
            "do": Table(
                "do",
                blank_event,
                lambda r, b, refs, z: apply_event(r, b, refs, z, creating=True, defaults=self.defaults),
                lambda r, b, refs, z: apply_event(r, b, refs, z, creating=False, defaults=self.defaults),
            ),
            "customer": Table(
                "customer",
                blank_customer,
                lambda r, b, refs, z: apply_customer(r, b, refs, z, creating=True, defaults=self.defaults),
                lambda r, b, refs, z: apply_customer(r, b, refs, z, creating=False, defaults=self.defaults),
            ),
        }
        self.history = []

    # References, for validation ---------------------------------------------------------------

    def lookup_label(self, kind: str, key: str) -> str | None:
        return next((item.label for item in LOOKUPS.get(kind, ()) if item.key == key), None)

    def customer_label(self, key: int) -> str | None:
        record = self.tables["customer"].records.get(key)
        return None if record is None else str(record["label"])

    # Writes -----------------------------------------------------------------------------------

    def create(self, entity: Entity, body: object, user: str, *, history: bool = True) -> dict[str, Any]:
        table = self.tables[entity]
        record = table.create_rule(table.blank(table.next_key), body, self, self.zone)
        table.records[table.next_key] = record
        table.next_key += 1
        if history:
            self._log("Insert", entity, record, user)
        return copy.deepcopy(record)

    def update(self, entity: Entity, key: int, body: object, user: str) -> dict[str, Any]:
        table = self.tables[entity]
        record = table.update_rule(table.get(key), body, self, self.zone)
        table.records[key] = record
        self._log("Update", entity, record, user)
        if entity == "customer":
            self._relabel_customer(key, str(record["label"]))
        return copy.deepcopy(record)

    def delete(self, entity: Entity, key: int, user: str) -> None:
        table = self.tables[entity]
        record = table.records.pop(table.get(key)["key"])
        self._log("Delete", entity, record, user)
        if entity == "customer":
            self._unlink_customer(key, user)

    def _relabel_customer(self, key: int, label: str) -> None:
        for event in self.tables["do"].records.values():
            for link in event["customers"]:
                if link["key"] == key:
                    link["label"] = label

    def _unlink_customer(self, key: int, user: str) -> None:
        """Events keep no link to a deleted customer; each such event changes, so history says so."""
        for event in self.tables["do"].records.values():
            if any(link["key"] == key for link in event["customers"]):
                event["customers"] = [link for link in event["customers"] if link["key"] != key]
                self._log("Update", "do", event, user)

    # Reads ------------------------------------------------------------------------------------

    def get(self, entity: Entity, key: int) -> dict[str, Any]:
        return copy.deepcopy(self.tables[entity].get(key))

    def all(self, entity: Entity) -> list[dict[str, Any]]:
        return [copy.deepcopy(r) for _, r in sorted(self.tables[entity].records.items())]

    def events(self, wanted: EventFilter) -> list[dict[str, Any]]:
        return [r for r in self.all("do") if wanted.matches(r)]

    def customers(self, name: str | None) -> list[dict[str, Any]]:
        """``name=`` searches label, company and names, case-insensitively, as a substring."""
        found = self.all("customer")
        if not name:
            return found
        needle = name.casefold()
        props = ("label", "company", "firstName", "lastName")
        return [r for r in found if any(needle in str(r[p]).casefold() for p in props)]

    # History ----------------------------------------------------------------------------------

    def _log(self, op: HistoryOp, entity: Entity, record: Mapping[str, Any], user: str) -> None:
        self._prune()
        self.history.append(
            HistoryEntry(
                op=op,
                entity=entity,
                key=int(record["key"]),
                label=str(record["label"]),
                start=record.get("start"),
                end=record.get("end"),
                user=user,
                at=self._clock(),
            )
        )

    def _prune(self) -> None:
        horizon = self._clock() - self.history_retention
        if self.history and self.history[0].at < horizon:
            self.history = [e for e in self.history if e.at >= horizon]

    def history_since(self, since: str | None) -> list[dict[str, Any]]:
        """Entries at or after ``since`` (local time of the account, or ISO 8601 with an offset)."""
        self._prune()
        start = float("-inf")
        if since is not None:
            start = parse_when(since, "since", self.zone).replace(tzinfo=self.zone).timestamp()
        return [e.as_json(self.zone) for e in self.history if e.at >= start]

    def now_local(self) -> str:
        return write_when(datetime.fromtimestamp(self._clock(), UTC).astimezone(self.zone))
