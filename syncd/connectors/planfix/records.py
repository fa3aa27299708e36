"""Native Planfix records ↔ XML: the one place that knows Planfix's field names on the wire.

Reading normalises the read shapes to one native shape (see connectors/base.py): references with
``<id>0</id>`` become None, the several date shapes become ``startDate``/``startTime`` pairs,
custom values become ``{field id: value}``. Writing emits only the fields the record holds, in
the write shape (bare id lists, ``customValue(id, value)``, ``…IsSet`` flags), and refuses values
that cannot be right with a ``RecordError`` naming the field, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from syncd.connectors.planfix.times import (
    DATE_FORMAT,
    format_date,
    format_time,
    parse_clock_time,
    split_moment,
)
from syncd.connectors.planfix.xml import Element, Param, child_id, child_text
from syncd.errors import ProtocolError, RecordError

SYSTEM = "planfix"
IMPORTANCES = ("LOW", "AVERAGE", "HIGH")
_TRUE = ("1", "true", "yes")

# ---------------------------------------------------------------- reading


def _ref(el: Element, tag: str, label: str) -> dict[str, str] | None:
    ref_id = child_id(el, tag)
    if not ref_id:
        return None
    return {"id": ref_id, label: child_text(el, f"{tag}/{label}").strip()}


def _custom_data(el: Element) -> dict[str, str]:
    """{field id: value} of the non-empty custom values: replies list empty fields, or leave them out."""
    values: dict[str, str] = {}
    for item in el.findall("customData/customValue"):
        field_id = (child_text(item, "field/id") or child_text(item, "id")).strip()
        if not field_id:
            continue
        value = child_text(item, "value") if item.find("value") is not None else child_text(item, "text")
        if value:
            values[field_id] = value
    return values


def _slot(el: Element, prefix: str, owner: str, fallback: str | None = None) -> tuple[str | None, str | None]:
    """(``dd-mm-yyyy``, ``HH:MM``) of a start or end, from whichever shape the reply used."""
    date_text = child_text(el, f"{prefix}Date").strip()
    time_text = child_text(el, f"{prefix}Time").strip()
    day, at = None, None
    if date_text:
        parsed = split_moment(date_text)
        if parsed is None:
            raise ProtocolError(f"{owner}: {prefix}Date {date_text!r} is not a date", system=SYSTEM)
        day, at = parsed
    if time_text:
        clock = parse_clock_time(time_text)
        if clock is not None:
            at = clock
        else:
            parsed = split_moment(time_text)
            if parsed is None:
                raise ProtocolError(
                    f"{owner}: {prefix}Time {time_text!r} is neither a time nor a date", system=SYSTEM
                )
            day = day or parsed[0]
            at = parsed[1] if parsed[1] is not None else at
    if day is None and fallback:
        fallback_text = child_text(el, fallback).strip()
        parsed = split_moment(fallback_text) if fallback_text else None
        if parsed is not None:
            day, at = parsed
    if day is None:
        return None, None
    return format_date(day), format_time(at) if at is not None else None


def _sort_key(ref: Mapping[str, str]) -> tuple[int, str]:
    ref_id = ref["id"]
    return (int(ref_id), "") if ref_id.isdigit() else (1 << 62, ref_id)


def parse_task(el: Element) -> dict[str, Any]:
    """A ``<task>`` element as a native task record."""
    task_id = child_text(el, "id").strip()
    if not task_id:
        raise ProtocolError("a <task> in the reply has no <id>", system=SYSTEM)
    owner = f"task {task_id}"
    start_date, start_time = _slot(el, "start", owner, fallback="beginDateTime")
    end_date, end_time = _slot(el, "end", owner)
    workers = [
        {"id": child_text(user, "id").strip(), "name": child_text(user, "name").strip()}
        for user in el.findall("workers/users/user")
        if child_text(user, "id").strip() not in ("", "0")
    ]
    return {
        "id": task_id,
        "general": child_text(el, "general").strip(),
        "title": child_text(el, "title"),
        "description": child_text(el, "description"),
        "importance": child_text(el, "importance").strip().upper() or "AVERAGE",
        "status": child_text(el, "status").strip(),
        "owner": _ref(el, "owner", "name"),
        "client": _ref(el, "client", "name"),
        "project": _ref(el, "project", "title"),
        "startDate": start_date,
        "startTime": start_time,
        "endDate": end_date,
        "endTime": end_time,
        "workers": sorted(workers, key=_sort_key),
        "customData": _custom_data(el),
    }


def parse_contact(el: Element) -> dict[str, Any]:
    """A ``<contact>`` element as a native contact record."""
    contact_id = child_text(el, "id").strip()
    if not contact_id:
        raise ProtocolError("a <contact> in the reply has no <id>", system=SYSTEM)
    updated = child_text(el, "lastUpdateDate").strip()
    moment = split_moment(updated) if updated else None
    phones = [
        {"number": child_text(p, "number").strip(), "typeId": child_text(p, "typeId").strip()}
        for p in el.findall("phones/phone")
        if child_text(p, "number").strip()
    ]
    return {
        "id": contact_id,
        "userid": child_text(el, "userid").strip(),
        "general": child_text(el, "general").strip(),
        "name": child_text(el, "name"),
        "lastName": child_text(el, "lastName"),
        "email": child_text(el, "email").strip(),
        "phones": phones,
        "isCompany": child_text(el, "isCompany").strip().lower() in _TRUE,
        "companyName": child_text(el, "companyName"),
        "customData": _custom_data(el),
        "lastUpdateDate": (
            f"{format_date(moment[0])} {format_time(moment[1]) if moment[1] else '00:00'}" if moment else None
        ),
    }


# ---------------------------------------------------------------- writing


def _bad(entity: str, field: str, problem: str) -> RecordError:
    return RecordError(f"{entity} field {field!r}: {problem}", system=SYSTEM)


def _text(entity: str, field: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _bad(entity, field, f"expected text, got {type(value).__name__}")
    return str(value)


def _ref_id(entity: str, field: str, value: Any) -> str:
    """The id of a reference given as ``{"id": …}`` or a bare id; "0" for None (unset)."""
    if value is None:
        return "0"
    raw = value.get("id") if isinstance(value, Mapping) else value
    text = _text(entity, f"{field}.id", raw).strip()
    if not text.isdigit():
        raise _bad(entity, field, f"id {text!r} is not a Planfix id")
    return text


def _custom_params(entity: str, value: Any) -> Param:
    if not isinstance(value, Mapping):
        raise _bad(entity, "customData", "expected {field id: value}")
    items: list[Param] = []
    for field_id, field_value in value.items():
        if not str(field_id).isdigit():
            raise _bad(entity, "customData", f"field id {field_id!r} is not a number")
        items.append(
            (
                "customValue",
                [("id", str(field_id)), ("value", _text(entity, f"customData.{field_id}", field_value))],
            )
        )
    return ("customData", items)


def _slot_params(record: Mapping[str, Any], prefix: str) -> list[Param]:
    day = record.get(f"{prefix}Date")
    at = record.get(f"{prefix}Time")
    if day in (None, ""):
        if at not in (None, ""):
            raise _bad("task", f"{prefix}Time", f"a time needs {prefix}Date")
        return [(f"{prefix}DateIsSet", "0"), (f"{prefix}TimeIsSet", "0")]
    day_text = _text("task", f"{prefix}Date", day).strip()
    try:
        parsed = datetime.strptime(day_text, DATE_FORMAT).date()
    except ValueError:
        raise _bad("task", f"{prefix}Date", f"expected dd-mm-yyyy, got {day_text!r}") from None
    params: list[Param] = [(f"{prefix}DateIsSet", "1"), (f"{prefix}Date", format_date(parsed))]
    if at in (None, ""):
        return [*params, (f"{prefix}TimeIsSet", "0")]
    clock = parse_clock_time(_text("task", f"{prefix}Time", at))
    if clock is None:
        raise _bad("task", f"{prefix}Time", f"expected HH:MM, got {at!r}")
    return [*params, (f"{prefix}TimeIsSet", "1"), (f"{prefix}Time", format_time(clock))]


def _workers(value: Any) -> Param:
    if not isinstance(value, list | tuple):
        raise _bad("task", "workers", "expected a list of users")
    ids = sorted({_ref_id("task", "workers", worker) for worker in value} - {"0"}, key=int)
    return ("workers", [("users", [("id", i) for i in ids])])


def task_params(record: Mapping[str, Any]) -> list[Param]:
    """The ``<task>`` children for the fields ``record`` holds (ids are the caller's business)."""
    params: list[Param] = []
    for field in ("title", "description"):
        if field in record:
            params.append((field, _text("task", field, record[field])))
    if "importance" in record:
        importance = _text("task", "importance", record["importance"]).strip().upper()
        if importance not in IMPORTANCES:
            raise _bad("task", "importance", f"expected one of {', '.join(IMPORTANCES)}, got {importance!r}")
        params.append(("importance", importance))
    if record.get("status") not in (None, ""):
        params.append(("status", _text("task", "status", record["status"]).strip()))
    if record.get("owner") is not None:
        params.append(("owner", [("id", _ref_id("task", "owner", record["owner"]))]))
    for field in ("client", "project"):
        if field in record:
            params.append((field, [("id", _ref_id("task", field, record[field]))]))
    for prefix in ("start", "end"):
        if f"{prefix}Date" in record or f"{prefix}Time" in record:
            params.extend(_slot_params(record, prefix))
    if "workers" in record:
        params.append(_workers(record["workers"] or []))
    if record.get("customData"):
        params.append(_custom_params("task", record["customData"]))
    return params


def _phones(value: Any) -> Param:
    if not isinstance(value, list | tuple):
        raise _bad("contact", "phones", "expected a list of {number, typeId}")
    items: list[Param] = []
    for phone in value:
        if not isinstance(phone, Mapping):
            raise _bad("contact", "phones", "expected a list of {number, typeId}")
        number = _text("contact", "phones.number", phone.get("number")).strip()
        if not number:
            continue
        type_id = _text("contact", "phones.typeId", phone.get("typeId") or "1").strip()
        items.append(("phone", [("number", number), ("typeId", type_id)]))
    return ("phones", items)


def contact_params(record: Mapping[str, Any]) -> list[Param]:
    """The ``<contact>`` children for the fields ``record`` holds."""
    params: list[Param] = []
    for field in ("name", "lastName", "email", "companyName"):
        if field in record:
            value = _text("contact", field, record[field])
            params.append((field, value.strip() if field == "email" else value))
    if "isCompany" in record:
        params.append(("isCompany", "1" if record["isCompany"] else "0"))
    if "phones" in record:
        params.append(_phones(record["phones"] or []))
    if record.get("customData"):
        params.append(_custom_params("contact", record["customData"]))
    return params


def merge_record(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` laid over it; custom values are merged by field id."""
    merged = dict(current)
    for key, value in changes.items():
        if key == "customData" and isinstance(value, Mapping):
            merged["customData"] = {**dict(current.get("customData") or {}), **value}
        else:
            merged[key] = value
    return merged
