"""The shipped mappings load, validate, and say what the README promises."""

from __future__ import annotations

from pathlib import Path

from mappings.loading import load_mapping, shipped_mappings


def test_shipped_mappings_are_packaged() -> None:
    assert shipped_mappings() == ["contacts", "tasks"]


def test_default_tasks(tmp_path: Path) -> None:
    spec = load_mapping("default:tasks", tmp_path)
    assert (spec.name, spec.planfix_entity, spec.planningpme_entity) == ("tasks", "task", "event")
    pairs = {
        f.name: (f.paths("planfix"), f.paths("planningpme"), f.transform, f.direction) for f in spec.fields
    }
    assert pairs == {
        "title": (("title",), ("label",), "text", "both"),
        "description": (("description",), ("description",), "html_text", "both"),
        "start": (("startDate", "startTime"), ("start", "allDay"), "datetime", "both"),
        "end": (("endDate", "endTime"), ("end", "allDay"), "datetime", "both"),
        "status": (("status",), ("category",), "value_map", "both"),
        "workers": (("workers",), ("resources",), "lookup", "both"),
        "client": (("client",), ("customers",), "link", "both"),
    }
    assert spec.field("status").params["map"] == {str(i): f"C{i}" for i in range(1, 6)}
    assert spec.field("workers").params["table"] == {str(i): f"R{i}" for i in range(1, 6)}
    assert spec.field("workers").params["labels"]["R1"] == "Иван Петров"
    assert (spec.planfix_marker, spec.planningpme_marker) == ("customData[101]", "fields.PLANFIX_ID")
    assert spec.match_keys == ["title", "start"]
    assert (spec.conflict, spec.newest_fallback) == ("newest", "planfix")
    assert (spec.on_planningpme_delete, spec.planfix_archive) == ("archive", {"status": "4"})
    assert spec.on_planfix_delete == "propagate"


def test_default_contacts(tmp_path: Path) -> None:
    spec = load_mapping("default:contacts", tmp_path)
    assert (spec.name, spec.planfix_entity, spec.planningpme_entity) == ("contacts", "contact", "customer")
    pairs = {f.name: (f.paths("planfix"), f.paths("planningpme"), f.transform) for f in spec.fields}
    assert pairs == {
        "first_name": (("name",), ("firstName",), "text"),
        "last_name": (("lastName",), ("lastName",), "text"),
        "email": (("email",), ("email",), "email"),
        "phone": (("phones",), ("phone",), "phone"),
        "company": (("isCompany", "companyName"), ("type", "company"), "company"),
    }
    assert (spec.planfix_marker, spec.planningpme_marker) == ("customData[201]", "fields.PLANFIX_ID")
    assert spec.match_keys == ["email"]
    assert (spec.on_planfix_delete, spec.on_planningpme_delete) == ("propagate", "propagate")
