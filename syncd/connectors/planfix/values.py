"""What reading and writing tasks and contacts share: references, id lists, custom values, checks.

Read side: a reference with ``<id>0</id>`` (or none) is None, custom values become
``{field id: value}``. Write side: values that cannot be right raise a ``RecordError`` naming
the field before anything is sent, so one bad record fails alone and visibly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.connectors.planfix.xml import Element, Param, child_id, child_text
from syncd.errors import RecordError

SYSTEM = "planfix"
TRUE_WORDS = ("1", "true", "yes")

# ---------------------------------------------------------------- reading


def read_flag(el: Element, tag: str) -> bool:
    return child_text(el, tag).strip().lower() in TRUE_WORDS


def read_ref(el: Element, tag: str, label: str | None) -> dict[str, str] | None:
    """``<tag><id/><label/></tag>`` → ``{"id", label}``; None when unset (missing or id 0)."""
    ref_id = child_id(el, tag)
    if not ref_id:
        return None
    if label is None:
        return {"id": ref_id}
    return {"id": ref_id, label: child_text(el, f"{tag}/{label}").strip()}


def _sort_key(ref: Mapping[str, str]) -> tuple[int, str]:
    ref_id = ref["id"]
    return (int(ref_id), "") if ref_id.isdigit() else (1 << 62, ref_id)


def read_refs(el: Element, path: str) -> list[dict[str, str]]:
    """The ``{id, name}`` items at ``path`` (``workers/users/user``…), sorted by id, unset ones left out."""
    refs = [
        {"id": child_text(item, "id").strip(), "name": child_text(item, "name").strip()}
        for item in el.findall(path)
        if child_text(item, "id").strip() not in ("", "0")
    ]
    return sorted(refs, key=_sort_key)


def read_custom_data(el: Element) -> dict[str, str]:
    """{field id: value} of the non-empty custom values: replies list empty fields, or leave them out."""
    values: dict[str, str] = {}
    for item in el.findall("customData/customValue"):
        field_id = (child_text(item, "field/id") or child_text(item, "id")).strip()
        if not field_id:
            continue
        value = child_text(item, "value") if item.find("value") is not None else child_text(item, "text")
        if value:
            values[field_id] = value
    return values


# ---------------------------------------------------------------- writing


def bad(entity: str, field: str, problem: str) -> RecordError:
    return RecordError(f"{entity} field {field!r}: {problem}", system=SYSTEM)


def write_text(entity: str, field: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise bad(entity, field, f"expected text, got {type(value).__name__}")
    return str(value)


def write_flag(value: Any) -> str:
    return "1" if value is True or str(value).strip().lower() in TRUE_WORDS else "0"


def write_ref_id(entity: str, field: str, value: Any) -> str:
    """The id of a reference given as ``{"id": …}`` or a bare id; "0" for None (unset)."""
    if value is None:
        return "0"
    raw = value.get("id") if isinstance(value, Mapping) else value
    text = write_text(entity, f"{field}.id", raw).strip()
    if not text.isdigit():
        raise bad(entity, field, f"id {text!r} is not a Planfix id")
    return text


def write_id_list(entity: str, field: str, value: Any) -> list[Param]:
    """``[ref or id, …]`` → ``[("id", …), …]``: sorted, de-duplicated, unset ids left out."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise bad(entity, field, "expected a list")
    ids = sorted({write_ref_id(entity, field, item) for item in value} - {"0"}, key=int)
    return [("id", i) for i in ids]


def write_custom_data(entity: str, value: Any) -> Param:
    if not isinstance(value, Mapping):
        raise bad(entity, "customData", "expected {field id: value}")
    items: list[Param] = []
    for field_id, field_value in value.items():
        if not str(field_id).isdigit():
            raise bad(entity, "customData", f"field id {field_id!r} is not a number")
        items.append(
            (
                "customValue",
                [("id", str(field_id)), ("value", write_text(entity, f"customData.{field_id}", field_value))],
            )
        )
    return ("customData", items)


def merge_record(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` laid over it; custom values are merged by field id."""
    merged = dict(current)
    for key, value in changes.items():
        if key == "customData" and isinstance(value, Mapping):
            merged["customData"] = {**dict(current.get("customData") or {}), **value}
        else:
            merged[key] = value
    return merged
