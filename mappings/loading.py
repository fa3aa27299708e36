"""Loading a mapping file: any mistake in it becomes one ``MappingFileError`` naming the file, the
place (``fields[2] ("status").params.map``) and what is wrong — never a traceback.

Two passes, reported the same way: the models (``spec``) check each key, then ``validate.check``
checks what spans several keys. A file with mistakes of the first kind is not checked further
(the cross-key rules need a well-formed spec to read).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mappings.errors import Loc, MappingFileError
from mappings.spec import FieldSpec, Filters, FilterSpec, MappingSpec
from mappings.validate import check

DEFAULT_PREFIX = "default:"


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
        spec = MappingSpec.model_validate(raw)
    except ValidationError as exc:
        raise MappingFileError(source, _problems(exc, raw)) from None
    problems = check(spec)
    if problems:
        raise MappingFileError(source, [(_loc_text(p.loc, raw), p.message) for p in problems])
    return spec


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
