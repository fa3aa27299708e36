"""The list filters the emulator understands: "modified since" (38) and custom-field filters (107, 4101).

Type 38 compares at *minute* granularity, like the real service: a record's modification time is
kept with seconds but truncated to the minute before comparing with ``datefrom``. Operator ``gt``
is inclusive of the ``datefrom`` minute ("modified at or after the start of that minute"): a poll
whose cursor is floored to the minute can then never miss a change made later in that same minute.
The price is that such changes come back once more in the next poll, which clients de-duplicate
anyway. ``lt`` is the complement (strictly before that minute), ``equal`` is that very minute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from lxml import etree

from syncd.emulators.planfix_model import Contact, Task
from syncd.emulators.planfix_params import ApiError, integer, parse_date, parse_minute, required, text

Element = etree._Element
TaskFilter = Callable[[Task], bool]
ContactFilter = Callable[[Contact], bool]

MODIFIED_SINCE = "38"
TASK_CUSTOM_FIELD = "107"
CONTACT_CUSTOM_FIELD = "4101"


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _modified_filter(item: Element) -> TaskFilter:
    operator = required(item, "operator").strip()
    kind = (text(item, "value/datetype") or "anotherdate_withtime").strip()
    raw = required(item, "value/datefrom")
    if kind == "anotherdate_withtime":
        start = parse_minute(raw, "filter 38 datefrom")
        span = timedelta(minutes=1)
    elif kind == "anotherdate":
        start = datetime.combine(parse_date(raw, "filter 38 datefrom"), datetime.min.time())
        span = timedelta(days=1)
    else:
        raise ApiError("0015", f"filter 38: datetype {kind!r} is not emulated")
    if operator == "gt":
        return lambda task: _minute(task.modified) >= start
    if operator == "lt":
        return lambda task: _minute(task.modified) < start
    if operator == "equal":
        return lambda task: start <= _minute(task.modified) < start + span
    raise ApiError("0015", f"filter 38: operator {operator!r} is not supported")


def _custom_predicate(item: Element, allowed: Mapping[int, str]) -> tuple[int, Callable[[str], bool]]:
    field_id = integer(required(item, "field"), "filter/field")
    if field_id not in allowed:
        raise ApiError("0015", f"filter: no custom field {field_id}")
    operator = required(item, "operator").strip()
    wanted = text(item, "value") or ""
    if operator == "equal":
        return field_id, lambda value: value == wanted
    if operator == "notequal":
        return field_id, lambda value: value != wanted
    raise ApiError("0015", f"filter: operator {operator!r} is not supported for custom fields")


def _task_custom_filter(field_id: int, test: Callable[[str], bool]) -> TaskFilter:
    return lambda task: test(task.custom.get(field_id, ""))


def _contact_custom_filter(field_id: int, test: Callable[[str], bool]) -> ContactFilter:
    return lambda contact: test(contact.custom.get(field_id, ""))


def task_filters(request: Element, fields: Mapping[int, str]) -> list[TaskFilter]:
    result: list[TaskFilter] = []
    for item in request.findall("filters/filter"):
        kind = required(item, "type").strip()
        if kind == MODIFIED_SINCE:
            result.append(_modified_filter(item))
        elif kind == TASK_CUSTOM_FIELD:
            result.append(_task_custom_filter(*_custom_predicate(item, fields)))
        else:
            raise ApiError("0015", f"task filter type {kind} is not emulated")
    return result


def contact_filters(request: Element, fields: Mapping[int, str]) -> list[ContactFilter]:
    result: list[ContactFilter] = []
    for item in request.findall("filters/filter"):
        kind = required(item, "type").strip()
        if kind != CONTACT_CUSTOM_FIELD:
            raise ApiError("0015", f"contact filter type {kind} is not emulated")
        result.append(_contact_custom_filter(*_custom_predicate(item, fields)))
    return result
