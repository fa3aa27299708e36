"""How the PlanningPME emulator writes its replies: the forms different accounts and versions use.

Data is stored one way (naive local times, enum names, today's history entries); a ``ReplyStyle``
renders it as an account configured otherwise would answer, so the client's readings of each form
are tested over HTTP:

* ``dates``: ``local`` (naive, as today), ``offset`` (``+01:00``) or ``utc`` (``Z``) date-times;
* ``numeric_enums``: enum properties (customer ``type``, ``title``; history ``type``, ``op``) and
  ``/api/config``'s enums as numbers, as an older version of the API does;
* ``history_shape``: ``today`` (``{"entity": "do", "op": "Insert", …}``), ``enum`` (entries typed
  by the ``HistoryType`` enum: ``{"type": "Assignment", "op": "Insert", …}``) or ``none`` (no
  history endpoint: 404).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from syncd.emulators.planningpme_reference import enum_number

HistoryShape = Literal["today", "enum", "none"]
ReplyDates = Literal["local", "offset", "utc"]
HISTORY_SHAPES: Final = ("today", "enum", "none")
REPLY_DATES: Final = ("local", "offset", "utc")

_DATES: Final = {"do": ("start", "end"), "customer": (), "history": ("start", "end", "date")}
_ENUMS: Final = {"do": {}, "customer": {"type": "CustomerType", "title": "Title"}}
_HISTORY_TYPES: Final = {"do": "Assignment", "customer": "Customer"}


@dataclass(frozen=True)
class ReplyStyle:
    zone: ZoneInfo
    dates: ReplyDates = "local"
    numeric_enums: bool = False
    history_shape: HistoryShape = "today"

    def _date(self, value: object) -> object:
        if self.dates == "local" or not isinstance(value, str) or not value:
            return value
        try:
            moment = datetime.fromisoformat(value).replace(tzinfo=self.zone)
        except ValueError:
            return value
        if self.dates == "utc":
            return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return moment.isoformat()

    def _enum(self, enum: str, value: object) -> object:
        if not self.numeric_enums or not isinstance(value, str):
            return value
        number = enum_number(enum, value)
        return value if number is None else number

    def _render(self, kind: str, item: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(item)
        for name in _DATES[kind]:
            if name in out:
                out[name] = self._date(out[name])
        for name, enum in _ENUMS.get(kind, {}).items():
            if name in out:
                out[name] = self._enum(enum, out[name])
        return out

    def record(self, entity: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """An event (``do``) or a customer as the account would send it."""
        return self._render(entity, record)

    def history(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        out = self._render("history", entry)
        if self.history_shape == "enum":
            entity = out.pop("entity")
            out = {
                "type": self._enum("HistoryType", _HISTORY_TYPES[entity]),
                "op": self._enum("HistoryOp", out.pop("op")),
                **out,
            }
        return out
