"""The mapping file's shape: pydantic models of its TOML, one per table.

The models check each key on its own (types, names, allowed values); what needs several keys at
once (paths that exist, markers, filters, writes two fields share) is ``validate.check``, which the
loader (``loading``) runs after the models and reports together with them. The models do not call
it themselves, so the spec imports nothing that imports the spec.

A mapping file describes one entity pair (Planfix tasks ↔ PlanningPME events, or Planfix contacts
↔ PlanningPME customers); see the README section "Mappings" and ``defaults/*.toml``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mappings.sides import ConflictPolicy, DeletePolicy, Direction, Side

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_MAPPING_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")

ArchiveValue = str | bool | int


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _paths(value: Any) -> Any:
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    raise ValueError("must be a path or a list of paths, e.g. 'title' or ['startDate', 'startTime']")


class FieldSpec(_Model):
    """One canonical field: where it lives on each side, which way it flows, how it converts."""

    name: str
    planfix: str | list[str]
    planningpme: str | list[str]
    direction: Direction = "both"
    transform: str = "text"
    params: dict[str, Any] = Field(default_factory=dict)
    conflict: ConflictPolicy | None = None
    """None: the file's ``conflict``."""

    _check_paths = field_validator("planfix", "planningpme", mode="before")(_paths)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a field name: use lower-case letters, digits and _")
        return value

    def paths(self, side: Side) -> tuple[str, ...]:
        raw = self.planfix if side == "planfix" else self.planningpme
        return (raw,) if isinstance(raw, str) else tuple(raw)


def _strings(value: Any) -> Any:
    if isinstance(value, list):
        return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value]
    return value


class FilterSpec(_Model):
    """One condition a record must meet to take part: ``in``, ``not_in`` or a date range."""

    path: str
    in_: list[str] | None = Field(default=None, alias="in")
    not_in: list[str] | None = None
    since: str | None = None
    """Inclusive lower bound, ISO date or date-time (compared in the record's own local time)."""
    until: str | None = None
    """Exclusive upper bound."""

    _values = field_validator("in_", "not_in", mode="before")(_strings)


class Filters(_Model):
    planfix: list[FilterSpec] = Field(default_factory=list)
    planningpme: list[FilterSpec] = Field(default_factory=list)


class MappingSpec(_Model):
    """A whole mapping file."""

    name: str
    description: str = ""
    planfix_entity: Literal["task", "contact"]
    planningpme_entity: Literal["event", "customer"]
    conflict: ConflictPolicy = "newest"
    newest_fallback: Side = "planfix"
    """Under ``newest``, the side that wins when the two modification times cannot be compared
    (PlanningPME records carry none)."""
    match_keys: list[str] = Field(default_factory=list)
    planfix_marker: str
    planningpme_marker: str
    on_planfix_delete: DeletePolicy = "propagate"
    """What happens to the PlanningPME record when its Planfix record is deleted (or archived)."""
    on_planningpme_delete: DeletePolicy = "propagate"
    planfix_archive: dict[str, ArchiveValue] = Field(default_factory=dict)
    """Values that archive a Planfix record (e.g. ``{status = "4"}``); a record that holds them
    counts as deleted."""
    planningpme_archive: dict[str, ArchiveValue] = Field(default_factory=dict)
    filters: Filters = Field(default_factory=Filters)
    fields: list[FieldSpec] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _MAPPING_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a mapping name: use lower-case letters, digits, - and _")
        return value

    def field(self, name: str) -> FieldSpec:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)
