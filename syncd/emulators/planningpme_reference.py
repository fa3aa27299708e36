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


RESOURCES: Final = _items(
    (
        ("R1", "Иван Петров"),
        ("R2", "María García"),
        ("R3", "Олег Смирнов"),
        ("R4", "John Smith"),
        ("R5", "Ana López"),
    ),
    type="Human",
)
CATEGORIES: Final = _items(
    (("C1", "To do"), ("C2", "In progress"), ("C3", "Done"), ("C4", "Cancelled"), ("C5", "Draft")),
)
PROJECTS: Final = _items((("P1", "Maintenance"), ("P2", "Installations")))
TASK_TYPES: Final = _items((("T1", "Visit"), ("T2", "Repair")), type="Default")
DEPARTMENTS: Final = _items((("D1", "Servicio técnico"), ("D2", "Oficina")))

LOOKUPS: Final = MappingProxyType(
    {
        "resource": RESOURCES,
        "category": CATEGORIES,
        "project": PROJECTS,
        "task": TASK_TYPES,
        "department": DEPARTMENTS,
    }
)
"""Read-only lists served under ``/api/<name>``."""


def _enum(*names: str) -> dict[str, str]:
    return {name: name for name in names}


def config_document() -> dict[str, Any]:
    """What ``GET /api/config`` answers: the enumerations a client may need (a subset of 4.7.0.26)."""
    return {
        "version": CONFIG_VERSION,
        "enums": {
            "Access": _enum("All", "Read", "Write"),
            "CustomerType": _enum("Individual", "Company"),
            "DoMode": _enum("None", "End", "Duration"),
            "HistoryOp": _enum("Insert", "Delete", "Email", "Invitation", "Unperiodize", "Session", "Update"),
            "HistoryType": _enum(
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
            "LinkRefType": _enum("Assignment", "Customer", "Unavailability", "Project", "Resource", "Task"),
            "ResourceType": _enum("Human", "Material", "ToPlan", "Extern"),
            "StatusType": _enum("Task", "Unavailability"),
            "TaskType": _enum("Default", "Duration", "Time"),
            "Title": _enum("Miss", "Mr", "Ms"),
        },
        "customFields": {
            "do": [{"code": MARKER_CODE, "label": "Planfix ID", "type": "Text"}],
            "customer": [{"code": MARKER_CODE, "label": "Planfix ID", "type": "Text"}],
        },
    }
