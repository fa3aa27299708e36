"""The PlanningPME emulator's fixed reference data: lookups, enumerations, custom field codes.

It is the same in every emulator instance and survives ``reset``, because the default mappings
(Planfix users ↔ resources, statuses ↔ categories) rely on these exact keys and labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

MARKER_CODE: Final = "PLANFIX_ID"
"""The custom field code on events and customers that holds the Planfix id (the sync marker)."""

CONFIG_VERSION: Final = "4.7.0.26"


@dataclass(frozen=True)
class LookupItem:
    """One entry of a read-only lookup list (resource, category, ...)."""

    key: str
    label: str
    extra: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **dict(self.extra)}


def _items(pairs: tuple[tuple[str, str], ...], **extra: str) -> tuple[LookupItem, ...]:
    return tuple(LookupItem(key, label, tuple(extra.items())) for key, label in pairs)


def _resource(key: str, label: str, email: str) -> LookupItem:
    extra = (("type", "Human"), *((("email", email),) if email else ()))
    return LookupItem(key, label, extra)


RESOURCES: Final = (
    _resource("R1", "Иван Петров", "ivan.petrov@example.com"),
    _resource("R2", "María García", "Maria.Garcia@Example.com"),
    _resource("R3", "Олег Смирнов", ""),
    _resource("R4", "John Smith", "j.smith@example.org"),
    _resource("R5", "Ana López", "ana.lopez@example.com"),
)
"""People to plan (the seeded events' resources). Their e-mails and names pair them with the
Planfix emulator's users for ``syncd init``: by e-mail (case ignored) R1, R2, R5, by name R3, R4."""
UNPAIRED_RESOURCE: Final = _resource("R6", "Carlos Ruiz", "carlos.ruiz@example.com")
"""A resource no Planfix user matches, listed by ``/api/resource`` only (no seeded event has it),
so ``syncd init`` has one it cannot pair."""
CATEGORIES: Final = _items(
    (("C1", "To do"), ("C2", "In progress"), ("C3", "Done"), ("C4", "Cancelled"), ("C5", "Draft")),
)
PROJECTS: Final = _items((("P1", "Maintenance"), ("P2", "Installations")))
TASK_TYPES: Final = _items((("T1", "Visit"), ("T2", "Repair")), type="Default")
DEPARTMENTS: Final = _items((("D1", "Servicio técnico"), ("D2", "Oficina")))

LOOKUPS: Final = MappingProxyType(
    {
        "resource": (*RESOURCES, UNPAIRED_RESOURCE),
        "category": CATEGORIES,
        "project": PROJECTS,
        "task": TASK_TYPES,
        "department": DEPARTMENTS,
    }
)
"""Read-only lists served under ``/api/<name>``."""


ENUMS: Final[MappingProxyType[str, tuple[str, ...]]] = MappingProxyType(
    {
        "Access": ("All", "Read", "Write"),
        "CustomerType": ("Individual", "Company"),
        "DoMode": ("None", "End", "Duration"),
        "HistoryOp": ("Insert", "Delete", "Email", "Invitation", "Unperiodize", "Session", "Update"),
        "HistoryType": (
            "Assignment",
            "Customer",
            "SessionDesktop",
            "Unavailability",
            "SessionMobile",
            "Project",
            "Resource",
            "Task",
            "SessionWebAccess",
        ),
        "LinkRefType": ("Assignment", "Customer", "Unavailability", "Project", "Resource", "Task"),
        "ResourceType": ("Human", "Material", "ToPlan", "Extern"),
        "StatusType": ("Task", "Unavailability"),
        "TaskType": ("Default", "Duration", "Time"),
        "Title": ("Miss", "Mr", "Ms"),
    }
)
"""The enumerations of ``/api/config`` (a subset of 4.7.0.26), in the seed's order. A version that
gives numbers numbers them by this order (``numeric_enums``)."""


def enum_number(enum: str, name: str) -> int | None:
    """The number of ``name`` in ``enum`` (its position), or None when it is not a member."""
    names = ENUMS.get(enum, ())
    return names.index(name) if name in names else None


def enum_name(enum: str, value: object) -> object:
    """A number of ``enum`` as its name; anything else unchanged (the binder accepts both)."""
    names = ENUMS.get(enum, ())
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    return value


def config_document(numeric: bool = False, zone: str | None = None) -> dict[str, Any]:
    """What ``GET /api/config`` answers: enums as strings (the current version) or as numbers (an
    older one: ``"All": 0``), and the custom field codes; with ``zone``, a ``timeZone`` too (no
    published page says the real one names its zone: an option, so both cases are tested)."""
    return {
        **({"timeZone": zone} if zone else {}),
        "version": CONFIG_VERSION,
        "enums": {
            name: {member: (i if numeric else member) for i, member in enumerate(members)}
            for name, members in ENUMS.items()
        },
        "customFields": {
            "do": [{"code": MARKER_CODE, "label": "Planfix ID", "type": "Text"}],
            "customer": [{"code": MARKER_CODE, "label": "Planfix ID", "type": "Text"}],
        },
    }
