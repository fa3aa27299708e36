"""``syncd init``: a starter configuration and mappings from what the two accounts hold.

The connection settings come from command-line options or a partial config (``--config``); secrets
are only ever named as ``*_file`` paths, which init reads to connect and writes back as paths, never
as values. It reads both accounts' reference data (``read``), pairs it
(``pairing``), writes ``syncd.toml``, ``tasks.toml`` and ``contacts.toml`` into ``--out``
(``files``) and says what a person must still finish. Existing files are never replaced:
a second init must not destroy a configuration someone has since edited.
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from syncd.cli.onboarding.files import Markers, contacts_mapping, render_config, tasks_mapping
from syncd.cli.onboarding.options import FILE_KEYS, OPTIONS, option_dest
from syncd.cli.onboarding.pairing import Pairing, Ref, normal_name, pair_people, pair_statuses
from syncd.cli.onboarding.read import (
    CustomField,
    PlanfixReference,
    PlanningPmeReference,
    read_planfix,
    read_planningpme,
)
from syncd.errors import ConfigError
from syncd.settings import Settings, parse_settings
from syncd.terminal import printable

CONFIG_NAME = "syncd.toml"
MAPPING_NAMES = ("tasks.toml", "contacts.toml")
SECRET_KEYS = {
    "planfix": ("api_key", "token", "password"),
    "planningpme": ("app_key", "password", "assertion"),
}
PLANFIX_MARKER_NAME = "planningpme key"
PLANNINGPME_MARKER_WORD = "planfix"


def _partial(path: Path) -> dict[str, dict[str, Any]]:
    """The connection sections of a partial config; relative ``*_file`` paths are made absolute
    (relative to that file), so the written config finds them from wherever it is."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(SECRET_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: syncd init reads only [planfix] and [planningpme]; remove {', '.join(unknown)}"
        )
    sections: dict[str, dict[str, Any]] = {}
    for name in SECRET_KEYS:
        section = raw.get(name, {})
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: {name} must be a table ([{name}])")
        sections[name] = {
            k: str((path.parent / v).resolve()) if k in FILE_KEYS and isinstance(v, str) else v
            for k, v in section.items()
        }
    return sections


def connection_sections(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The ``[planfix]`` and ``[planningpme]`` keys: the partial config, then the options over it."""
    config = getattr(args, "config", None)
    sections = _partial(Path(config)) if config else {name: {} for name in SECRET_KEYS}
    for option, section, key, _ in OPTIONS:
        value = getattr(args, option_dest(option), None)
        if value is not None:
            sections[section][key] = str(Path(value).resolve()) if key in FILE_KEYS else value
    where = f"{config}" if config else "the options"
    for name, keys in SECRET_KEYS.items():
        for key in keys:
            if key in sections[name]:
                raise ConfigError(
                    f"{where}: {name}.{key} is given inline; syncd init writes secrets only as file"
                    f" references: put it in a file readable only by syncd and give {name}.{key}_file"
                )
    return sections


@dataclass(frozen=True)
class Onboarding:
    people: Pairing
    statuses: Pairing
    task_markers: Markers
    contact_markers: Markers


def _planfix_marker(fields: Sequence[CustomField]) -> tuple[str | None, tuple[str, ...]]:
    strings = [f for f in fields if f.string]
    chosen = next((f for f in strings if PLANFIX_MARKER_NAME in normal_name(f.name)), None)
    return (chosen.id if chosen else None), tuple(f"{f.id} {f.name!r}" for f in strings)


def _planningpme_marker(fields: Sequence[Ref]) -> tuple[str | None, tuple[str, ...]]:
    def like(f: Ref) -> bool:
        return PLANNINGPME_MARKER_WORD in normal_name(f"{f.key} {f.name}")

    chosen = next((f for f in fields if like(f)), None)
    return (chosen.key if chosen else None), tuple(f"{f.key} {f.name!r}" for f in fields)


def plan_onboarding(planfix: PlanfixReference, pme: PlanningPmeReference) -> Onboarding:
    """What to write, from what was read (pure)."""

    def markers(fields: Sequence[CustomField], resource: str) -> Markers:
        pf, pf_listed = _planfix_marker(fields)
        code, codes = _planningpme_marker(pme.custom_fields.get(resource, ()))
        return Markers(pf, pf_listed, code, codes)

    return Onboarding(
        pair_people(planfix.users, pme.resources),
        pair_statuses(planfix.statuses, pme.categories),
        markers(planfix.task_fields, "do"),
        markers(planfix.contact_fields, "customer"),
    )


def _refuse_existing(paths: Sequence[Path]) -> None:
    for path in paths:
        if path.exists() or path.is_symlink():
            raise ConfigError(
                f"{path} already exists: syncd init does not overwrite files; move it away or choose"
                " another --out directory"
            )


def _write_new(path: Path, text: str) -> None:
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ConfigError(f"{path} already exists: syncd init does not overwrite files") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from None


def _summary(result: Onboarding) -> list[str]:
    lines: list[str] = []
    for title, pairing, left, right in (
        ("people", result.people, "Planfix users", "PlanningPME resources"),
        ("statuses", result.statuses, "Planfix statuses", "PlanningPME categories"),
    ):
        lines.append(f"{title}: {len(pairing.pairs)} paired")
        lines.extend(
            f"  {p.planfix.key} {p.planfix.name} = {p.planningpme.key} {p.planningpme.name} (by {p.how})"
            for p in pairing.pairs
        )
        for what, refs in ((left, pairing.planfix_left), (right, pairing.planningpme_left)):
            lines.extend(f"  not paired: {what[:-1]} {r.key} {r.name}" for r in refs)
    for entity, markers in (("task", result.task_markers), ("contact", result.contact_markers)):
        lines.append(
            f"{entity} marker fields: planfix "
            + (
                f"customData[{markers.planfix}]"
                if markers.planfix
                else "TODO (none named like 'PlanningPME key')"
            )
            + ", planningpme "
            + (f"fields.{markers.planningpme}" if markers.planningpme else "TODO (none like 'Planfix ID')")
        )
    return lines


def _needs_a_person(result: Onboarding) -> bool:
    pairings = (result.people, result.statuses)
    markers = (result.task_markers, result.contact_markers)
    return any(p.planfix_left or p.planningpme_left for p in pairings) or any(
        m.planfix is None or m.planningpme is None for m in markers
    )


def _settings(config_text: str, path: Path) -> Settings:
    """Validates the keys and reads the secret files exactly as ``syncd run`` will; a problem is
    told in terms of the options that set it, since the file does not exist yet."""
    try:
        return parse_settings(config_text, path.resolve(), env={})
    except ConfigError as exc:
        text = str(exc).replace(f"{path.resolve()}: ", "")
        hints = [
            f"{section}.{key} is {option}"
            for option, section, key, _ in OPTIONS
            if f"{section}.{key}" in text or f"{section}.{key.removesuffix('_file')}" in text
        ]
        raise ConfigError(
            "the connection settings are incomplete or wrong (give them as options, or in"
            f" the file --config names): {text}" + (f" ({'; '.join(hints)})" if hints else "")
        ) from None


def run_init(args: argparse.Namespace, out: TextIO) -> int:
    directory = Path(args.out)
    targets = [directory / CONFIG_NAME, *(directory / name for name in MAPPING_NAMES)]
    _refuse_existing(targets)
    sections = connection_sections(args)
    config_text = render_config(sections, MAPPING_NAMES)
    settings = _settings(config_text, directory / CONFIG_NAME)
    print("reading the Planfix account's users, statuses and custom fields…", file=out)
    planfix = read_planfix(settings)
    print("reading the PlanningPME account's resources, categories and custom fields…", file=out)
    pme = read_planningpme(settings)
    result = plan_onboarding(planfix, pme)
    texts = [config_text, tasks_mapping(result.people, result.statuses, result.task_markers)]
    texts.append(contacts_mapping(result.contact_markers))
    directory.mkdir(parents=True, exist_ok=True)
    _refuse_existing(targets)
    written: list[Path] = []
    try:
        for path, text in zip(targets, texts, strict=True):
            _write_new(path, text)
            written.append(path)
    except ConfigError:
        for path in written:  # all or nothing: a half-written set would be refused next time
            path.unlink(missing_ok=True)
        raise
    for line in _summary(result):
        print(printable(line), file=out)  # names are the accounts' text
    print(f"wrote {', '.join(str(p) for p in targets)}", file=out)
    if _needs_a_person(result):
        print(
            "some items could not be paired: finish the lines marked TODO(syncd init) in the mappings",
            file=out,
        )
    print(f"next: syncd check --config {targets[0]}", file=out)
    return 0
