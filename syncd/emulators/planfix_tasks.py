"""The emulated task methods, each following its method page in ../reference/planfix-docs/.

``task.update`` does what ПланФикс_API_task.update.md says: "Не указанные параметры (за
исключением id) заменяются значениями по умолчанию" — every writable parameter it is not given is
reset to the value a new task gets (custom values, members, auditors, worker groups, process,
dates, duration…). Only an emulator started with ``update_resets=False`` (``--no-update-resets``)
keeps what it is not given, for tests that need a lenient server. The old-style
``<workers><addUsers>/<delUsers>`` patch changes worker users only.

Every request is read and validated in full before anything changes, so a refused request never
leaves a partial write behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from types import MappingProxyType
from typing import Final

from lxml import etree

from syncd.emulators.planfix_context import MethodContext, part
from syncd.emulators.planfix_filters import task_filters
from syncd.emulators.planfix_model import (
    API_USER,
    DEFAULT_IMPORTANCE,
    DEFAULT_PROCESS,
    DURATION_UNITS,
    IMPORTANCES,
    PROCESSES,
    PROJECTS,
    STATUS_NAMES,
    STATUSES,
    TASK_FIELDS,
    USER_GROUPS,
    USERS,
    DateTimeSlot,
    People,
    PlanfixStore,
    Task,
)
from syncd.emulators.planfix_params import (
    ApiError,
    PeopleChange,
    SlotChange,
    custom_values,
    flag,
    ids_in,
    integer,
    optional_int,
    paging,
    parse_date,
    parse_minute,
    people_change,
    slot_change,
    text,
)
from syncd.emulators.planfix_render import list_element, sub, task_element

Element = etree._Element
_PEOPLE = ("workers", "members", "auditors")


def _status(value: str) -> int:
    name = value.strip().upper()
    if name == "REJECTED":
        raise ApiError("0015", "status: REJECTED cannot be set here (a task is rejected with task.reject)")
    if name in STATUS_NAMES:
        return STATUS_NAMES[name]
    status = integer(value, "status")
    if status not in STATUSES:
        raise ApiError("0015", f"status: no status {status}")
    return status


def _ref(parent: Element, tag: str, allowed: Callable[[int], bool], code: str = "0015") -> int | None:
    value = optional_int(parent, f"{tag}/id")
    if value is not None and value != 0 and not allowed(value):
        raise ApiError(code, f"{tag}/id: no such object {value}")
    return value


def _bool(parent: Element, tag: str) -> bool | None:
    value = text(parent, tag)
    if value is None or not value.strip():
        return None
    if value.strip().lower() not in ("0", "1", "true", "false"):
        raise ApiError("0015", f"{tag}: {value!r} is not a bool (0 or 1)")
    return flag(value)


@dataclass(frozen=True)
class DurationChange:
    duration: int | None
    """None: ``durationIsSet`` = 0 (no duration)."""
    unit: int


def _duration(el: Element) -> DurationChange | None:
    is_set = _bool(el, "durationIsSet")
    amount = optional_int(el, "duration")
    unit = optional_int(el, "durationUnit")
    if is_set is None and amount is None and unit is None:
        return None
    unit = 0 if unit is None else unit
    if unit not in DURATION_UNITS:
        raise ApiError("0015", f"durationUnit: {unit} is not 0 (minutes), 1 (hours) or 2 (days)")
    if is_set is False or amount is None:
        return DurationChange(None, unit)
    if amount < 0:
        raise ApiError("0015", f"duration: {amount} is negative")
    return DurationChange(amount, unit)


@dataclass
class TaskPatch:
    """What one ``task.add``/``task.update`` request says; None (or "not mentioned") = not given."""

    title: str | None
    description: str | None
    importance: str | None
    status: int | None
    status_set: int | None
    check_result: bool | None
    owner: int | None
    parent: int | None
    project: int | None
    client: int | None
    start: SlotChange
    end: SlotChange
    is_summary: bool | None
    duration: DurationChange | None
    people: dict[str, PeopleChange | None]
    custom: dict[int, str] | None
    """None when the request has no ``<customData>``."""


def _task_patch(el: Element, store: PlanfixStore) -> TaskPatch:
    importance = text(el, "importance")
    if importance is not None and importance.strip().upper() not in IMPORTANCES:
        raise ApiError("0015", f"importance: {importance!r} is not one of {', '.join(IMPORTANCES)}")
    status = text(el, "status")
    owner = _ref(el, "owner", lambda i: i in USERS)
    if owner == 0:
        raise ApiError("0015", "owner/id: a task needs an owner")
    status_set = optional_int(el, "statusSet")
    if status_set is not None and status_set not in PROCESSES:
        raise ApiError("0015", f"statusSet: no task process {status_set}")
    return TaskPatch(
        title=text(el, "title"),
        description=text(el, "description"),
        importance=importance.strip().upper() if importance is not None else None,
        status=_status(status) if status is not None and status.strip() else None,
        status_set=status_set,
        check_result=_bool(el, "checkResult"),
        owner=owner,
        parent=_ref(el, "parent", lambda i: i in store.tasks),
        project=_ref(el, "project", lambda i: i in PROJECTS, code="3003"),
        client=_ref(el, "client", lambda i: i in store.contacts),
        start=slot_change(el, "start"),
        end=slot_change(el, "end"),
        is_summary=_bool(el, "isSummary"),
        duration=_duration(el),
        people={tag: people_change(el, tag, USERS, USER_GROUPS) for tag in _PEOPLE},
        custom=custom_values(el, TASK_FIELDS) if el.find("customData") is not None else None,
    )


def _check_dates(start: DateTimeSlot, end: DateTimeSlot) -> None:
    if start.day is None or end.day is None:
        return
    begins = datetime.combine(start.day, start.at or time.min)
    ends = datetime.combine(end.day, end.at or time.max)
    if begins > ends:
        raise ApiError("3006", "the start ('приступить к работе') is after the end ('закончить работу до')")


def _check_parent(task: Task, parent: int, store: PlanfixStore) -> None:
    seen = {task.id}
    while parent:
        if parent in seen:
            raise ApiError("0015", f"parent/id: task {task.id} would become its own parent")
        seen.add(parent)
        parent = store.tasks[parent].parent if parent in store.tasks else 0


_SIMPLE = ("title", "description", "importance", "check_result", "owner", "parent", "project", "client")
_SIMPLE_DEFAULTS: Final[Mapping[str, object]] = MappingProxyType(
    {
        "title": "",
        "description": "",
        "importance": DEFAULT_IMPORTANCE,
        "check_result": False,
        "owner": API_USER,
        "parent": 0,
        "project": 0,
        "client": 0,
    }
)
"""What a new task has, and so what task.update resets a parameter it is not given to."""


def _apply_task_patch(task: Task, patch: TaskPatch, store: PlanfixStore, *, resets: bool) -> None:
    """Validate the whole outcome first, then change ``task``; ``resets`` empties what is not given."""
    values: dict[str, object] = {}
    for name in _SIMPLE:
        value = getattr(patch, name)
        values[name] = (
            value if value is not None else (_SIMPLE_DEFAULTS[name] if resets else getattr(task, name))
        )
    process = patch.status_set or (DEFAULT_PROCESS if resets else task.status_set)
    status = patch.status
    if status is None:
        keep = not resets and task.status in PROCESSES[process].statuses
        status = task.status if keep else PROCESSES[process].default_status
    if status not in PROCESSES[process].statuses:
        raise ApiError("0015", f"status {status} is not a status of task process {process}")
    start = patch.start.slot if patch.start.mentioned or resets else task.start
    end = patch.end.slot if patch.end.mentioned or resets else task.end
    _check_dates(start, end)
    parent = patch.parent if patch.parent is not None else (0 if resets else task.parent)
    _check_parent(task, parent, store)
    for name, value in values.items():
        setattr(task, name, value)
    task.status_set, task.status, task.start, task.end = process, status, start, end
    if patch.is_summary is not None or resets:
        task.is_summary = bool(patch.is_summary)
    if patch.duration is not None:
        task.duration, task.duration_unit = patch.duration.duration, patch.duration.unit
    elif resets:
        task.duration, task.duration_unit = None, 0
    for tag in _PEOPLE:
        change = patch.people[tag]
        if change is not None:
            setattr(task, tag, change.apply(getattr(task, tag), resets=resets))
        elif resets:
            setattr(task, tag, People())
    if patch.custom is not None:
        task.custom = dict(patch.custom) if resets else {**task.custom, **patch.custom}
    elif resets:
        task.custom = {}
    task.custom = {key: value for key, value in sorted(task.custom.items()) if value}


def _find_task(ctx: MethodContext, el: Element) -> Task:
    task_id = optional_int(el, "id")
    general = optional_int(el, "general")
    if task_id is None and general is None:
        raise ApiError("0009", "required parameter task/id is missing")
    task = ctx.store.find_task(id_=task_id, general=general)
    if task is None:
        raise ApiError("3001", f"task {general if general is not None else task_id} not found")
    return task


def _id_reply(task: Task, *, general: bool = False) -> list[Element]:
    reply = etree.Element("task")
    sub(reply, "id", task.id)
    if general:
        sub(reply, "general", task.general)
    return [reply]


def task_get(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_task.get.md: the whole card, members and auditors included."""
    return [task_element(_find_task(ctx, part(req, "task")), ctx.store, ctx.style)]


def _target(value: str) -> Callable[[Task], bool]:
    if value == "all":
        return lambda task: True
    if value == "in":
        return lambda task: API_USER in task.workers.users
    if value == "out":
        return lambda task: task.owner == API_USER
    if value in ("template", "periodic"):
        return lambda task: False
    raise ApiError("0015", f"target {value!r}: expected all, in, out, template or periodic")


def task_get_list(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_task.getList.md: the card of task.get *without* members and auditors."""
    page = paging(req)
    in_target = _target((text(req, "target") or "all").strip())
    sort = (text(req, "sort") or "NUMBER_ASC").strip()
    if sort not in ("NUMBER_ASC", "NUMBER_DESC"):
        raise ApiError("0015", f"sort {sort!r} is not supported")
    tests = task_filters(req, TASK_FIELDS)
    found = [t for t in ctx.store.tasks.values() if in_target(t) and all(test(t) for test in tests)]
    found.sort(key=lambda t: t.general, reverse=sort == "NUMBER_DESC")
    chunk = found[(page.page - 1) * page.size : page.page * page.size]
    items = [task_element(t, ctx.store, ctx.style, people=False) for t in chunk]
    return [list_element("tasks", items, len(found), ctx.style)]


def task_get_multi(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_task.getMulti.md: up to 100 cards by id or number, each as task.get gives it."""
    container = req.find("tasks")
    wanted_ids = ids_in(container, "tasks/id")
    wanted_generals = [integer(el.text or "", "tasks/general") for el in req.findall("tasks/general")]
    if len(wanted_ids) + len(wanted_generals) > 100:
        raise ApiError("0021", f"too many objects requested: {len(wanted_ids) + len(wanted_generals)} > 100")
    found: dict[int, Task] = {}
    for task_id in wanted_ids:
        if task_id in ctx.store.tasks:
            found.setdefault(task_id, ctx.store.tasks[task_id])
    for general in wanted_generals:
        task = ctx.store.find_task(general=general)
        if task is not None:
            found.setdefault(task.id, task)
    items = [task_element(t, ctx.store, ctx.style) for t in found.values()]
    return [list_element("tasks", items, len(items), ctx.style, with_total=False)]


def _created(el: Element, now: datetime) -> datetime:
    value = (text(el, "beginDateTime") or "").strip()
    if not value:
        return now
    if " " in value:
        return parse_minute(value, "beginDateTime")
    return datetime.combine(parse_date(value, "beginDateTime"), time.min)


def task_add(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_task.add.md: what is not given gets the default a new task gets."""
    el = part(req, "task")
    template = optional_int(el, "template")
    if template:
        raise ApiError("0015", f"template: no task template {template}")
    patch = _task_patch(el, ctx.store)
    if patch.title is None:
        raise ApiError("0009", "required parameter task/title is missing")
    created = _created(el, ctx.now)
    task_id, general = ctx.store.next_task_ids()
    task = Task(id=task_id, general=general, title=patch.title, created=created, modified=ctx.now)
    _apply_task_patch(task, patch, ctx.store, resets=True)
    ctx.store.tasks[task_id] = task
    return _id_reply(task, general=True)


def task_update(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_task.update.md: every writable parameter not given is reset to its default."""
    el = part(req, "task")
    task = _find_task(ctx, el)
    patch = _task_patch(el, ctx.store)
    _apply_task_patch(task, patch, ctx.store, resets=ctx.update_resets)
    task.modified = ctx.now
    return _id_reply(task)


def task_update_custom_data(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_task.updateCustomData.md: only the custom values given change."""
    el = part(req, "task")
    task = _find_task(ctx, el)
    values = custom_values(el, TASK_FIELDS)
    task.custom.update(values)
    task.custom = {key: value for key, value in sorted(task.custom.items()) if value}
    task.modified = ctx.now
    return _id_reply(task)


def task_change_status(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_task.changeStatus.md: a status of the task's own process; never REJECTED."""
    el = part(req, "task")
    task = _find_task(ctx, el)
    value = text(req, "status")
    if value is None or not value.strip():
        raise ApiError("0009", "required parameter status is missing")
    status = _status(value)
    if status not in PROCESSES[task.status_set].statuses:
        raise ApiError("0015", f"status {status} is not a status of task process {task.status_set}")
    task.status = status
    task.modified = ctx.now
    return _id_reply(task)
