"""The list filters syncd sends: "modified since" for tasks, marker look-ups by custom field."""

from __future__ import annotations

from datetime import datetime

from syncd.connectors.planfix.times import MINUTE_FORMAT
from syncd.connectors.planfix.xml import Param

MODIFIED_SINCE = "38"
TASK_CUSTOM_FIELD = "107"
CONTACT_CUSTOM_FIELD = "4101"


def modified_since(local: datetime) -> Param:
    """Tasks changed at or after ``local`` (a naive local time; Planfix compares whole minutes)."""
    value: list[Param] = [("datetype", "anotherdate_withtime"), ("datefrom", local.strftime(MINUTE_FORMAT))]
    return ("filter", [("type", MODIFIED_SINCE), ("operator", "gt"), ("value", value)])


def custom_field_equals(filter_type: str, field_id: str, value: str) -> Param:
    """Records whose custom field ``field_id`` holds exactly ``value`` (107 tasks, 4101 contacts)."""
    return ("filter", [("type", filter_type), ("operator", "equal"), ("value", value), ("field", field_id)])
