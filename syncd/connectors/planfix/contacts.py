"""Planfix contacts ↔ native records: the one place that knows a contact's elements on the wire.

A company is a contact with ``isCompany`` = 1 whose name is its ``name``; Planfix has no
``companyName`` element (``ПланФикс_API_contact.get.md``). The native record keeps the two kinds
apart so a mapping can treat them differently: a company's name is the native ``companyName`` and
its native ``name`` (a person's first name) is empty; a person's ``companyName`` is empty, since
Planfix has nowhere to keep it. Writing maps them back onto ``<name>``; a value for the one a kind
has no place for fails the record rather than vanish (it would read back as cleared, and the sync
would clear it on the other side too).

``isCompany`` is a parameter of ``contact.add`` but not of ``contact.update``
(``ПланФикс_API_contact.update.md``): a person cannot be turned into a company through the API,
so an update that would do it fails the record with a message saying so. ``contact.update`` is
partial: only the fields it is given change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.connectors.planfix.times import format_date, format_time, split_moment
from syncd.connectors.planfix.values import (
    SYSTEM,
    bad,
    read_custom_data,
    read_flag,
    write_custom_data,
    write_flag,
    write_text,
)
from syncd.connectors.planfix.xml import Element, Param, child_text
from syncd.errors import ProtocolError


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
    is_company = read_flag(el, "isCompany")
    name = child_text(el, "name")
    return {
        "id": contact_id,
        "userid": child_text(el, "userid").strip(),
        "general": child_text(el, "general").strip(),
        "name": "" if is_company else name,
        "lastName": child_text(el, "lastName"),
        "email": child_text(el, "email").strip(),
        "phones": phones,
        "isCompany": is_company,
        "companyName": name if is_company else "",
        "customData": read_custom_data(el),
        "lastUpdateDate": (
            f"{format_date(moment[0])} {format_time(moment[1]) if moment[1] else '00:00'}" if moment else None
        ),
    }


def _phones(value: Any) -> Param:
    if not isinstance(value, list | tuple):
        raise bad("contact", "phones", "expected a list of {number, typeId}")
    items: list[Param] = []
    for phone in value:
        if not isinstance(phone, Mapping):
            raise bad("contact", "phones", "expected a list of {number, typeId}")
        number = write_text("contact", "phones.number", phone.get("number")).strip()
        if not number:
            continue
        type_id = write_text("contact", "phones.typeId", phone.get("typeId") or "1").strip()
        items.append(("phone", [("number", number), ("typeId", type_id)]))
    return ("phones", items)


def _name(record: Mapping[str, Any], is_company: bool) -> list[Param]:
    field, homeless = ("companyName", "name") if is_company else ("name", "companyName")
    if write_text("contact", homeless, record.get(homeless)).strip():
        # Dropping it would read back as "cleared in Planfix" and clear it on the other side too.
        kind = "a company has no first name" if is_company else "a person has no company name"
        raise bad("contact", homeless, f"Planfix cannot keep it ({kind}); leave it out of the mapping")
    if field not in record:
        return []
    return [("name", write_text("contact", field, record[field]))]


def _fields(record: Mapping[str, Any], is_company: bool) -> list[Param]:
    params = _name(record, is_company)
    if "lastName" in record:
        params.append(("lastName", write_text("contact", "lastName", record["lastName"])))
    if "email" in record:
        params.append(("email", write_text("contact", "email", record["email"]).strip()))
    if "phones" in record:
        params.append(_phones(record["phones"] or []))
    if record.get("customData"):
        params.append(write_custom_data("contact", record["customData"]))
    return params


def contact_add_params(record: Mapping[str, Any]) -> list[Param]:
    """``contact.add``'s ``<contact>`` children for the fields ``record`` holds."""
    is_company = bool(record.get("isCompany"))
    return [*_fields(record, is_company), ("isCompany", write_flag(is_company))]


def contact_update_params(current: Mapping[str, Any], changes: Mapping[str, Any]) -> list[Param]:
    """``contact.update``'s ``<contact>`` children (after ``id``) for ``changes`` to ``current``.

    A change of kind (person ↔ company) cannot be written: ``isCompany`` is no parameter of
    ``contact.update``.
    """
    is_company = bool(current.get("isCompany"))
    if "isCompany" in changes and bool(changes["isCompany"]) != is_company:
        want = "company" if changes["isCompany"] else "person"
        raise bad(
            "contact",
            "isCompany",
            f"Planfix cannot turn this contact into a {want} through its API (contact.update has no "
            "isCompany); change it in Planfix, or leave the kind out of the mapping",
        )
    return _fields(changes, is_company)
