"""Planfix tasks ↔ native records: the one place that knows a task's elements on the wire.

Reading (``ПланФикс_API_task.get.md``): the planned start and end are ``startTime`` and
``endTime``, each a DateTime (``dd-mm-yyyy`` or ``dd-mm-yyyy HH:MM``); they become the native
``startDate``/``startTime`` and ``endDate``/``endTime`` pairs. ``beginDateTime`` is the task's
*creation* time and is never read as a start. ``task.getList`` returns no members and auditors
(``ПланФикс_API_task.getList.md``), so those keys are present only when the reply had them.

Writing: ``task.add`` carries the fields the record holds. ``task.update`` replaces every
parameter it is not given with its default (``ПланФикс_API_task.update.md``), so
``task_update_params`` always writes the *whole* writable state of a task as read, in the order
of that page: a caller lays its changes over a fresh copy (``merge_record``) and sends all of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from syncd.connectors.planfix.times import (
    DATE_FORMAT,
    format_date,
    format_time,
    parse_clock_time,
    split_moment,
)
from syncd.connectors.planfix.values import (
    SYSTEM,
    bad,
    read_custom_data,
    read_flag,
    read_ref,
    read_refs,
    write_custom_data,
    write_flag,
    write_id_list,
    write_ref_id,
    write_text,
)
from syncd.connectors.planfix.xml import Element, Param, child_text
from syncd.errors import ProtocolError

IMPORTANCES: Final = ("LOW", "AVERAGE", "HIGH")
"""``ПланФикс_API_Срочность_задачи.md`` lists AVERAGE and HIGH; LOW is met in real accounts."""
DURATION_UNITS: Final = ("0", "1", "2")
"""Minutes, hours, days (``ПланФикс_API_task.update.md``)."""

PEOPLE: Final = (("workers", "workerGroups"), ("members", "memberGroups"), ("auditors", "auditorGroups"))
"""Each people list of a task: (native key of its users, native key of its groups), wire name first."""

WRITABLE: Final = frozenset(
    {
        "title",
        "description",
        "importance",
        "status",
        "statusSet",
        "checkResult",
        "owner",
        "parent",
        "project",
        "client",
        "startDate",
        "startTime",
        "endDate",
        "endTime",
        "isSummary",
        "duration",
        "durationUnit",
        "customData",
        *(key for pair in PEOPLE for key in pair),
    }
)
"""Native keys that ``task.update`` writes; everything else in a native task is read-only."""

# ---------------------------------------------------------------- reading


def _slot(el: Element, prefix: str, owner: str) -> tuple[str | None, str | None]:
    """(``dd-mm-yyyy``, ``HH:MM``) of the start or end, from the DateTime in ``{prefix}Time``.

    A reply that splits the value (a date in ``{prefix}Date``, a bare time in ``{prefix}Time``,
    the write shape) is read too; nothing else is: no ``{prefix}Time`` date means no start.
    """
    value = child_text(el, f"{prefix}Time").strip()
    day, at = None, None
    if value:
        moment = split_moment(value)
        if moment is not None:
            day, at = moment
        else:
            at = parse_clock_time(value)
            date_text = child_text(el, f"{prefix}Date").strip()
            moment = split_moment(date_text) if date_text else None
            if at is None or moment is None:
                raise ProtocolError(f"{owner}: {prefix}Time {value!r} is not a DateTime", system=SYSTEM)
            day = moment[0]
    if day is None:
        return None, None
    return format_date(day), format_time(at) if at is not None else None


def parse_task(el: Element) -> dict[str, Any]:
    """A ``<task>`` element as a native task record."""
    task_id = child_text(el, "id").strip()
    if not task_id:
        raise ProtocolError("a <task> in the reply has no <id>", system=SYSTEM)
    owner = f"task {task_id}"
    start_date, start_time = _slot(el, "start", owner)
    end_date, end_time = _slot(el, "end", owner)
    record: dict[str, Any] = {
        "id": task_id,
        "general": child_text(el, "general").strip(),
        "title": child_text(el, "title"),
        "description": child_text(el, "description"),
        "importance": child_text(el, "importance").strip().upper() or "AVERAGE",
        "status": child_text(el, "status").strip(),
        "statusSet": child_text(el, "statusSet").strip(),
        "checkResult": read_flag(el, "checkResult"),
        "owner": read_ref(el, "owner", "name"),
        "parent": read_ref(el, "parent", None),
        "template": read_ref(el, "template", None),
        "client": read_ref(el, "client", "name"),
        "project": read_ref(el, "project", "title"),
        "startDate": start_date,
        "startTime": start_time,
        "endDate": end_date,
        "endTime": end_time,
        "isSummary": read_flag(el, "isSummary"),
        "duration": child_text(el, "duration").strip(),
        "durationUnit": child_text(el, "durationUnit").strip(),
        "customData": read_custom_data(el),
    }
    for wire, (users, groups) in zip(("workers", "members", "auditors"), PEOPLE, strict=True):
        if wire == "workers" or el.find(wire) is not None:
            record[users] = read_refs(el, f"{wire}/users/user")
            record[groups] = read_refs(el, f"{wire}/groups/group")
    return record


# ---------------------------------------------------------------- writing


def _slot_params(record: Mapping[str, Any], prefix: str) -> list[Param]:
    day = record.get(f"{prefix}Date")
    at = record.get(f"{prefix}Time")
    if day in (None, ""):
        if at not in (None, ""):
            raise bad("task", f"{prefix}Time", f"a time needs {prefix}Date")
        return [(f"{prefix}DateIsSet", "0"), (f"{prefix}TimeIsSet", "0")]
    day_text = write_text("task", f"{prefix}Date", day).strip()
    try:
        parsed = datetime.strptime(day_text, DATE_FORMAT).date()
    except ValueError:
        raise bad("task", f"{prefix}Date", f"expected dd-mm-yyyy, got {day_text!r}") from None
    params: list[Param] = [(f"{prefix}DateIsSet", "1"), (f"{prefix}Date", format_date(parsed))]
    if at in (None, ""):
        return [*params, (f"{prefix}TimeIsSet", "0")]
    clock = parse_clock_time(write_text("task", f"{prefix}Time", at))
    if clock is None:
        raise bad("task", f"{prefix}Time", f"expected HH:MM, got {at!r}")
    return [*params, (f"{prefix}TimeIsSet", "1"), (f"{prefix}Time", format_time(clock))]


def _importance(value: Any) -> str:
    importance = write_text("task", "importance", value).strip().upper()
    if importance not in IMPORTANCES:
        raise bad("task", "importance", f"expected one of {', '.join(IMPORTANCES)}, got {importance!r}")
    return importance


def _duration(record: Mapping[str, Any]) -> list[Param]:
    amount = write_text("task", "duration", record.get("duration")).strip()
    unit = write_text("task", "durationUnit", record.get("durationUnit")).strip() or "0"
    if not amount:
        return [("durationIsSet", "0")]
    if not amount.isdigit():
        raise bad("task", "duration", f"expected a whole number, got {amount!r}")
    if unit not in DURATION_UNITS:
        raise bad("task", "durationUnit", f"expected 0 (minutes), 1 (hours) or 2 (days), got {unit!r}")
    return [("duration", amount), ("durationUnit", unit), ("durationIsSet", "1")]


def _people(record: Mapping[str, Any], wire: str, users: str, groups: str, *, full: bool) -> list[Param]:
    if not full and users not in record and groups not in record:
        return []
    lists: list[Param] = [("users", write_id_list("task", users, record.get(users)))]
    if full or groups in record:
        lists.append(("groups", write_id_list("task", groups, record.get(groups))))
    return [(wire, lists)]


def _task_params(record: Mapping[str, Any], *, full: bool) -> list[Param]:
    """The ``<task>`` children, in the order of the method pages; ``full`` writes every parameter."""

    def given(key: str) -> bool:
        return full or key in record

    params: list[Param] = [
        (field, write_text("task", field, record.get(field)))
        for field in ("title", "description")
        if given(field)
    ]
    if given("importance"):
        params.append(("importance", _importance(record.get("importance") or "AVERAGE")))
    if record.get("status") not in (None, ""):
        params.append(("status", write_text("task", "status", record["status"]).strip()))
    if record.get("statusSet") not in (None, ""):
        params.append(("statusSet", write_text("task", "statusSet", record["statusSet"]).strip()))
    if given("checkResult"):
        params.append(("checkResult", write_flag(record.get("checkResult"))))
    if record.get("owner") is not None:
        params.append(("owner", [("id", write_ref_id("task", "owner", record["owner"]))]))
    for field in ("parent", "project", "client"):
        if given(field):
            params.append((field, [("id", write_ref_id("task", field, record.get(field)))]))
    for prefix in ("start", "end"):
        if full or f"{prefix}Date" in record or f"{prefix}Time" in record:
            params.extend(_slot_params(record, prefix))
    if given("isSummary"):
        params.append(("isSummary", write_flag(record.get("isSummary"))))
    if full or "duration" in record:
        params.extend(_duration(record))
    for wire, (users, groups) in zip(("workers", "members", "auditors"), PEOPLE, strict=True):
        params.extend(_people(record, wire, users, groups, full=full))
    if full or record.get("customData"):
        params.append(write_custom_data("task", record.get("customData") or {}))
    return params


def task_params(record: Mapping[str, Any]) -> list[Param]:
    """``task.add``'s ``<task>`` children for the fields ``record`` holds (Planfix fills the rest)."""
    return _task_params(record, full=False)


def task_update_params(record: Mapping[str, Any]) -> list[Param]:
    """``task.update``'s ``<task>`` children: every writable parameter (see the module docstring).

    ``record`` is a task as ``task.get``/``task.getMulti`` read it, with changes laid over it.
    Unset references are written as ``0`` and unset dates with their ``IsSet`` flags at 0, so
    what Planfix "resets" is exactly what the record says. A task read without its process
    (``statusSet``) is not written: Planfix would move it into the default process.
    """
    if record.get("statusSet") in (None, ""):
        raise bad(
            "task",
            "statusSet",
            "the task was read without its process; writing it would move it into the default process,"
            " so it is left unchanged (check that the API user can see the task's process)",
        )
    return _task_params(record, full=True)
