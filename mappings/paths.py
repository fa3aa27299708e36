"""The catalogue of native record paths per entity, and reading/writing values at those paths.

A mapping file names native fields by path: ``title``, ``workers``, ``customData[101]`` (Planfix
custom field 101) or ``fields.PLANFIX_ID`` (PlanningPME custom field code). The catalogue is
taken from the native record shapes the connectors produce; it is what lets a typo in a mapping
file be rejected at start instead of silently syncing nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

from mappings.sides import SIDE_TITLES, Side

Entity = Literal["task", "contact", "event", "customer"]

Kind = Literal["text", "any", "bool", "date", "time", "datetime", "ref", "refs", "phones"]
"""What a path holds: ``text`` a string; ``any`` a scalar of unknown type; ``date``/``time``
Planfix ``dd-mm-yyyy``/``HH:MM``; ``datetime`` PlanningPME ISO ``YYYY-MM-DDTHH:MM:SS``; ``ref`` a
reference object (``{"id", "name"}`` or ``{"key", "label"}``) or None; ``refs`` a list of them;
``phones`` Planfix ``[{"number", "typeId"}]``."""

SIDE_OF_ENTITY: dict[Entity, Side] = {
    "task": "planfix",
    "contact": "planfix",
    "event": "planningpme",
    "customer": "planningpme",
}


@dataclass(frozen=True)
class Slot:
    """One native path, resolved: what it holds and how to read and write it."""

    path: str
    kind: Kind
    writable: bool = True
    key_attr: str = "id"
    label_attr: str = "name"
    numeric_keys: bool = False
    """PlanningPME customer keys are JSON numbers; other references use strings."""
    container: str | None = None
    """``customData`` or ``fields`` for custom fields, whose values live one level down."""
    leaf: str = ""

    @property
    def is_custom(self) -> bool:
        return self.container is not None

    def get(self, record: Mapping[str, Any]) -> Any:
        """The value at this path, or None when the record does not have it."""
        if self.container is None:
            return record.get(self.path)
        inner = record.get(self.container)
        return inner.get(self.leaf) if isinstance(inner, Mapping) else None

    def put(self, target: MutableMapping[str, Any], value: Any) -> None:
        """Set the value in a (partial) native record, merging custom-field containers."""
        if self.container is None:
            target[self.path] = value
            return
        inner = target.setdefault(self.container, {})
        inner[self.leaf] = "" if value is None else value

    def wrap_key(self, key: str) -> str | int:
        """A reference key in the type the remote API uses for it."""
        return int(key) if self.numeric_keys and key.isdigit() else key


def _t(path: str, kind: Kind = "text", **kw: Any) -> Slot:
    return Slot(path, kind, **kw)


def _ro(path: str) -> Slot:
    return Slot(path, "text", writable=False)


_PF_REF = {"key_attr": "id", "label_attr": "name"}
_PME_REF = {"key_attr": "key", "label_attr": "label"}

_CATALOGUE: dict[Entity, dict[str, Slot]] = {
    "task": {
        s.path: s
        for s in (
            _ro("id"),
            _ro("general"),
            _t("title"),
            _t("description"),
            _t("importance"),
            _t("status", "any"),
            _t("owner", "ref", **_PF_REF),
            _t("client", "ref", **_PF_REF),
            _t("project", "ref", key_attr="id", label_attr="title"),
            _t("startDate", "date"),
            _t("startTime", "time"),
            _t("endDate", "date"),
            _t("endTime", "time"),
            _t("workers", "refs", **_PF_REF),
        )
    },
    "contact": {
        s.path: s
        for s in (
            _ro("id"),
            _ro("userid"),
            _ro("general"),
            _ro("lastUpdateDate"),
            _t("name"),
            _t("lastName"),
            _t("email"),
            _t("phones", "phones"),
            _t("isCompany", "bool"),
            _t("companyName"),
        )
    },
    "event": {
        s.path: s
        for s in (
            _ro("key"),
            _t("label"),
            _t("start", "datetime"),
            _t("end", "datetime"),
            _t("allDay", "bool"),
            _t("resources", "refs", **_PME_REF),
            _t("customers", "refs", numeric_keys=True, **_PME_REF),
            _t("project", "ref", **_PME_REF),
            _t("category", "ref", **_PME_REF),
            _t("status", "any"),
            _t("remark"),
            _t("description"),
            _t("place"),
            _t("isAssignment", "bool"),
            _t("isUnavailability", "bool"),
        )
    },
    "customer": {
        s.path: s
        for s in (
            _ro("key"),
            *(
                _t(name)
                for name in (
                    "label",
                    "company",
                    "type",
                    "title",
                    "firstName",
                    "lastName",
                    "number",
                    "phone",
                    "mobile",
                    "email",
                    "address",
                    "zip",
                    "city",
                    "country",
                    "webSite",
                )
            ),
            _t("notValid", "bool"),
        )
    },
}

_PLANFIX_CUSTOM = re.compile(r"customData\[(?P<id>[^\]]*)\]")
_PME_CUSTOM = re.compile(r"fields\.(?P<code>.*)")
_PME_CODE = re.compile(r"[A-Z][A-Z0-9_]*")

ENTITY_TITLES: dict[Entity, str] = {
    "task": "Planfix task",
    "contact": "Planfix contact",
    "event": "PlanningPME event",
    "customer": "PlanningPME customer",
}


class PathError(ValueError):
    """A path that the entity does not have; the message says which paths it does have."""


def known_paths(entity: Entity) -> list[str]:
    """Every valid path of the entity, custom fields shown as patterns (for messages and docs)."""
    custom = "customData[<field id>]" if SIDE_OF_ENTITY[entity] == "planfix" else "fields.<CODE>"
    return [*_CATALOGUE[entity], custom]


def resolve(entity: Entity, path: str) -> Slot:
    """The slot for ``path`` on ``entity``; PathError with suggestions when there is none."""
    if not isinstance(path, str) or not path:
        raise PathError("a path must be a non-empty string")
    slot = _CATALOGUE[entity].get(path)
    if slot is not None:
        return slot
    side = SIDE_OF_ENTITY[entity]
    if side == "planfix" and (m := _PLANFIX_CUSTOM.fullmatch(path)):
        field_id = m.group("id")
        if not field_id.isdigit():
            raise PathError(
                f"{path!r}: a Planfix custom field is named by its numeric id, e.g. customData[101]"
            )
        return Slot(path, "text", container="customData", leaf=field_id)
    if side == "planningpme" and (m := _PME_CUSTOM.fullmatch(path)):
        code = m.group("code")
        if not _PME_CODE.fullmatch(code):
            raise PathError(
                f"{path!r}: a PlanningPME custom field code is upper-case letters, digits and _,"
                " e.g. fields.PLANFIX_ID"
            )
        return Slot(path, "text", container="fields", leaf=code)
    known = known_paths(entity)
    close = difflib.get_close_matches(path, list(_CATALOGUE[entity]), n=1)
    if not close and side == "planfix" and path.lower().startswith("custom"):
        close = ["customData[<field id>]"]
    if not close and side == "planningpme" and path.lower().startswith("field"):
        close = ["fields.<CODE>"]
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    other_side = "planningpme" if side == "planfix" else "planfix"
    for other_entity, s in SIDE_OF_ENTITY.items():
        if s == other_side and path in _CATALOGUE[other_entity]:
            hint += f" ({path!r} is a {ENTITY_TITLES[other_entity]} path: is it on the wrong side?)"
            break
    raise PathError(f"{path!r} is not a field of a {ENTITY_TITLES[entity]}{hint}; known: {', '.join(known)}")


def side_title(side: Side) -> str:
    return SIDE_TITLES[side]
