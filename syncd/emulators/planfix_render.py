"""Rendering records the way Planfix replies: the documented card, in several real-world shapes.

The card is the one ПланФикс_API_task.get.md and ПланФикс_API_contact.get.md show: a task's
``beginDateTime`` is its creation time, its planned start and end are ``startTime``/``endTime``
holding a DateTime (``dd-mm-yyyy`` or ``dd-mm-yyyy HH:MM``), empty when unset; workers, members and
auditors list users and groups. ``task.getList`` leaves members and auditors out (its page says
so); a contact's ``lastUpdateDate`` appears only when ``<fields>`` asks for it.

Real replies also differ in ways a parser must survive (see planfix-xml-api.md "Shapes seen in
real replies"): the ``<?xml?>`` declaration may be missing, ``totalCount`` may come before
``count``, text may be CDATA, booleans may be words, unknown elements appear and empty optional
ones may be left out. ``ReplyStyle`` captures one combination; ``--reply-shape random`` draws one
per reply.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree

from syncd.emulators.planfix_model import (
    CONTACT_FIELDS,
    PHONE_TYPES,
    PROJECTS,
    TASK_FIELDS,
    USER_GROUPS,
    USERS,
    Contact,
    CustomField,
    DateTimeSlot,
    People,
    PlanfixStore,
    Task,
)

Element = etree._Element
ReplyShape = Literal["plain", "wild", "random"]
REPLY_SHAPES: tuple[ReplyShape, ...] = ("plain", "wild", "random")

_LIST_CONTAINERS = frozenset({"users", "groups", "customData", "phones", "tasks", "contacts", "contractors"})


@dataclass(frozen=True)
class ReplyStyle:
    declaration: bool = True
    total_first: bool = False
    cdata: bool = False
    extras: bool = False
    word_booleans: bool = False
    omit_empty: bool = False

    @classmethod
    def pick(cls, shape: ReplyShape, rng: random.Random) -> ReplyStyle:
        if shape == "plain":
            return cls()
        if shape == "wild":
            return cls(False, True, True, True, True, True)
        return cls(*(rng.random() < 0.5 for _ in range(6)))


def sub(parent: Element, tag: str, value: object = None, *, cdata: bool = False) -> Element:
    child = etree.SubElement(parent, tag)
    if value is not None:
        text = str(value)
        # CDATA cannot carry "]]>", and a CR inside it would be read back as LF.
        usable = cdata and text and "]]>" not in text and "\r" not in text
        child.text = etree.CDATA(text) if usable else text
    return child


def _optional(parent: Element, tag: str, value: str, style: ReplyStyle, *, cdata: bool = False) -> None:
    if value or not style.omit_empty:
        sub(parent, tag, value, cdata=cdata)


def _ref(parent: Element, tag: str, ref_id: int, label_tag: str | None = None, label: str = "") -> None:
    """A reference: ``<id>0</id>`` with an empty name when unset, never absent."""
    ref = sub(parent, tag)
    sub(ref, "id", ref_id)
    if label_tag is not None:
        sub(ref, label_tag, label if ref_id else "")


def _bool(style: ReplyStyle, value: bool) -> str:
    if style.word_booleans:
        return "true" if value else "false"
    return "1" if value else "0"


def date_time(slot: DateTimeSlot) -> str:
    """A DateTime as the read shape gives it: ``dd-mm-yyyy``, ``dd-mm-yyyy HH:MM`` or "" (unset)."""
    if slot.day is None:
        return ""
    day = slot.day.strftime("%d-%m-%Y")
    return f"{day} {slot.at.strftime('%H:%M')}" if slot.at else day


def _custom_text(spec: CustomField, value: str) -> str:
    return dict(spec.choices).get(value, value) if spec.choices else value


def _custom_data(
    el: Element, values: Mapping[int, str], fields: Mapping[int, CustomField], style: ReplyStyle
) -> None:
    container = sub(el, "customData")
    for field_id, spec in fields.items():
        value = values.get(field_id, "")
        if not value and style.omit_empty:
            continue
        item = sub(container, "customValue")
        field = sub(item, "field")
        sub(field, "id", field_id)
        sub(field, "name", spec.name)
        sub(item, "value", value, cdata=style.cdata)
        sub(item, "text", _custom_text(spec, value))


def _people(parent: Element, tag: str, people: People) -> None:
    el = sub(parent, tag)
    users = sub(el, "users")
    for user_id in people.users:
        user = sub(users, "user")
        sub(user, "id", user_id)
        sub(user, "name", USERS.get(user_id, ""))
    groups = sub(el, "groups")
    for group_id in people.groups:
        group = sub(groups, "group")
        sub(group, "id", group_id)
        sub(group, "name", USER_GROUPS.get(group_id, ""))


def contact_display(contact: Contact | None) -> str:
    """A contact's display name: a company's ``name``, a person's name and last name."""
    if contact is None:
        return ""
    if contact.is_company:
        return contact.name
    return f"{contact.name} {contact.last_name}".strip()


def task_element(task: Task, store: PlanfixStore, style: ReplyStyle, *, people: bool = True) -> Element:
    """The task card of task.get.md; ``people=False`` leaves out members and auditors (getList)."""
    el = etree.Element("task")
    sub(el, "id", task.id)
    sub(el, "general", task.general)
    sub(el, "title", task.title, cdata=style.cdata)
    sub(el, "description", task.description, cdata=style.cdata)
    sub(el, "importance", task.importance)
    sub(el, "status", task.status)
    sub(el, "statusSet", task.status_set)
    sub(el, "checkResult", _bool(style, task.check_result))
    sub(el, "type", "task")
    _ref(el, "owner", task.owner, "name", USERS.get(task.owner, ""))
    _ref(el, "parent", task.parent)
    _ref(el, "template", task.template)
    _ref(el, "project", task.project, "title", PROJECTS.get(task.project, ""))
    _ref(el, "client", task.client, "name", contact_display(store.contacts.get(task.client)))
    sub(el, "beginDateTime", task.created.strftime("%d-%m-%Y %H:%M"))
    _optional(el, "startTime", date_time(task.start), style)
    _optional(el, "endTime", date_time(task.end), style)
    _optional(el, "duration", "" if task.duration is None else str(task.duration), style)
    sub(el, "durationUnit", task.duration_unit)
    if style.extras:
        for tag in ("isOverdued", "isCloseToDeadline", "isNotAcceptedInTime"):
            sub(el, tag, _bool(style, False))
    sub(el, "isSummary", _bool(style, task.is_summary))
    sub(el, "starred", _bool(style, task.starred))
    if style.extras:
        sub(el, "additionalDescriptionData", "")
        sub(el, "hasAttachments", _bool(style, False))
    _people(el, "workers", task.workers)
    if people:
        _people(el, "members", task.members)
        _people(el, "auditors", task.auditors)
    _custom_data(el, task.custom, TASK_FIELDS, style)
    return el


CONTACT_EXTRA_FIELDS = ("lastUpdateDate", "lastCommentDate")
"""What ``<fields><field>`` may ask for (contact.get.md, contact.getList.md)."""


def contact_element(
    contact: Contact, store: PlanfixStore, style: ReplyStyle, fields: Collection[str] = ()
) -> Element:
    """The contact card of contact.get.md; ``fields`` adds lastUpdateDate/lastCommentDate."""
    el = etree.Element("contact")
    sub(el, "id", contact.id)
    sub(el, "userid", contact.userid)
    sub(el, "general", contact.general)
    _ref(el, "template", 0)
    sub(el, "name", contact.name, cdata=style.cdata)
    if style.extras:
        sub(el, "midName", "")
    sub(el, "lastName", contact.last_name, cdata=style.cdata)
    sub(el, "isCompany", _bool(style, contact.is_company))
    _optional(el, "post", contact.post, style)
    _optional(el, "email", contact.email, style)
    container = sub(el, "phones")
    for phone in contact.phones:
        item = sub(container, "phone")
        sub(item, "number", phone.number)
        sub(item, "typeId", phone.type_id)
        sub(item, "typeName", PHONE_TYPES.get(phone.type_id, ""))
    _optional(el, "address", contact.address, style)
    _optional(el, "description", contact.description, style, cdata=style.cdata)
    if style.extras:
        sub(el, "sex", "")
        sub(el, "skype", "")
        sub(el, "havePlanfixAccess", _bool(style, False))
    contractors = sub(el, "contractors")
    for company_id in contact.contractors:
        client = sub(contractors, "client")
        sub(client, "id", company_id)
        sub(client, "name", contact_display(store.contacts.get(company_id)))
    _custom_data(el, contact.custom, CONTACT_FIELDS, style)
    if "lastUpdateDate" in fields:
        sub(el, "lastUpdateDate", contact.modified.strftime("%d-%m-%Y %H:%M"))
    if "lastCommentDate" in fields:
        sub(el, "lastCommentDate", "")
    return el


def list_element(
    tag: str, items: list[Element], total: int, style: ReplyStyle, *, with_total: bool = True
) -> Element:
    """A list with ``count`` (and ``totalCount`` unless ``with_total`` is False: task.getMulti)."""
    el = etree.Element(tag)
    pairs = [("count", str(len(items)))]
    if with_total:
        pairs.append(("totalCount", str(total)))
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
