"""The emulated API methods: each reads its parameters, validates them all, then changes the store.

``task.update`` reproduces the documented hazard: a field it is not given (description, start and
end, workers) is reset, unless the emulator runs with ``--no-update-resets``. Custom values are
merged by field id. There is no ``task.delete``; ``contact.delete`` removes the contact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Final

from lxml import etree

from syncd.emulators.planfix_filters import contact_filters, task_filters
from syncd.emulators.planfix_model import (
    CONTACT_FIELDS,
    IMPORTANCES,
    PROJECTS,
    STATUS_NAMES,
    STATUSES,
    TASK_FIELDS,
    USERS,
    Contact,
    Phone,
    PlanfixStore,
    Task,
)
from syncd.emulators.planfix_params import (
    ApiError,
    SlotChange,
    WorkersChange,
    check_email,
    custom_values,
    flag,
    ids_in,
    integer,
    optional_int,
    paging,
    phones,
    slot_change,
    text,
    workers_change,
)
from syncd.emulators.planfix_render import ReplyStyle, contact_element, list_element, sub, task_element

Element = etree._Element


@dataclass
class MethodContext:
    store: PlanfixStore
    now: datetime
    """Naive local time in the emulator's zone."""
    style: ReplyStyle
    update_resets: bool = True


Handler = Callable[[MethodContext, Element], list[Element]]


# ---------------------------------------------------------------- tasks


def _status(value: str) -> int:
    name = value.strip().upper()
    if name in STATUS_NAMES:
        return STATUS_NAMES[name]
    status = integer(value, "status")
    if status not in STATUSES:
        raise ApiError("0015", f"status: no status {status}")
    return status


def _ref(parent: Element, tag: str, allowed: Callable[[int], bool]) -> int | None:
    value = optional_int(parent, f"{tag}/id")
    if value is not None and value != 0 and not allowed(value):
        raise ApiError("0015", f"{tag}/id: no such object {value}")
    return value


@dataclass
class TaskPatch:
    title: str | None
    description: str | None
    importance: str | None
    status: int | None
    owner: int | None
    client: int | None
    project: int | None
    start: SlotChange
    end: SlotChange
    workers: WorkersChange | None
    custom: dict[int, str] = field(default_factory=dict)


def _task_patch(el: Element, store: PlanfixStore) -> TaskPatch:
    importance = text(el, "importance")
    if importance is not None and importance.strip().upper() not in IMPORTANCES:
        raise ApiError("0015", f"importance: {importance!r} is not one of {', '.join(IMPORTANCES)}")
    status = text(el, "status")
    owner = _ref(el, "owner", lambda i: i in USERS)
    if owner == 0:
        raise ApiError("0015", "owner/id: a task needs an owner")
    return TaskPatch(
        title=text(el, "title"),
        description=text(el, "description"),
        importance=importance.strip().upper() if importance is not None else None,
        status=_status(status) if status is not None and status.strip() else None,
        owner=owner,
        client=_ref(el, "client", lambda i: i in store.contacts),
        project=_ref(el, "project", lambda i: i in PROJECTS),
        start=slot_change(el, "start"),
        end=slot_change(el, "end"),
        workers=workers_change(el, USERS),
        custom=custom_values(el, TASK_FIELDS),
    )


def _apply_task_patch(task: Task, patch: TaskPatch, *, resets: bool) -> None:
    if patch.title is not None:
        task.title = patch.title
    if patch.description is not None or resets:
        task.description = patch.description or ""
    for name in ("importance", "status", "owner", "client", "project"):
        value = getattr(patch, name)
        if value is not None:
            setattr(task, name, value)
    if patch.start.mentioned or resets:
        task.start = patch.start.slot
    if patch.end.mentioned or resets:
        task.end = patch.end.slot
    if patch.workers is not None:
        task.workers = patch.workers.apply(task.workers)
    elif resets:
        task.workers = []
    task.custom.update(patch.custom)


def _part(req: Element, tag: str) -> Element:
    el = req.find(tag)
    if el is None:
        raise ApiError("0009", f"required parameter {tag} is missing")
    return el


def _find_task(ctx: MethodContext, el: Element) -> Task:
    task_id = optional_int(el, "id")
    general = optional_int(el, "general")
    if task_id is None and general is None:
        raise ApiError("0009", "required parameter task/id is missing")
    task = ctx.store.find_task(id_=task_id, general=general)
    if task is None:
        raise ApiError("3001", f"task {task_id or general} not found")
    return task


def task_get(ctx: MethodContext, req: Element) -> list[Element]:
    return [task_element(_find_task(ctx, _part(req, "task")), ctx.store, ctx.style)]


def task_get_list(ctx: MethodContext, req: Element) -> list[Element]:
    page = paging(req)
    target = (text(req, "target") or "all").strip()
    if target != "all":
        raise ApiError("0015", f"target {target!r} is not emulated; use 'all'")
    sort = (text(req, "sort") or "NUMBER_ASC").strip()
    if sort not in ("NUMBER_ASC", "NUMBER_DESC"):
        raise ApiError("0015", f"sort {sort!r} is not supported")
    tests = task_filters(req, TASK_FIELDS)
    found = [t for t in ctx.store.tasks.values() if all(test(t) for test in tests)]
    found.sort(key=lambda t: t.general, reverse=sort == "NUMBER_DESC")
    chunk = found[(page.page - 1) * page.size : page.page * page.size]
    items = [task_element(t, ctx.store, ctx.style) for t in chunk]
    return [list_element("tasks", items, len(found), ctx.style)]


def task_get_multi(ctx: MethodContext, req: Element) -> list[Element]:
    wanted = ids_in(req.find("tasks"), "tasks/id")
    if len(wanted) > 100:
        raise ApiError("0021", f"too many objects requested: {len(wanted)} ids > 100")
    found = [ctx.store.tasks[i] for i in dict.fromkeys(wanted) if i in ctx.store.tasks]
    items = [task_element(t, ctx.store, ctx.style) for t in found]
    return [list_element("tasks", items, len(items), ctx.style)]


def task_add(ctx: MethodContext, req: Element) -> list[Element]:
    el = _part(req, "task")
    patch = _task_patch(el, ctx.store)
    if patch.title is None:
        raise ApiError("0009", "required parameter task/title is missing")
    task_id, general = ctx.store.next_task_ids()
    task = Task(id=task_id, general=general, title=patch.title, modified=ctx.now)
    _apply_task_patch(task, patch, resets=True)
    ctx.store.tasks[task_id] = task
    reply = etree.Element("task")
    sub(reply, "id", task_id)
    sub(reply, "general", general)
    return [reply]


def task_update(ctx: MethodContext, req: Element) -> list[Element]:
    el = _part(req, "task")
    task = _find_task(ctx, el)
    patch = _task_patch(el, ctx.store)
    _apply_task_patch(task, patch, resets=ctx.update_resets)
    task.modified = ctx.now
    reply = etree.Element("task")
    sub(reply, "id", task.id)
    return [reply]


def task_update_custom_data(ctx: MethodContext, req: Element) -> list[Element]:
    el = _part(req, "task")
    task = _find_task(ctx, el)
    values = custom_values(el, TASK_FIELDS) or custom_values(req, TASK_FIELDS)
    task.custom.update(values)
    task.modified = ctx.now
    return []


def task_change_status(ctx: MethodContext, req: Element) -> list[Element]:
    el = _part(req, "task")
    task = _find_task(ctx, el)
    value = text(req, "status")
    if value is None:
        value = text(el, "status")
    if value is None or not value.strip():
        raise ApiError("0009", "required parameter status is missing")
    task.status = _status(value)
    task.modified = ctx.now
    return []


# ---------------------------------------------------------------- contacts


@dataclass
class ContactPatch:
    name: str | None
    last_name: str | None
    email: str | None
    phones: list[Phone] | None
    is_company: bool | None
    company_name: str | None
    custom: dict[int, str]


def _contact_patch(el: Element) -> ContactPatch:
    email = text(el, "email")
    return ContactPatch(
        name=text(el, "name"),
        last_name=text(el, "lastName"),
        email=check_email(email) if email is not None else None,
        phones=phones(el),
        is_company=flag(text(el, "isCompany")),
        company_name=text(el, "companyName"),
        custom=custom_values(el, CONTACT_FIELDS),
    )


def _apply_contact_patch(contact: Contact, patch: ContactPatch) -> None:
    for name in ("name", "last_name", "email", "phones", "is_company", "company_name"):
        value = getattr(patch, name)
        if value is not None:
            setattr(contact, name, value)
    contact.custom.update(patch.custom)


def _find_contact(ctx: MethodContext, el: Element) -> Contact:
    contact_id = optional_int(el, "id")
    general = optional_int(el, "general")
    if contact_id is None and general is None:
        raise ApiError("0009", "required parameter contact/id is missing")
    contact = ctx.store.find_contact(id_=contact_id, general=general)
    if contact is None:
        raise ApiError("8002", f"contact {contact_id or general} not found")
    return contact


def contact_get(ctx: MethodContext, req: Element) -> list[Element]:
    return [contact_element(_find_contact(ctx, _part(req, "contact")), ctx.style)]


def _matches_search(contact: Contact, search: str) -> bool:
    needle = search.casefold()
    haystack = (contact.name, contact.last_name, contact.email, contact.company_name)
    return any(needle in value.casefold() for value in haystack)


def contact_get_list(ctx: MethodContext, req: Element) -> list[Element]:
    page = paging(req)
    target = (text(req, "target") or "all").strip()
    if target not in ("all", "contact", "company"):
        raise ApiError("0015", f"target {target!r}: expected contact, company or all")
    search = (text(req, "search") or "").strip()
    tests = contact_filters(req, CONTACT_FIELDS)
    found = [
        c
        for c in sorted(ctx.store.contacts.values(), key=lambda c: c.id)
        if (target == "all" or c.is_company == (target == "company"))
        and (not search or _matches_search(c, search))
        and all(test(c) for test in tests)
    ]
    chunk = found[(page.page - 1) * page.size : page.page * page.size]
    items = [contact_element(c, ctx.style) for c in chunk]
    return [list_element("contacts", items, len(found), ctx.style)]


def contact_add(ctx: MethodContext, req: Element) -> list[Element]:
    el = _part(req, "contact")
    patch = _contact_patch(el)
    contact_id, userid, general = ctx.store.next_contact_ids()
    contact = Contact(id=contact_id, userid=userid, general=general, modified=ctx.now)
    _apply_contact_patch(contact, patch)
    ctx.store.contacts[contact_id] = contact
    reply = etree.Element("contact")
    sub(reply, "id", contact_id)
    sub(reply, "userid", userid)
    sub(reply, "general", general)
    return [reply]


def contact_update(ctx: MethodContext, req: Element) -> list[Element]:
    el = _part(req, "contact")
    contact = _find_contact(ctx, el)
    _apply_contact_patch(contact, _contact_patch(el))
    contact.modified = ctx.now
    reply = etree.Element("contact")
    sub(reply, "id", contact.id)
    return [reply]


def contact_delete(ctx: MethodContext, req: Element) -> list[Element]:
    contact = _find_contact(ctx, _part(req, "contact"))
    del ctx.store.contacts[contact.id]
    return []


METHODS: Final[Mapping[str, Handler]] = MappingProxyType(
    {
        "task.get": task_get,
        "task.getList": task_get_list,
        "task.getMulti": task_get_multi,
        "task.add": task_add,
        "task.update": task_update,
        "task.updateCustomData": task_update_custom_data,
        "task.changeStatus": task_change_status,
        "contact.get": contact_get,
        "contact.getList": contact_get_list,
        "contact.add": contact_add,
        "contact.update": contact_update,
        "contact.delete": contact_delete,
    }
)
WRITE_METHODS: Final = frozenset(
    {
        "task.add",
        "task.update",
        "task.updateCustomData",
        "task.changeStatus",
        "contact.add",
        "contact.update",
        "contact.delete",
    }
)
