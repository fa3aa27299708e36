"""The emulated Planfix account: reference data and the records one emulator instance holds.

Reference data is fixed (so the default mappings work against any emulator); records live in a
``PlanfixStore`` that belongs to one app instance. Times are naive local times in the emulator's
zone, kept with seconds, as the real service keeps them.

A task carries every parameter ``task.update`` documents as writable (ПланФикс_API_task.update.md),
because the real service resets each one an update does not give: the emulator can only show a
client losing data if it holds that data in the first place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Final, Literal

STATUSES: Final = MappingProxyType({1: "New", 2: "In progress", 3: "Completed", 4: "Canceled", 5: "Draft"})
STATUS_NAMES: Final = MappingProxyType(
    {
        "NEW": 1,
        "ACTIVE": 2,
        "ACCEPTED": 2,
        "COMPLETED": 3,
        "DONE": 3,
        "CANCELED": 4,
        "CANCELLED": 4,
        "DRAFT": 5,
    }
)
"""System status names (ПланФикс_API_Системные_статусы_задач.md) → this account's status ids.
REJECTED and DELAYED have no status here, so they are refused like an unknown id."""


@dataclass(frozen=True)
class Process:
    """A task process (``statusSet``): its name, its statuses and the status a new task gets."""

    name: str
    statuses: tuple[int, ...]
    default_status: int = 1


PROCESSES: Final = MappingProxyType(
    {
        1: Process("Стандартный процесс", (1, 2, 3, 4, 5)),
        2: Process("Выездной сервис", (1, 2, 3, 4)),
    }
)
DEFAULT_PROCESS: Final = 1

USERS: Final = MappingProxyType(
    {1: "Иван Петров", 2: "María García", 3: "Олег Смирнов", 4: "John Smith", 5: "Ana López"}
)
API_USER: Final = 1
"""The employee the API key and token (and the legacy login) act as: a task's default owner."""
USER_GROUPS: Final = MappingProxyType({1: "Монтажники", 2: "Сервисная служба", 3: "Office"})
PROJECTS: Final = MappingProxyType({1: "Maintenance", 2: "Installations", 3: "Офис на Ленина"})
PHONE_TYPES: Final = MappingProxyType({1: "Work", 2: "Mobile", 3: "Home", 4: "Other"})
IMPORTANCES: Final = ("LOW", "AVERAGE", "HIGH")
DEFAULT_IMPORTANCE: Final = "AVERAGE"
DURATION_UNITS: Final = MappingProxyType({0: "minutes", 1: "hours", 2: "days"})

FieldType = Literal["string", "number", "handbook", "date", "list"]


@dataclass(frozen=True)
class CustomField:
    """A custom field of the account; ``choices`` are a handbook's records or a list's values."""

    name: str
    type: FieldType = "string"
    choices: tuple[tuple[str, str], ...] = ()
    """(value, text) pairs: handbook record id → record name, or list value → itself."""


EQUIPMENT: Final = (("1", "Котёл"), ("2", "Кондиционер"), ("3", "Камера видеонаблюдения"), ("4", "Boiler"))
VISIT_KINDS: Final = (("Плановый", "Плановый"), ("Аварийный", "Аварийный"), ("Warranty", "Warranty"))

TASK_FIELDS: Final = MappingProxyType(
    {
        101: CustomField("PlanningPME key"),
        102: CustomField("Site address"),
        103: CustomField("Contract value", "number"),
        104: CustomField("Equipment", "handbook", EQUIPMENT),
        105: CustomField("Warranty until", "date"),
        106: CustomField("Visit kind", "list", VISIT_KINDS),
        108: CustomField("Access notes"),
    }
)
CONTACT_FIELDS: Final = MappingProxyType(
    {201: CustomField("PlanningPME key"), 202: CustomField("Customer number")}
)

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
class People:
    """Workers, members or auditors: users and user groups, both by id."""

    users: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)


@dataclass
class Task:
    id: int
    general: int
    title: str
    created: datetime
    """``beginDateTime``: when the task was created, never its planned start."""
    modified: datetime
    description: str = ""
    importance: str = DEFAULT_IMPORTANCE
    status: int = 1
    status_set: int = DEFAULT_PROCESS
    check_result: bool = False
    owner: int = API_USER
    parent: int = 0
    project: int = 0
    client: int = 0
    start: DateTimeSlot = field(default_factory=DateTimeSlot)
    end: DateTimeSlot = field(default_factory=DateTimeSlot)
    is_summary: bool = False
    duration: int | None = None
    """None when ``durationIsSet`` is 0."""
    duration_unit: int = 0
    workers: People = field(default_factory=People)
    members: People = field(default_factory=People)
    auditors: People = field(default_factory=People)
    custom: dict[int, str] = field(default_factory=dict)
    template: int = 0
    starred: bool = False


@dataclass
class Phone:
    number: str
    type_id: int = 1


@dataclass
class Contact:
    """A person, or a company (``is_company``) whose name is ``name``: there is no company-name field."""

    id: int
    userid: int
    general: int
    modified: datetime
    name: str = ""
    last_name: str = ""
    post: str = ""
    email: str = ""
    phones: list[Phone] = field(default_factory=list)
    address: str = ""
    description: str = ""
    is_company: bool = False
    contractors: list[int] = field(default_factory=list)
    """Ids of the companies a person belongs to."""
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
        """``general``, when given, wins over ``id`` (task.get.md, task.update.md)."""
        if general is not None:
            return next((t for t in self.tasks.values() if t.general == general), None)
        return self.tasks.get(id_) if id_ is not None else None

    def find_contact(
        self, *, id_: int | None = None, general: int | None = None, userid: int | None = None
    ) -> Contact | None:
        """``general`` wins over ``userid``, which wins over ``id`` (contact.get.md)."""
        if general is not None:
            return next((c for c in self.contacts.values() if c.general == general), None)
        if userid is not None:
            return next((c for c in self.contacts.values() if c.userid == userid), None)
        return self.contacts.get(id_) if id_ is not None else None
