"""Rendering records the way Planfix replies: several real-world shapes, chosen per reply.

Real replies differ in ways a parser must survive (see planfix-xml-api.md "Shapes seen in real
replies"): the ``<?xml?>`` declaration may be missing, ``totalCount`` may come before ``count``,
dates come as ``startDate``/``startTime`` pairs or as ``startTime`` holding a date, text may be
CDATA, booleans may be words, unknown elements appear and empty optional ones may be left out.
``ReplyStyle`` captures one combination; ``--reply-shape random`` draws one per reply.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree

from syncd.emulators.planfix_model import (
    CONTACT_FIELDS,
    PHONE_TYPES,
    PROJECTS,
    TASK_FIELDS,
    USERS,
    Contact,
    DateTimeSlot,
    PlanfixStore,
    Task,
)

Element = etree._Element
ReplyShape = Literal["plain", "wild", "random"]
REPLY_SHAPES: tuple[ReplyShape, ...] = ("plain", "wild", "random")

_LIST_CONTAINERS = frozenset({"users", "groups", "customData", "phones", "tasks", "contacts"})


@dataclass(frozen=True)
class ReplyStyle:
    declaration: bool = True
    total_first: bool = False
    wild_dates: bool = False
    cdata: bool = False
    extras: bool = False
    word_booleans: bool = False
    omit_empty: bool = False

    @classmethod
    def pick(cls, shape: ReplyShape, rng: random.Random) -> ReplyStyle:
        if shape == "plain":
            return cls()
        if shape == "wild":
            return cls(False, True, True, True, True, True, True)
        return cls(*(rng.random() < 0.5 for _ in range(7)))


def sub(parent: Element, tag: str, value: object = None, *, cdata: bool = False) -> Element:
    child = etree.SubElement(parent, tag)
    if value is not None:
        text = str(value)
        # CDATA cannot carry "]]>", and a CR inside it would be read back as LF.
        usable = cdata and text and "]]>" not in text and "\r" not in text
        child.text = etree.CDATA(text) if usable else text
    return child


def _optional(parent: Element, tag: str, value: str, style: ReplyStyle) -> None:
    if value or not style.omit_empty:
        sub(parent, tag, value)


def _ref(parent: Element, tag: str, ref_id: int, label_tag: str, label: str) -> None:
    ref = sub(parent, tag)
    sub(ref, "id", ref_id)
    sub(ref, label_tag, label if ref_id else "")


def _slot_texts(slot: DateTimeSlot) -> tuple[str, str]:
    day = slot.day.strftime("%d-%m-%Y") if slot.day else ""
    at = slot.at.strftime("%H:%M") if slot.day and slot.at else ""
    return day, at


def _dates(el: Element, task: Task, style: ReplyStyle) -> None:
    start_day, start_at = _slot_texts(task.start)
    end_day, end_at = _slot_texts(task.end)
    if start_day:
        sub(el, "beginDateTime", f"{start_day} {start_at or '00:00'}")
    if style.wild_dates:
        _optional(el, "startTime", f"{start_day} {start_at}".strip(), style)
        _optional(el, "endTime", f"{end_day} {end_at}".strip(), style)
        return
    for tag, value in (
        ("startDate", start_day),
        ("startTime", start_at),
        ("endDate", end_day),
        ("endTime", end_at),
    ):
        _optional(el, tag, value, style)


def _custom_data(
    el: Element, values: Mapping[int, str], fields: Mapping[int, str], style: ReplyStyle
) -> None:
    container = sub(el, "customData")
    for field_id, name in fields.items():
        value = values.get(field_id, "")
        if not value and style.omit_empty:
            continue
        item = sub(container, "customValue")
        field = sub(item, "field")
        sub(field, "id", field_id)
        sub(field, "name", name)
        sub(item, "value", value, cdata=style.cdata)
        sub(item, "text", value)


def contact_display(contact: Contact | None) -> str:
    if contact is None:
        return ""
    if contact.is_company and contact.company_name:
        return contact.company_name
    return f"{contact.name} {contact.last_name}".strip()


def task_element(task: Task, store: PlanfixStore, style: ReplyStyle) -> Element:
    el = etree.Element("task")
    sub(el, "id", task.id)
    sub(el, "general", task.general)
    sub(el, "title", task.title, cdata=style.cdata)
    sub(el, "description", task.description, cdata=style.cdata)
    sub(el, "importance", task.importance)
    sub(el, "status", task.status)
    if style.extras:
        sub(el, "statusSet", 1)
        sub(el, "checkResult", 0)
        sub(el, "type", "task")
        sub(sub(el, "parent"), "id", 0)
        sub(sub(el, "template"), "id", 0)
    _ref(el, "owner", task.owner, "name", USERS.get(task.owner, ""))
    _ref(el, "project", task.project, "title", PROJECTS.get(task.project, ""))
    _ref(el, "client", task.client, "name", contact_display(store.contacts.get(task.client)))
    _dates(el, task, style)
    workers = sub(el, "workers")
    users = sub(workers, "users")
    for user_id in task.workers:
        user = sub(users, "user")
        sub(user, "id", user_id)
        sub(user, "name", USERS.get(user_id, ""))
    if style.extras:
        sub(workers, "groups")
        sub(sub(el, "auditors"), "users")
    _custom_data(el, task.custom, TASK_FIELDS, style)
    return el


def contact_element(contact: Contact, style: ReplyStyle) -> Element:
    el = etree.Element("contact")
    sub(el, "id", contact.id)
    sub(el, "userid", contact.userid)
    sub(el, "general", contact.general)
    if style.extras:
        sub(sub(el, "template"), "id", 0)
        sub(el, "midName", "")
        sub(el, "sex", "")
    sub(el, "name", contact.name, cdata=style.cdata)
    sub(el, "lastName", contact.last_name, cdata=style.cdata)
    _optional(el, "email", contact.email, style)
    yes, no = ("true", "false") if style.word_booleans else ("1", "0")
    sub(el, "isCompany", yes if contact.is_company else no)
    _optional(el, "companyName", contact.company_name, style)
    container = sub(el, "phones")
    for phone in contact.phones:
        item = sub(container, "phone")
        sub(item, "number", phone.number)
        sub(item, "typeId", phone.type_id)
        sub(item, "typeName", PHONE_TYPES.get(phone.type_id, ""))
    _custom_data(el, contact.custom, CONTACT_FIELDS, style)
    sub(el, "lastUpdateDate", contact.modified.strftime("%d-%m-%Y %H:%M"))
    return el


def list_element(tag: str, items: list[Element], total: int, style: ReplyStyle) -> Element:
    el = etree.Element(tag)
    pairs = [("count", str(len(items))), ("totalCount", str(total))]
    for name, value in reversed(pairs) if style.total_first else pairs:
        el.set(name, value)
    el.extend(items)
    return el


def envelope(children: list[Element], style: ReplyStyle) -> bytes:
    root = etree.Element("response", status="ok")
    root.extend(children)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=style.declaration)


def error_envelope(code: str, message: str) -> bytes:
    root = etree.Element("response", status="error")
    sub(root, "code", code)
    sub(root, "message", message)
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


def as_json(el: Element) -> Any:
    """An element as JSON, keeping the API's names: lists for list containers, text for leaves."""
    if el.tag in _LIST_CONTAINERS:
        return [as_json(child) for child in el]
    if len(el) == 0:
        return el.text or ""
    return {str(child.tag): as_json(child) for child in el}
