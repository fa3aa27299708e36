"""The mapping file: pydantic models of its TOML, and the loader that turns any mistake in it into
one ``MappingFileError`` naming the file, the place (``fields[2] ("status").params.map``) and
what is wrong — never a traceback.

A mapping file describes one entity pair (Planfix tasks ↔ PlanningPME events, or Planfix contacts
↔ PlanningPME customers); see the README section "Mappings" and ``defaults/*.toml``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mappings.errors import Loc, MappingFileError, Problem
from mappings.sides import ConflictPolicy, DeletePolicy, Direction, Side

__all__ = [
    "ConflictPolicy",
    "DeletePolicy",
    "Direction",
    "FieldSpec",
    "FilterSpec",
    "Filters",
    "MappingFileError",
    "MappingSpec",
    "Side",
    "load_mapping",
    "parse_mapping",
    "shipped_mappings",
]

DEFAULT_PREFIX = "default:"
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


class _SpecProblemsError(ValueError):
    """Carries the cross-key problems out of pydantic so the loader can place each one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{_loc_text(p.loc, None)}: {p.message}" for p in problems))


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

    @model_validator(mode="after")
    def _consistent(self) -> MappingSpec:
        from mappings.validate import check

        problems = check(self)
        if problems:
            raise _SpecProblemsError(problems)
        return self

    def field(self, name: str) -> FieldSpec:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)


# ----------------------------------------------------------------------------------- loading


def shipped_mappings() -> list[str]:
    """Names of the mappings shipped in ``mappings/defaults`` (usable as ``default:<name>``)."""
    folder = files("mappings").joinpath("defaults")
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def load_mapping(ref: str, base_dir: Path) -> MappingSpec:
    """The mapping named by ``ref``: ``default:tasks``, ``default:contacts`` or a file path
    (relative paths are relative to ``base_dir``, the config file's folder)."""
    if ref.startswith(DEFAULT_PREFIX):
        name = ref.removeprefix(DEFAULT_PREFIX)
        shipped = shipped_mappings()
        if name not in shipped:
            choices = ", ".join(DEFAULT_PREFIX + n for n in shipped)
            raise MappingFileError(ref, [("", f"no shipped mapping is called {name!r}; shipped: {choices}")])
        text = files("mappings").joinpath("defaults", f"{name}.toml").read_text(encoding="utf-8")
        return parse_mapping(text, ref)
    path = Path(ref).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingFileError(str(path), [("", "no such file")]) from None
    except UnicodeDecodeError:
        raise MappingFileError(str(path), [("", "not a UTF-8 text file")]) from None
    except OSError as exc:
        raise MappingFileError(str(path), [("", f"cannot be read: {exc.strerror or exc}")]) from None
    return parse_mapping(text, str(path))


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def parse_mapping(text: str, source: str = "<mapping>") -> MappingSpec:
    """A mapping from TOML text; ``source`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _TOML_POSITION.search(message)
        if where:
            line, column = where.groups()
            detail = f"invalid TOML at line {line}, column {column}: {message[: where.start()]}"
        else:
            detail = f"invalid TOML: {message}"
        raise MappingFileError(source, [("", detail)]) from None
    try:
        return MappingSpec.model_validate(raw)
    except ValidationError as exc:
        raise MappingFileError(source, _problems(exc, raw)) from None


# ------------------------------------------------------------------------------ error messages

_MODELS_BY_PARENT: dict[tuple[str, ...], type[BaseModel]] = {
    (): MappingSpec,
    ("fields",): FieldSpec,
    ("filters",): Filters,
    ("filters", "planfix"): FilterSpec,
    ("filters", "planningpme"): FilterSpec,
}


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _problems(exc: ValidationError, raw: dict[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(err["loc"])
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, _SpecProblemsError):
            found.extend((_loc_text(p.loc, raw), p.message) for p in error.problems)
            continue
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            loc = loc[:-1]
            model = _MODELS_BY_PARENT.get(tuple(p for p in loc if isinstance(p, str)))
            known = _keys_of(model) if model else []
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            message = f"unknown key {key!r}{hint}" + (f"; known keys: {', '.join(known)}" if known else "")
        elif kind == "missing":
            message = f"the required key {loc[-1]!r} is missing"
            loc = loc[:-1]
        elif kind == "literal_error":
            expected = (err.get("ctx") or {}).get("expected", "")
            message = f"{err['input']!r} is not allowed; use one of {expected}"
        elif error is not None:
            message = str(error)
        else:
            message = f"{err['msg']} (got {err['input']!r})"
        found.append((_loc_text(loc, raw), message))
    return found


def _loc_text(loc: Loc, raw: dict[str, Any] | None) -> str:
    """``("fields", 2, "params", "map")`` → ``fields[2] ("status").params.map``."""
    text = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
            if index == 1 and loc[0] == "fields":
                name = _field_name(raw, part)
                if name:
                    text += f" ({name!r})"
        else:
            text += f".{part}" if text else part
    return text


def _field_name(raw: dict[str, Any] | None, index: int) -> str | None:
    fields = raw.get("fields") if isinstance(raw, dict) else None
    if isinstance(fields, list) and 0 <= index < len(fields) and isinstance(fields[index], dict):
        name = fields[index].get("name")
        return name if isinstance(name, str) else None
    return None
