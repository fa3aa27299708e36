"""The Planfix mailing-integration protocol: from raw request bytes to a typed, fully checked action.

Everything here is pure, so every rule about what Planfix may send is tested without a server, and
the endpoint writes nothing until the whole request has passed. A refusal is a ``PushRequestError``
whose message names the field as a path into the request (``data.contacts[3].email``) and never
repeats what the sender wrote: values are personal data or, for ``authToken``, a secret, and an
unknown action could be anything.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, TypeVar

from syncd.errors import PushRequestError

ACTIONS = ("createList", "deleteList", "importContacts", "updateContact")
MAX_TEXT_CHARS = 500
MAX_EMAIL_CHARS = 254
MAX_CONTACT_ID = 2**63 - 1

ContactChange = Literal["add", "update", "delete"]
_T = TypeVar("_T")
_CHANGES: dict[str, ContactChange] = {"add": "add", "update": "update", "delete": "delete"}

_LOCAL_PART = r"[^\s@\"(),:;<>\[\]\\]{1,64}"
_DOMAIN_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
_EMAIL = re.compile(rf"{_LOCAL_PART}@(?:{_DOMAIN_LABEL}\.)+{_DOMAIN_LABEL}")


@dataclass(frozen=True, slots=True)
class PushContact:
    """A Planfix contact as the mailing integration describes it; ``id`` is the contact id as text."""

    id: str
    email: str
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class CreateList:
    list_name: str


@dataclass(frozen=True, slots=True)
class DeleteList:
    list_id: str


@dataclass(frozen=True, slots=True)
class ImportContacts:
    list_id: str
    contacts: tuple[PushContact, ...]


@dataclass(frozen=True, slots=True)
class UpdateContact:
    list_id: str
    change: ContactChange
    contact: PushContact
    old_email: str | None


PushAction = CreateList | DeleteList | ImportContacts | UpdateContact


# --- the envelope --------------------------------------------------------------------------------


def check_content_type(header: str | None) -> None:
    """Only JSON is accepted: a form post or plain text means the integration is set up wrong."""
    if not header:
        raise PushRequestError(415, "Content-Type: missing; send the request as application/json")
    media_type, *params = (part.strip() for part in header.split(";"))
    if media_type.lower() != "application/json":
        raise PushRequestError(415, f"Content-Type: expected application/json, got {media_type[:60]!r}")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise PushRequestError(415, "Content-Type: charset must be utf-8")


def parse_envelope(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object (not yet authenticated, so nothing else is looked at)."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise PushRequestError(
            400, f"request body: not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    if not text.strip():
        raise PushRequestError(400, "request body: empty; expected a JSON object")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise PushRequestError(
            400, f"request body: malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise PushRequestError(400, "request body: JSON nested too deeply") from None
    except ValueError as exc:  # our hooks, or a number too long for int()
        raise PushRequestError(400, f"request body: malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise PushRequestError(400, f"request body: expected a JSON object, got {_kind(value)}")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key would let two readers of the same request disagree about what it says.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            named = repr(key) if key in _FIELD_NAMES else "a key"
            raise ValueError(f"{named} appears twice in one object")
        result[key] = value
    return result


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def check_token(envelope: dict[str, Any], expected: bytes) -> None:
    """Constant-time check of ``authToken``; runs before anything that could reveal stored data."""
    given = envelope.get("authToken")
    if given is None:
        raise PushRequestError(401, "authToken: missing; set the API key in the Planfix integration settings")
    if not isinstance(given, str):
        raise PushRequestError(401, f"authToken: expected a string, got {_kind(given)}")
    if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected):
        raise PushRequestError(401, "authToken: wrong token; it must equal push.token in syncd.toml")


def parse_action(envelope: dict[str, Any], *, max_contacts: int) -> PushAction:
    """The checked action of an authenticated request; PushRequestError names the first bad field."""
    action = _field(envelope, "action", "", str)
    data = _field(envelope, "data", "", dict)
    if action == "createList":
        return CreateList(_text(data, "listName", "data.", required=True))
    if action == "deleteList":
        return DeleteList(_list_id(data))
    if action == "importContacts":
        return ImportContacts(_list_id(data), _contacts(data, max_contacts))
    if action == "updateContact":
        return _update_contact(data)
    raise PushRequestError(400, f"action: unknown action; expected one of: {', '.join(ACTIONS)}")


# --- data ----------------------------------------------------------------------------------------


def _update_contact(data: dict[str, Any]) -> UpdateContact:
    list_id = _list_id(data)
    name = _field(data, "action", "data.", str)
    change = _CHANGES.get(name)
    if change is None:
        raise PushRequestError(
            400, f"data.action: unknown contact action; expected one of: {', '.join(_CHANGES)}"
        )
    contact = _contact(
        _field(data, "contact", "data.", dict), "data.contact", email_required=change != "delete"
    )
    old_email: str | None = None
    if change == "update":
        old = _text(data, "oldEmail", "data.", required=False)
        old_email = _email(old, "data.oldEmail") if old else None
    return UpdateContact(list_id, change, contact, old_email)


def _contacts(data: dict[str, Any], max_contacts: int) -> tuple[PushContact, ...]:
    items = _field(data, "contacts", "data.", list)
    if len(items) > max_contacts:
        raise PushRequestError(
            413,
            f"data.contacts: {len(items)} contacts in one request, at most {max_contacts} allowed "
            "(push.max_contacts)",
        )
    by_id: dict[str, tuple[int, PushContact]] = {}
    for index, item in enumerate(items):
        where = f"data.contacts[{index}]"
        if not isinstance(item, dict):
            raise PushRequestError(400, f"{where}: expected an object, got {_kind(item)}")
        contact = _contact(item, where, email_required=True)
        earlier = by_id.get(contact.id)
        if earlier is not None and earlier[1] != contact:
            raise PushRequestError(
                400,
                f"{where}.id: contact {contact.id} appears twice with different details "
                f"(also data.contacts[{earlier[0]}])",
            )
        by_id.setdefault(contact.id, (index, contact))
    return tuple(contact for _, contact in by_id.values())


def _contact(item: dict[str, Any], where: str, *, email_required: bool) -> PushContact:
    prefix = f"{where}."
    email = _text(item, "email", prefix, required=email_required)
    return PushContact(
        id=_contact_id(item.get("id"), f"{where}.id"),
        email=_email(email, f"{where}.email") if email else "",
        first_name=_text(item, "firstName", prefix, required=False),
        last_name=_text(item, "lastName", prefix, required=False),
    )


def _contact_id(value: Any, where: str) -> str:
    """A Planfix contact id: a positive integer, also accepted as decimal text (``"123"``)."""
    if value is None:
        raise PushRequestError(400, f"{where}: required")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PushRequestError(400, f"{where}: expected a positive integer, got {_kind(value)}")
    text = value.strip() if isinstance(value, str) else str(value)
    if not (text.isascii() and text.isdigit()) or int(text) <= 0:
        raise PushRequestError(400, f"{where}: not a positive integer")
    number = int(text)
    if number > MAX_CONTACT_ID:
        raise PushRequestError(400, f"{where}: too large to be a Planfix contact id")
    return str(number)


def _email(value: str, where: str) -> str:
    """Rejects what cannot be an address (so typos are reported to Planfix, not synced onward)."""
    local, _, _domain = value.rpartition("@")
    if (
        len(value) > MAX_EMAIL_CHARS
        or not _EMAIL.fullmatch(value)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
    ):
        raise PushRequestError(400, f"{where}: not an e-mail address")
    return value


def _list_id(data: dict[str, Any]) -> str:
    return _text(data, "listId", "data.", required=True)


def _text(obj: dict[str, Any], key: str, prefix: str, *, required: bool) -> str:
    """A string field, stripped; absent or null counts as empty unless it is ``required``."""
    where = f"{prefix}{key}"
    value = obj.get(key)
    if value is None:
        if required:
            raise PushRequestError(400, f"{where}: required")
        return ""
    if not isinstance(value, str):
        raise PushRequestError(400, f"{where}: expected a string, got {_kind(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PushRequestError(400, f"{where}: not valid Unicode text") from None
    value = value.strip()
    if required and not value:
        raise PushRequestError(400, f"{where}: must not be empty")
    if len(value) > MAX_TEXT_CHARS:
        raise PushRequestError(400, f"{where}: longer than {MAX_TEXT_CHARS} characters")
    return value


def _field(obj: dict[str, Any], key: str, prefix: str, kind: type[_T]) -> _T:
    value = obj.get(key)
    if value is None:
        raise PushRequestError(400, f"{prefix}{key}: required")
    if not isinstance(value, kind):
        raise PushRequestError(400, f"{prefix}{key}: expected {_KIND_NAMES[kind]}, got {_kind(value)}")
    return value


# The only keys a message may repeat: anything else the sender wrote could be personal or secret.
_FIELD_NAMES = frozenset(
    [
        "action",
        "authToken",
        "data",
        "listName",
        "listId",
        "contacts",
        "contact",
        "oldEmail",
        "id",
        "email",
        "firstName",
        "lastName",
    ]
)

_KIND_NAMES: dict[type, str] = {str: "a string", dict: "an object", list: "an array"}


def _kind(value: Any) -> str:
    """The JSON type of ``value``, for messages that must not repeat the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
