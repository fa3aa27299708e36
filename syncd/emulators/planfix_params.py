"""Reading method parameters out of a Planfix request, strictly, as the real service would.

Everything is validated before anything is changed, so a refused request never leaves a partial
write behind. A bad parameter raises ``ApiError``: the emulated server's error reply, which never
leaves the emulator (it is rendered as ``<response status="error">``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time

from lxml import etree

from syncd.emulators.planfix_model import CustomField, DateTimeSlot, People, Phone

Element = etree._Element

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ApiError(Exception):
    """An error reply of the emulated API: ``code`` is Planfix's four-digit error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def text(parent: Element, path: str) -> str | None:
    """The text at ``path``, "" for an empty element, None when the element is absent."""
    found = parent.find(path)
    if found is None:
        return None
    return found.text or ""


def required(parent: Element, path: str) -> str:
    value = text(parent, path)
    if value is None:
        raise ApiError("0009", f"required parameter {path} is missing")
    return value


def integer(value: str, where: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ApiError("0015", f"{where}: {value!r} is not a number") from None


def optional_int(parent: Element, path: str) -> int | None:
    value = text(parent, path)
    return None if value is None or not value.strip() else integer(value, path)


def flag(value: str | None) -> bool | None:
    if value is None or not value.strip():
        return None
    return value.strip().lower() in ("1", "true", "yes")


def parse_date(value: str, where: str) -> date:
    try:
        return datetime.strptime(value.strip(), "%d-%m-%Y").date()
    except ValueError:
        raise ApiError("0015", f"{where}: {value!r} is not a date dd-mm-yyyy") from None


def parse_time(value: str, where: str) -> time:
    try:
        return datetime.strptime(value.strip(), "%H:%M").time()
    except ValueError:
        raise ApiError("0015", f"{where}: {value!r} is not a time HH:MM") from None


def parse_minute(value: str, where: str) -> datetime:
    try:
        return datetime.strptime(value.strip(), "%d-%m-%Y %H:%M")
    except ValueError:
        raise ApiError("0015", f"{where}: {value!r} is not 'dd-mm-yyyy HH:MM'") from None


def ids_in(parent: Element | None, where: str) -> list[int]:
    if parent is None:
        return []
    return [integer(el.text or "", where) for el in parent.findall("id")]


def check_email(value: str) -> str:
    if value and not _EMAIL.match(value.strip()):
        raise ApiError("8010", f"invalid e-mail address {value!r}")
    return value


def _custom_value(field_id: int, spec: CustomField, value: str) -> str:
    """Refuse a value the field's type cannot hold, as the real service does (0015)."""
    stripped = value.strip()
    if not stripped:
        return ""
    where = f"customValue {field_id} ({spec.name}, {spec.type})"
    if spec.type == "number":
        try:
            float(stripped.replace(",", "."))
        except ValueError:
            raise ApiError("0015", f"{where}: {value!r} is not a number") from None
    elif spec.type == "date":
        parse_date(stripped, where)
    elif spec.type in ("handbook", "list") and stripped not in {v for v, _ in spec.choices}:
        allowed = ", ".join(v for v, _ in spec.choices)
        raise ApiError("0015", f"{where}: {value!r} is not one of {allowed}")
    return stripped if spec.type != "string" else value


def custom_values(parent: Element, allowed: Mapping[int, CustomField]) -> dict[int, str]:
    """``<customData><customValue><id/><value/></customValue>…`` → {field id: value}."""
    values: dict[int, str] = {}
    for item in parent.findall("customData/customValue"):
        raw_id = text(item, "id")
        if raw_id is None:
            raw_id = text(item, "field/id")
        if raw_id is None:
            raise ApiError("0009", "customValue without id")
        field_id = integer(raw_id, "customValue/id")
        if field_id not in allowed:
            raise ApiError("0015", f"customValue/id: no custom field {field_id}")
        values[field_id] = _custom_value(field_id, allowed[field_id], text(item, "value") or "")
    return values


@dataclass
class SlotChange:
    """How a request changes a task's start or end; ``mentioned`` is False when it says nothing."""

    mentioned: bool
    slot: DateTimeSlot = field(default_factory=DateTimeSlot)


def slot_change(task: Element, prefix: str) -> SlotChange:
    """Read ``{prefix}DateIsSet``, ``{prefix}Date``, ``{prefix}TimeIsSet``, ``{prefix}Time``."""
    date_set = flag(text(task, f"{prefix}DateIsSet"))
    date_text = text(task, f"{prefix}Date")
    time_set = flag(text(task, f"{prefix}TimeIsSet"))
    time_text = text(task, f"{prefix}Time")
    if date_set is None and date_text is None and time_set is None and time_text is None:
        return SlotChange(mentioned=False)
    if date_set is False or not (date_text or "").strip():
        if (time_text or "").strip() and time_set is not False:
            raise ApiError("0015", f"{prefix}Time given without {prefix}Date")
        return SlotChange(mentioned=True)
    day = parse_date(date_text or "", f"{prefix}Date")
    at = None
    if time_set is not False and (time_text or "").strip():
        at = parse_time(time_text or "", f"{prefix}Time")
    return SlotChange(mentioned=True, slot=DateTimeSlot(day, at))


@dataclass
class PeopleChange:
    """How a request changes workers, members or auditors.

    ``users``/``groups`` are the new lists when ``<users>``/``<groups>`` were sent (None: not
    sent); ``add``/``remove`` are the older ``<addUsers>``/``<delUsers>`` patches of workers.
    """

    users: list[int] | None = None
    groups: list[int] | None = None
    add: list[int] = field(default_factory=list)
    remove: list[int] = field(default_factory=list)

    @property
    def relative(self) -> bool:
        """Only ``addUsers``/``delUsers``: a patch of the current list, nothing else is touched."""
        return self.users is None and self.groups is None and bool(self.add or self.remove)

    def apply(self, current: People, *, resets: bool) -> People:
        """The new people: what is not given is emptied when ``resets``, else kept."""
        if self.relative:
            patched = (set(current.users) | set(self.add)) - set(self.remove)
            return People(sorted(patched), list(current.groups))
        users = self.users if self.users is not None else ([] if resets else current.users)
        groups = self.groups if self.groups is not None else ([] if resets else current.groups)
        result = (set(users) | set(self.add)) - set(self.remove)
        return People(sorted(result), sorted(set(groups)))


def people_change(
    task: Element, tag: str, users: Mapping[int, str], groups: Mapping[int, str]
) -> PeopleChange | None:
    """``<{tag}><users><id/>…</users><groups><id/>…</groups></{tag}>``; None when absent."""
    container = task.find(tag)
    if container is None:
        return None
    users_el = container.find("users")
    groups_el = container.find("groups")
    change = PeopleChange(
        users=ids_in(users_el, f"{tag}/users/id") if users_el is not None else None,
        groups=ids_in(groups_el, f"{tag}/groups/id") if groups_el is not None else None,
        add=ids_in(container.find("addUsers"), f"{tag}/addUsers/id"),
        remove=ids_in(container.find("delUsers"), f"{tag}/delUsers/id"),
    )
    for user in [*(change.users or []), *change.add, *change.remove]:
        if user not in users:
            raise ApiError("0015", f"{tag}: no user {user}")
    for group in change.groups or []:
        if group not in groups:
            raise ApiError("5001", f"{tag}: no user group {group}")
    return change


def phones(contact: Element) -> list[Phone] | None:
    container = contact.find("phones")
    if container is None:
        return None
    result: list[Phone] = []
    for item in container.findall("phone"):
        number = (text(item, "number") or "").strip()
        if not number:
            raise ApiError("0015", "phone without number")
        type_text = text(item, "typeId")
        result.append(Phone(number, integer(type_text, "phone/typeId") if type_text else 1))
    return result


@dataclass(frozen=True)
class Paging:
    page: int
    size: int


def paging(request: Element) -> Paging:
    page = optional_int(request, "pageCurrent")
    size = optional_int(request, "pageSize")
    page = 1 if page is None else page
    size = 100 if size is None else size
    if size > 100:
        raise ApiError("0021", f"too many objects requested: pageSize {size} > 100")
    if page < 1 or size < 1:
        raise ApiError("0015", "pageCurrent and pageSize must be >= 1")
    return Paging(page, size)
