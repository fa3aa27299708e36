"""The list filters syncd sends: "modified since" for tasks, marker look-ups by custom field.

Filter types are those of ``ПланФикс_API_Фильтры_задач.md`` and ``ПланФикс_API_Фильтры_контактов.md``:
38 is "date of last change"; 101 (tasks) and 4101 (contacts) are custom fields of type *String*,
whose ``equal`` operator means "contains" — a caller that needs an exact match checks the values
itself. (107/4107 are *handbook* fields, whose value is a handbook record id: not for markers.)
"""

from __future__ import annotations

from datetime import datetime

from syncd.connectors.planfix.times import MINUTE_FORMAT
from syncd.connectors.planfix.xml import Param

MODIFIED_SINCE = "38"
TASK_STRING_FIELD = "101"
CONTACT_STRING_FIELD = "4101"


def modified_since(local: datetime) -> Param:
    """Tasks changed at or after ``local`` (a naive local time; Planfix compares whole minutes)."""
    value: list[Param] = [("datetype", "anotherdate_withtime"), ("datefrom", local.strftime(MINUTE_FORMAT))]
    return ("filter", [("type", MODIFIED_SINCE), ("operator", "gt"), ("value", value)])


def custom_field_contains(filter_type: str, field_id: str, value: str) -> Param:
    """Records whose string custom field ``field_id`` contains ``value`` (101 tasks, 4101 contacts)."""
    return ("filter", [("type", filter_type), ("operator", "equal"), ("value", value), ("field", field_id)])
