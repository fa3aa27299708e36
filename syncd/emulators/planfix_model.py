"""The emulated Planfix account: reference data and the records one emulator instance holds.

Reference data is fixed (so the default mappings work against any emulator); records live in a
``PlanfixStore`` that belongs to one app instance. Times are naive local times in the emulator's
zone, kept with seconds, as the real service keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Final

STATUSES: Final = MappingProxyType({1: "New", 2: "In progress", 3: "Completed", 4: "Canceled", 5: "Draft"})
STATUS_NAMES: Final = MappingProxyType(
    {"NEW": 1, "ACTIVE": 2, "COMPLETED": 3, "CANCELED": 4, "CANCELLED": 4, "DRAFT": 5}
)
USERS: Final = MappingProxyType(
    {1: "Иван Петров", 2: "María García", 3: "Олег Смирнов", 4: "John Smith", 5: "Ana López"}
)
TASK_FIELDS: Final = MappingProxyType({101: "PlanningPME key", 102: "Site address"})
CONTACT_FIELDS: Final = MappingProxyType({201: "PlanningPME key", 202: "Customer number"})
PROJECTS: Final = MappingProxyType({1: "Maintenance", 2: "Installations"})
PHONE_TYPES: Final = MappingProxyType({1: "Work", 2: "Mobile", 3: "Home", 4: "Other"})
IMPORTANCES: Final = ("LOW", "AVERAGE", "HIGH")

TASK_ID_BASE: Final = 1_000_000
"""Task ids and numbers (``general``) differ on purpose, so a client that mixes them up fails."""
CONTACT_ID_BASE: Final = 500
USERID_BASE: Final = 10_000


@dataclass
class DateTimeSlot:
    """A task's start or end: a date, optionally with a time of day."""

    day: date | None = None
    at: time | None = None


@dataclass
class Task:
    id: int
    general: int
    title: str
    modified: datetime
    description: str = ""
    importance: str = "AVERAGE"
    status: int = 1
    owner: int = 1
    client: int = 0
    project: int = 0
    start: DateTimeSlot = field(default_factory=DateTimeSlot)
    end: DateTimeSlot = field(default_factory=DateTimeSlot)
    workers: list[int] = field(default_factory=list)
    custom: dict[int, str] = field(default_factory=dict)


@dataclass
class Phone:
    number: str
    type_id: int = 1


@dataclass
class Contact:
    id: int
    userid: int
    general: int
    modified: datetime
    name: str = ""
    last_name: str = ""
    email: str = ""
    phones: list[Phone] = field(default_factory=list)
    is_company: bool = False
    company_name: str = ""
    custom: dict[int, str] = field(default_factory=dict)


@dataclass
class PlanfixStore:
    """Every record of one emulated account, plus the legacy sessions."""

    tasks: dict[int, Task] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    sessions: dict[str, float] = field(default_factory=dict)
    """sid → monotonic expiry time."""
    _last_task: int = 0
    _last_contact: int = 0

    def next_task_ids(self) -> tuple[int, int]:
        """(id, general) of the next task."""
        self._last_task += 1
        return TASK_ID_BASE + self._last_task, self._last_task

    def next_contact_ids(self) -> tuple[int, int, int]:
        """(id, userid, general) of the next contact."""
        self._last_contact += 1
        number = CONTACT_ID_BASE + self._last_contact
        return number, USERID_BASE + self._last_contact, number

    def find_task(self, *, id_: int | None = None, general: int | None = None) -> Task | None:
        if id_ is not None:
            return self.tasks.get(id_)
        return next((t for t in self.tasks.values() if t.general == general), None)

    def find_contact(self, *, id_: int | None = None, general: int | None = None) -> Contact | None:
        if id_ is not None:
            return self.contacts.get(id_)
        return next((c for c in self.contacts.values() if c.general == general), None)
