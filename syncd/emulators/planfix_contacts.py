"""The emulated contact methods, each following its method page in ../reference/planfix-docs/.

A company is a contact with ``isCompany`` = 1 whose name is its ``name``; there is no
``companyName`` (an element of that name is ignored, as any undocumented one). ``contact.getList``
lists people unless ``<target>company</target>`` asks for companies. ``contact.update`` changes
only what it is given (its page, unlike task.update's, says nothing of defaults) and cannot turn
a person into a company or back: ``isCompany`` is not one of its parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from syncd.emulators.planfix_context import MethodContext, part
from syncd.emulators.planfix_filters import contact_filters
from syncd.emulators.planfix_model import CONTACT_FIELDS, Contact, Phone
from syncd.emulators.planfix_params import (
    ApiError,
    check_email,
    custom_values,
    flag,
    optional_int,
    paging,
    phones,
    text,
)
from syncd.emulators.planfix_render import CONTACT_EXTRA_FIELDS, contact_element, list_element, sub

Element = etree._Element


@dataclass
class ContactPatch:
    name: str | None
    last_name: str | None
    post: str | None
    email: str | None
    phones: list[Phone] | None
    address: str | None
    description: str | None
    custom: dict[int, str]


def _contact_patch(el: Element) -> ContactPatch:
    email = text(el, "email")
    return ContactPatch(
        name=text(el, "name"),
        last_name=text(el, "lastName"),
        post=text(el, "post"),
        email=check_email(email) if email is not None else None,
        phones=phones(el),
        address=text(el, "address"),
        description=text(el, "description"),
        custom=custom_values(el, CONTACT_FIELDS),
    )


def _apply_contact_patch(contact: Contact, patch: ContactPatch) -> None:
    for name in ("name", "last_name", "post", "email", "phones", "address", "description"):
        value = getattr(patch, name)
        if value is not None:
            setattr(contact, name, value)
    contact.custom.update(patch.custom)
    contact.custom = {key: value for key, value in sorted(contact.custom.items()) if value}


def _find_contact(ctx: MethodContext, el: Element, *, id_first: bool = False) -> Contact:
    """contact.get prefers general, then userid, then id; contact.update uses general only
    when id is not given (each as its page says)."""
    contact_id = optional_int(el, "id")
    general = optional_int(el, "general")
    userid = optional_int(el, "userid")
    if contact_id is None and general is None and userid is None:
        raise ApiError("0009", "required parameter contact/id is missing")
    if id_first and contact_id is not None:
        general = userid = None
    contact = ctx.store.find_contact(id_=contact_id, general=general, userid=userid)
    if contact is None:
        raise ApiError("8002", f"contact {general or userid or contact_id} not found")
    return contact


def _fields(req: Element) -> set[str]:
    """``<fields><field>lastUpdateDate</field>…``: the extra elements asked for."""
    wanted = {(el.text or "").strip() for el in req.findall("fields/field")}
    unknown = wanted - set(CONTACT_EXTRA_FIELDS)
    if unknown:
        allowed = ", ".join(CONTACT_EXTRA_FIELDS)
        raise ApiError("0015", f"fields/field: {', '.join(sorted(unknown))} is not one of {allowed}")
    return wanted


def contact_get(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_contact.get.md: lastUpdateDate only when ``<fields>`` asks for it."""
    fields = _fields(req)
    contact = _find_contact(ctx, part(req, "contact"))
    return [contact_element(contact, ctx.store, ctx.style, fields)]


def _matches_search(contact: Contact, search: str) -> bool:
    needle = search.casefold()
    return any(needle in value.casefold() for value in (contact.name, contact.last_name, contact.email))


def _target(value: str) -> Callable[[Contact], bool]:
    if value == "contact":
        return lambda contact: not contact.is_company
    if value == "company":
        return lambda contact: contact.is_company
    if value == "template":
        return lambda contact: False
    raise ApiError("0015", f"target {value!r}: expected contact (the default), company or template")


def contact_get_list(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_contact.getList.md: people by default, companies with target=company."""
    page = paging(req)
    in_target = _target((text(req, "target") or "contact").strip() or "contact")
    company = optional_int(req, "company")
    search = (text(req, "search") or "").strip()
    fields = _fields(req)
    tests = contact_filters(req, CONTACT_FIELDS)
    found = [
        c
        for c in sorted(ctx.store.contacts.values(), key=lambda c: c.id)
        if in_target(c)
        and (company is None or company in c.contractors)
        and (not search or _matches_search(c, search))
        and all(test(c) for test in tests)
    ]
    chunk = found[(page.page - 1) * page.size : page.page * page.size]
    items = [contact_element(c, ctx.store, ctx.style, fields) for c in chunk]
    return [list_element("contacts", items, len(found), ctx.style)]


def contact_add(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_contact.add.md: ``isCompany`` is set here, and only here."""
    el = part(req, "contact")
    patch = _contact_patch(el)
    is_company = flag(text(el, "isCompany")) or False
    if is_company and not (patch.name or "").strip():
        raise ApiError("0009", "a company needs a name (contact/name)")
    contact_id, userid, general = ctx.store.next_contact_ids()
    contact = Contact(id=contact_id, userid=userid, general=general, modified=ctx.now, is_company=is_company)
    _apply_contact_patch(contact, patch)
    ctx.store.contacts[contact_id] = contact
    reply = etree.Element("contact")
    sub(reply, "id", contact_id)
    sub(reply, "userid", userid)
    sub(reply, "general", general)
    return [reply]


def contact_update(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_contact.update.md: only the parameters given change; ``isCompany`` never."""
    el = part(req, "contact")
    contact = _find_contact(ctx, el, id_first=True)
    _apply_contact_patch(contact, _contact_patch(el))
    contact.modified = ctx.now
    reply = etree.Element("contact")
    sub(reply, "id", contact.id)
    sub(reply, "general", contact.general)
    return [reply]


def contact_delete(ctx: MethodContext, req: Element) -> list[Element]:
    """ПланФикс_API_contact.delete.md."""
    contact = _find_contact(ctx, part(req, "contact"), id_first=True)
    del ctx.store.contacts[contact.id]
    for other in ctx.store.contacts.values():
        if contact.id in other.contractors:
            other.contractors.remove(contact.id)
    reply = etree.Element("contact")
    sub(reply, "id", contact.id)
    return [reply]
