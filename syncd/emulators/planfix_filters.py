"""The list filters the emulator understands: "modified since" (38) and custom-field filters.

Custom-field filters follow ПланФикс_API_Фильтры_задач.md and ПланФикс_API_Фильтры_контактов.md:
the filter type names the field's *type*, and a filter of one type on a field of another is refused.
101/4101 (String) compare by "contains" (``equal`` = contains, ``notequal`` = does not contain,
case-insensitively), so a lookup by an exact value must check the matches itself; 102/4102 (Number)
take a number and also ``gt``/``lt``; 106/4106 (List) a value of the list; 107/4107 (Handbook) an
integer record id — anything else is refused with 0015.

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
from types import MappingProxyType
from typing import Final

from lxml import etree

from syncd.emulators.planfix_model import Contact, CustomField, FieldType, Task
from syncd.emulators.planfix_params import ApiError, integer, parse_date, parse_minute, required, text

Element = etree._Element
TaskFilter = Callable[[Task], bool]
ContactFilter = Callable[[Contact], bool]
ValueTest = Callable[[str], bool]

MODIFIED_SINCE = "38"
TASK_CUSTOM_FILTERS: Final[Mapping[str, FieldType]] = MappingProxyType(
    {"101": "string", "102": "number", "106": "list", "107": "handbook"}
)
CONTACT_CUSTOM_FILTERS: Final[Mapping[str, FieldType]] = MappingProxyType(
    {"4101": "string", "4102": "number", "4106": "list", "4107": "handbook"}
)


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


def _number(value: str, where: str) -> float:
    try:
        return float(value.strip().replace(",", "."))
    except ValueError:
        raise ApiError("0015", f"{where}: {value!r} is not a number") from None


def _value_test(kind: str, field_type: FieldType, operator: str, wanted: str) -> ValueTest:
    where = f"filter {kind}"
    if field_type == "string":
        needle = wanted.casefold()
        tests: dict[str, ValueTest] = {
            "equal": lambda value: needle in value.casefold(),
            "notequal": lambda value: needle not in value.casefold(),
        }
    elif field_type == "number":
        number = _number(wanted, f"{where} value")

        def num(value: str) -> float | None:
            try:
                return float(value.replace(",", ".")) if value.strip() else None
            except ValueError:
                return None

        tests = {
            "equal": lambda value: num(value) == number,
            "notequal": lambda value: num(value) != number,
            "gt": lambda value: (n := num(value)) is not None and n > number,
            "lt": lambda value: (n := num(value)) is not None and n < number,
        }
    else:
        exact = (
            str(integer(wanted, f"{where} value (a handbook record id)"))
            if field_type == "handbook"
            else wanted
        )
        tests = {"equal": lambda value: value == exact, "notequal": lambda value: value != exact}
    if operator not in tests:
        raise ApiError("0015", f"{where}: operator {operator!r} is not one of {', '.join(tests)}")
    return tests[operator]


def _custom_predicate(
    item: Element, kind: str, field_type: FieldType, fields: Mapping[int, CustomField]
) -> tuple[int, ValueTest]:
    field_id = integer(required(item, "field"), f"filter {kind} field")
    spec = fields.get(field_id)
    if spec is None:
        raise ApiError("0015", f"filter {kind}: no custom field {field_id}")
    if spec.type != field_type:
        raise ApiError(
            "0015",
            f"filter {kind} is for {field_type} fields; custom field {field_id} ({spec.name}) is {spec.type}",
        )
    operator = required(item, "operator").strip()
    return field_id, _value_test(kind, field_type, operator, text(item, "value") or "")


def _task_custom_filter(field_id: int, test: ValueTest) -> TaskFilter:
    return lambda task: test(task.custom.get(field_id, ""))


def _contact_custom_filter(field_id: int, test: ValueTest) -> ContactFilter:
    return lambda contact: test(contact.custom.get(field_id, ""))


def task_filters(request: Element, fields: Mapping[int, CustomField]) -> list[TaskFilter]:
    result: list[TaskFilter] = []
    for item in request.findall("filters/filter"):
        kind = required(item, "type").strip()
        if kind == MODIFIED_SINCE:
            result.append(_modified_filter(item))
        elif kind in TASK_CUSTOM_FILTERS:
            field_id, test = _custom_predicate(item, kind, TASK_CUSTOM_FILTERS[kind], fields)
            result.append(_task_custom_filter(field_id, test))
        else:
            raise ApiError("0015", f"task filter type {kind} is not emulated")
    return result


def contact_filters(request: Element, fields: Mapping[int, CustomField]) -> list[ContactFilter]:
    result: list[ContactFilter] = []
    for item in request.findall("filters/filter"):
        kind = required(item, "type").strip()
        if kind not in CONTACT_CUSTOM_FILTERS:
            raise ApiError("0015", f"contact filter type {kind} is not emulated")
        field_id, test = _custom_predicate(item, kind, CONTACT_CUSTOM_FILTERS[kind], fields)
        result.append(_contact_custom_filter(field_id, test))
    return result
