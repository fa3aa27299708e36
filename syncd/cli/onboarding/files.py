"""The files ``syncd init`` writes: a starter ``syncd.toml`` and copies of the shipped mappings with
their lookup tables, status map and marker fields filled from what the accounts hold.

The mappings are the shipped text with a few parts replaced, so every comment that explains a
default stays; what could not be paired is written as comments where a person will finish it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from syncd.cli.onboarding.pairing import CANCELED, Pairing, Ref, status_word
from syncd.errors import ConfigError
from syncd.toml_text import toml_value

TODO = "TODO(syncd init)"


@dataclass(frozen=True)
class Markers:
    """The marker field chosen on each side, or None with the candidates a person picks from."""

    planfix: str | None
    planfix_candidates: tuple[str, ...]
    planningpme: str | None
    planningpme_candidates: tuple[str, ...]


def render_config(sections: Mapping[str, Mapping[str, Any]], mappings: Sequence[str]) -> str:
    """``syncd.toml``: the connection sections as given (secrets only as ``*_file``), the state
    next to the config, and the two written mappings."""
    lines = [
        "# Written by `syncd init`. Secrets are read from the *_file paths below; init wrote none.",
        "# Check it with `syncd check --config syncd.toml`; every key is described in README, Configure.",
    ]
    merged: dict[str, Mapping[str, Any]] = {
        **sections,
        "state": {"path": "state.db"},
        "sync": {"mappings": list(mappings)},
    }
    for name, keys in merged.items():
        lines.append(f"\n[{name}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in keys.items())
    return "\n".join(lines) + "\n"


def shipped(name: str) -> str:
    return files("mappings").joinpath("defaults", f"{name}.toml").read_text(encoding="utf-8")


def _replace(text: str, pattern: str, new: str, where: str) -> str:
    found, count = re.subn(pattern, lambda _: new, text, count=1, flags=re.MULTILINE | re.DOTALL)
    if count != 1:
        raise ConfigError(f"syncd init: the shipped mapping {where} has changed shape; cannot fill it in")
    return found


def _header(name: str) -> str:
    return (
        f"# Written by `syncd init` from the two accounts' reference data (a copy of default:{name}).\n"
        f"# Lines marked {TODO} need a person; `syncd check` proves the ids exist.\n"
    )


def _key(ref: Ref) -> str:
    """A key as a comment may hold it: as it is, or quoted when it has a line break or a control."""
    return ref.key if ref.key.isprintable() else repr(ref.key)


def _left(what: str, refs: Sequence[Ref]) -> list[str]:
    if not refs:
        return []
    items = ", ".join(f"{_key(r)} {r.name!r}" + (f" <{r.email!r}>" if r.email else "") for r in refs)
    return [f"# {TODO}: {what} not paired: {items}"]


def _markers(text: str, markers: Markers, entity: str, where: str) -> str:
    if markers.planfix is not None:
        planfix = f'planfix_marker = "customData[{markers.planfix}]"'
    else:
        listed = ", ".join(markers.planfix_candidates) or "none found"
        planfix = (
            f"# {TODO}: no Planfix {entity} String custom field named like 'PlanningPME key'; create one,\n"
            f"# or pick one of the String fields a {entity} card shows ({listed}; the XML API lists custom\n"
            f"# fields only on a card: so an account without a {entity} shows none), put its id here:\n"
            'planfix_marker = "customData[0]"'
        )
    if markers.planningpme is not None:
        pme = f'planningpme_marker = "fields.{markers.planningpme}"'
    else:
        listed = ", ".join(markers.planningpme_candidates) or "none found"
        pme = (
            f"# {TODO}: no PlanningPME custom field like 'Planfix ID' on {entity}s; create a text field,\n"
            f"# or pick one of ({listed}), and put its code here:\n"
            'planningpme_marker = "fields.TODO"'
        )
    text = _replace(text, r'^planfix_marker = "[^"]*"', planfix, where)
    return _replace(text, r'^planningpme_marker = "[^"]*"', pme, where)


def _quoted(text: str) -> str:
    """A TOML basic string of remote text: JSON's escapes (``\\n``, ``\\u001b``…) are TOML's, so a
    name with a quote, a newline or a control character stays one value."""
    return json.dumps(text, ensure_ascii=False)


def tasks_mapping(people: Pairing, statuses: Pairing, markers: Markers) -> str:
    where = "default:tasks"
    text = _header("tasks") + shipped("tasks")
    text = _markers(text, markers, "task", where)
    canceled = next((p for p in statuses.pairs if status_word(p.planfix) == CANCELED), None)
    archive = (
        f"planfix_archive = {{ status = {_quoted(canceled.planfix.key)} }}"
        if canceled
        else f'# {TODO}: the id of the status that means "canceled":\nplanfix_archive = {{ status = "4" }}'
    )
    text = _replace(text, r"^planfix_archive = \{[^}]*\}", archive, where)
    status_map = ", ".join(f"{_quoted(p.planfix.key)} = {_quoted(p.planningpme.key)}" for p in statuses.pairs)
    status_lines = [
        *(
            f"# {_key(p.planfix)} {p.planfix.name!r} = {_key(p.planningpme)} {p.planningpme.name!r}"
            f" (by {p.how})"
            for p in statuses.pairs
        ),
        *_left("Planfix statuses", statuses.planfix_left),
        *_left("PlanningPME categories", statuses.planningpme_left),
        f"params = {{ map = {{ {status_map} }} }}",
    ]
    text = _replace(
        text,
        r'^planfix = "status".*?^params = \{ map = \{[^}]*\} \}',
        'planfix = "status"\nplanningpme = "category"\ntransform = "value_map"\n' + "\n".join(status_lines),
        where,
    )
    table = [
        "[fields.params.table]                # Planfix user id -> PlanningPME resource key",
        *(f"{_quoted(p.planfix.key)} = {_quoted(p.planningpme.key)}  # by {p.how}" for p in people.pairs),
        *_left("Planfix users", people.planfix_left),
        *_left("PlanningPME resources", people.planningpme_left),
        "",
        "[fields.params.labels]               # labels sent with the resources",
        *(f"{_quoted(p.planningpme.key)} = {_quoted(p.planningpme.name)}" for p in people.pairs),
        "",
    ]
    return _replace(text, r"^\[fields\.params\.table\].*?(?=^\[\[fields\]\])", "\n".join(table) + "\n", where)


def contacts_mapping(markers: Markers) -> str:
    text = _header("contacts") + shipped("contacts")
    return _markers(text, markers, "contact", "default:contacts")
