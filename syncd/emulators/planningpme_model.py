"""Validation of the bodies clients send for planned events ("do") and customers.

The emulator is strict where the real API's model binder would refuse a value, and every message
names the property, because a client bug must surface as a clear 400 in tests rather than as data
quietly stored wrong. Updates are partial: only the properties present in a body change, and the
custom ``fields`` object is merged code by code (``null`` clears one code).

Like the real system, the emulator also fills in and normalises what it is given, so that a
client learns to expect its own writes back changed (``WriteDefaults``; each is an assumption
about PlanningPME, switched off one by one for a test that needs the raw behaviour):

- an event created without a category gets the account's default category ("C1" To do), as the
  planning form preselects one;
- event and customer labels are stored trimmed of surrounding spaces, as the web forms trim them;
- customer first and last names likewise.

Nothing else is changed: values are kept as given, case included (the API echoes them as is).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from syncd.emulators.planningpme_reference import enum_name

LOCAL_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"
LABEL_MAX: Final = 255

_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

CUSTOMER_TYPES: Final = ("Company", "Individual")
TITLES: Final = ("", "Miss", "Mr", "Ms")


@dataclass(frozen=True)
class WriteDefaults:
    """What the emulator fills in or normalises on a write (see the module docstring)."""

    event_category: str | None = "C1"
    """Category key given to an event created without one; None leaves it empty."""
    trim_labels: bool = True
    """Store event and customer labels without surrounding spaces."""
    trim_names: bool = True
    """Store customer first and last names without surrounding spaces."""


class References(Protocol):
    """What validation needs to resolve keys into ``{"key", "label"}`` pairs."""

    def lookup_label(self, kind: str, key: str) -> str | None: ...
    def customer_label(self, key: int) -> str | None: ...


def parse_when(value: object, name: str, zone: ZoneInfo) -> datetime:
    """A naive local date-time in the account's zone from ISO 8601 text (with or without offset)."""
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected a date-time string such as '2026-11-23T09:00:00'")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{name}: {value!r} is not an ISO 8601 date-time (e.g. '2026-11-23T09:00:00')"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def write_when(moment: datetime) -> str:
    """Dates as the API writes them: local time of the account, no offset, whole seconds."""
    return moment.strftime(LOCAL_FORMAT)


def as_int_key(value: object, name: str) -> int:
    """Event and customer keys are integers; digit strings are accepted like the real binder does."""
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected an integer key")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"{name}: expected an integer key, got {value!r}")


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name}: expected text")
    return value


def _label(value: object, name: str) -> str:
    text = _text(value, name)
    if len(text) > LABEL_MAX:
        raise ValueError(f"{name}: at most {LABEL_MAX} characters (got {len(text)})")
    return text


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected true or false")
    return value


def _ref_key(value: object, name: str) -> str:
    key = value.get("key") if isinstance(value, Mapping) else None
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise ValueError(f'{name}: expected an object with a \'key\', e.g. {{"key": "C1"}}')
    return str(key)


def _lookup_ref(kind: str, value: object, name: str, refs: References) -> dict[str, Any] | None:
    if value is None:
        return None
    key = _ref_key(value, name)
    label = refs.lookup_label(kind, key)
    if label is None:
        raise ValueError(f"{name}.key: unknown {kind} {key!r}")
    return {"key": key, "label": label}


def _lookup_list(kind: str, value: object, name: str, refs: References) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{name}: expected a list of objects with a 'key'")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        ref = _lookup_ref(kind, item, f"{name}[{i}]", refs)
        if ref is not None and ref not in out:
            out.append(ref)
    return out


def _customer_list(value: object, name: str, refs: References) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{name}: expected a list of objects with a 'key'")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        where = f"{name}[{i}].key"
        key = as_int_key(item.get("key") if isinstance(item, Mapping) else None, where)
        label = refs.customer_label(key)
        if label is None:
            raise ValueError(f"{where}: unknown customer {key}")
        if all(c["key"] != key for c in out):
            out.append({"key": key, "label": label})
    return out


def merge_fields(current: Mapping[str, Any], value: object) -> dict[str, Any]:
    """Custom fields are merged code by code; ``null`` removes a code; other codes stay."""
    if not isinstance(value, Mapping):
        raise ValueError('fields: expected an object such as {"PLANFIX_ID": "123"}')
    out = dict(current)
    for code, item in value.items():
        if not isinstance(code, str) or not _CODE.match(code):
            raise ValueError(f"fields.{code}: custom field codes are upper-case letters, digits and '_'")
        if item is None:
            out.pop(code, None)
        elif isinstance(item, str | int | float | bool):
            out[code] = item
        else:
            raise ValueError(f"fields.{code}: expected text, a number, true/false or null")
    return out


Rule = Callable[[object, str, References, ZoneInfo], Any]


def _plain(check: Callable[[object, str], Any]) -> Rule:
    return lambda value, name, refs, zone: check(value, name)


def _when(value: object, name: str, refs: References, zone: ZoneInfo) -> str:
    return write_when(parse_when(value, name, zone))


def _status(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{name}: expected text or null")


EVENT_RULES: Final[Mapping[str, Rule]] = {
    "label": _plain(_label),
    "start": _when,
    "end": _when,
    "allDay": _plain(_flag),
    "resources": lambda v, n, r, z: _lookup_list("resource", v, n, r),
    "customers": lambda v, n, r, z: _customer_list(v, n, r),
    "project": lambda v, n, r, z: _lookup_ref("project", v, n, r),
    "category": lambda v, n, r, z: _lookup_ref("category", v, n, r),
    "task": lambda v, n, r, z: _lookup_ref("task", v, n, r),
    "status": _plain(_status),
    "remark": _plain(_text),
    "description": _plain(_text),
    "place": _plain(_text),
    "isAssignment": _plain(_flag),
    "isUnavailability": _plain(_flag),
}


def _choice(options: tuple[str, ...], enum: str) -> Callable[[object, str], str]:
    """One of ``options``, by name or by its number in ``enum`` (a .NET binder takes both)."""

    def check(value: object, name: str) -> str:
        value = enum_name(enum, value)
        text = "" if value is None and "" in options else value
        if text not in options:
            raise ValueError(f"{name}: expected one of {', '.join(repr(o) for o in options)}")
        return str(text)

    return check


def _email(value: object, name: str) -> str:
    text = _text(value, name).strip()
    if text and not _EMAIL.match(text):
        raise ValueError(f"{name}: {text!r} is not an e-mail address")
    return text


CUSTOMER_RULES: Final[Mapping[str, Rule]] = {
    "label": _plain(_label),
    "company": _plain(_text),
    "type": _plain(_choice(CUSTOMER_TYPES, "CustomerType")),
    "title": _plain(_choice(TITLES, "Title")),
    "firstName": _plain(_text),
    "lastName": _plain(_text),
    "number": _plain(_text),
    "address": _plain(_text),
    "zip": _plain(_text),
    "city": _plain(_text),
    "country": _plain(_text),
    "phone": _plain(_text),
    "mobile": _plain(_text),
    "email": _plain(_email),
    "webSite": _plain(_text),
    "notValid": _plain(_flag),
}


def blank_event(key: int) -> dict[str, Any]:
    return {
        "key": key,
        "label": "",
        "start": "",
        "end": "",
        "allDay": False,
        "resources": [],
        "customers": [],
        "project": None,
        "category": None,
        "task": None,
        "status": None,
        "remark": "",
        "description": "",
        "place": "",
        "fields": {},
        "isAssignment": False,
        "isUnavailability": False,
    }


def blank_customer(key: int) -> dict[str, Any]:
    record: dict[str, Any] = {"key": key}
    record.update(dict.fromkeys(CUSTOMER_RULES, ""))
    record.update({"type": "Company", "notValid": False, "fields": {}})
    return record


def _apply(
    record: Mapping[str, Any],
    body: object,
    rules: Mapping[str, Rule],
    refs: References,
    zone: ZoneInfo,
    *,
    what: str,
) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise ValueError(f"the body must be a JSON object (a {what})")
    unknown = sorted(set(body) - set(rules) - {"key", "fields"})
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown property of a {what}")
    if "key" in body and body["key"] is not None and as_int_key(body["key"], "key") != record["key"]:
        raise ValueError("key: does not match the key in the URL")
    out = copy.deepcopy(dict(record))
    for name, value in body.items():
        if name == "key":
            continue
        if name == "fields":
            out["fields"] = merge_fields(out["fields"], value)
        else:
            out[name] = rules[name](value, name, refs, zone)
    return out


def apply_event(
    record: Mapping[str, Any],
    body: object,
    refs: References,
    zone: ZoneInfo,
    *,
    creating: bool,
    defaults: WriteDefaults = WriteDefaults(),
) -> dict[str, Any]:
    """The event after applying ``body`` (a partial update unless ``creating``)."""
    if creating and isinstance(body, Mapping):
        for required in ("label", "start", "end"):
            if body.get(required) is None:
                raise ValueError(f"{required}: required when creating a planned event")
    out = _apply(record, body, EVENT_RULES, refs, zone, what="planned event")
    if defaults.trim_labels:
        out["label"] = out["label"].strip()
    if creating and out["category"] is None and defaults.event_category is not None:
        out["category"] = _lookup_ref("category", {"key": defaults.event_category}, "category", refs)
    if out["end"] < out["start"]:
        raise ValueError(f"end: {out['end']} is before start {out['start']}")
    return out


def apply_customer(
    record: Mapping[str, Any],
    body: object,
    refs: References,
    zone: ZoneInfo,
    *,
    creating: bool,
    defaults: WriteDefaults = WriteDefaults(),
) -> dict[str, Any]:
    """The customer after applying ``body``. On create a missing label is derived from the names,
    as the PlanningPME form does, so a client that maps only names still gets a usable label."""
    out = _apply(record, body, CUSTOMER_RULES, refs, zone, what="customer")
    if defaults.trim_names:
        out["firstName"], out["lastName"] = out["firstName"].strip(), out["lastName"].strip()
    if defaults.trim_labels:
        out["label"] = out["label"].strip()
    if creating and not out["label"].strip():
        if out["type"] == "Company" and out["company"].strip():
            out["label"] = out["company"].strip()
        else:
            out["label"] = f"{out['firstName']} {out['lastName']}".strip() or out["company"].strip()
        if not out["label"]:
            raise ValueError("label: required when creating a customer (or give company or names)")
    return out
