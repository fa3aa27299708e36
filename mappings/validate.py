"""The checks of a mapping file that need more than one key at a time: paths against the entity
catalogue, transforms against their paths, names, match keys, markers, deletes and filters.

Each problem carries its location in the file, so the message can point at ``fields[3]``
("status").params.map rather than at "the mapping".
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from mappings.binding import BoundField, bind_field
from mappings.errors import Loc, Problem
from mappings.paths import ENTITY_TITLES, Entity, PathError, Slot, resolve
from mappings.sides import SIDE_TITLES, SIDES, Side

if TYPE_CHECKING:
    from mappings.spec import FilterSpec, MappingSpec

_PAIRS: dict[str, str] = {"task": "event", "contact": "customer"}
_SCALAR_WRITABLE = frozenset({"text", "any", "bool", "ref", "date", "time", "datetime"})


def entities(spec: MappingSpec) -> dict[Side, Entity]:
    return {"planfix": spec.planfix_entity, "planningpme": spec.planningpme_entity}


def check(spec: MappingSpec) -> list[Problem]:
    """Every problem of the spec (empty: the spec is usable)."""
    problems: list[Problem] = []
    wanted = _PAIRS[spec.planfix_entity]
    if spec.planningpme_entity != wanted:
        problems.append(
            Problem(
                ("planningpme_entity",),
                f"a Planfix {spec.planfix_entity} pairs with a PlanningPME {wanted},"
                f" not {spec.planningpme_entity!r}",
            )
        )
        return problems
    bound = _check_fields(spec, problems)
    _check_shared_writes(bound, problems)
    _check_match_keys(spec, problems)
    markers = _check_markers(spec, bound, problems)
    _check_deletes(spec, problems, markers)
    _check_filters(spec, problems)
    return problems


def _check_fields(spec: MappingSpec, problems: list[Problem]) -> dict[int, BoundField]:
    bound: dict[int, BoundField] = {}
    first_index: dict[str, int] = {}
    for index, field in enumerate(spec.fields):
        if field.name in first_index:
            problems.append(
                Problem(
                    ("fields", index, "name"),
                    f"the name {field.name!r} is already used by fields[{first_index[field.name]}];"
                    " field names must be unique",
                )
            )
        first_index.setdefault(field.name, index)
        result, found = bind_field(field, entities(spec))
        problems.extend(Problem(("fields", index, *p.loc), p.message) for p in found)
        if result is not None:
            bound[index] = result
    return bound


def _check_shared_writes(bound: dict[int, BoundField], problems: list[Problem]) -> None:
    """Two fields may not write the same path, except boolean flags both declare shareable
    (PlanningPME ``allDay``, set by the start and the end date-time)."""
    for side in SIDES:
        writers: dict[str, tuple[int, BoundField, bool]] = {}
        for index, field in bound.items():
            if not field.writes(side):
                continue
            flags = field.transform.flag_positions(side)
            for position, slot in enumerate(field.shape.of(side)):
                shareable = position in flags
                previous = writers.get(slot.path)
                if previous is None:
                    writers[slot.path] = (index, field, shareable)
                elif not (shareable and previous[2]):
                    problems.append(
                        Problem(
                            ("fields", index, side),
                            f"{slot.path!r} is also written by fields[{previous[0]}] ({previous[1].name!r});"
                            " a path may be written by one field only",
                        )
                    )


def _check_match_keys(spec: MappingSpec, problems: list[Problem]) -> None:
    by_name = {f.name: f for f in spec.fields}
    seen: set[str] = set()
    for index, key in enumerate(spec.match_keys):
        field = by_name.get(key)
        if field is None:
            problems.append(
                Problem(
                    ("match_keys", index),
                    f"{key!r} names no field; the fields are: {', '.join(by_name) or 'none'}",
                )
            )
        elif field.direction != "both":
            problems.append(
                Problem(
                    ("match_keys", index),
                    f"field {key!r} is one-way ({field.direction}); a match key is compared on both"
                    " sides, so its field needs direction = 'both'",
                )
            )
        elif key in seen:
            problems.append(Problem(("match_keys", index), f"{key!r} is listed twice"))
        seen.add(key)


def _resolve(spec: MappingSpec, side: Side, path: str, loc: Loc, problems: list[Problem]) -> Slot | None:
    try:
        return resolve(entities(spec)[side], path)
    except PathError as exc:
        problems.append(Problem(loc, str(exc)))
        return None


def _check_markers(
    spec: MappingSpec, bound: dict[int, BoundField], problems: list[Problem]
) -> dict[Side, str]:
    found: dict[Side, str] = {}
    for side in SIDES:
        key = f"{side}_marker"
        path = spec.planfix_marker if side == "planfix" else spec.planningpme_marker
        slot = _resolve(spec, side, path, (key,), problems)
        if slot is None:
            continue
        found[side] = slot.path
        title = ENTITY_TITLES[entities(spec)[side]]
        if not slot.writable or slot.kind not in ("text", "any"):
            problems.append(
                Problem(
                    (key,),
                    f"{path!r} cannot hold the other system's key: use a writable text field of the"
                    f" {title}, normally a custom field",
                )
            )
            continue
        for index, field in bound.items():
            if any(s.path == slot.path for s in field.shape.of(side)):
                problems.append(
                    Problem(
                        (key,),
                        f"{path!r} is also mapped by fields[{index}] ({field.name!r});"
                        " the marker needs a path of its own",
                    )
                )
    return found


def _check_deletes(spec: MappingSpec, problems: list[Problem], markers: dict[Side, str]) -> None:
    for side in SIDES:
        archive = spec.planfix_archive if side == "planfix" else spec.planningpme_archive
        key = f"{side}_archive"
        for path in archive:
            slot = _resolve(spec, side, path, (key, path), problems)
            if slot is None:
                continue
            if not slot.writable or slot.kind not in _SCALAR_WRITABLE:
                problems.append(
                    Problem((key, path), f"{path!r} cannot be set to archive a {SIDE_TITLES[side]} record")
                )
            elif slot.path == markers.get(side):
                problems.append(
                    Problem((key, path), f"{path!r} is the marker field; archive with another field")
                )
    pairs: tuple[tuple[Side, Side], ...] = (("planfix", "planningpme"), ("planningpme", "planfix"))
    for deleted, archived in pairs:
        policy = spec.on_planfix_delete if deleted == "planfix" else spec.on_planningpme_delete
        values = spec.planfix_archive if archived == "planfix" else spec.planningpme_archive
        if policy == "archive" and not values:
            problems.append(
                Problem(
                    (f"on_{deleted}_delete",),
                    f"'archive' sets values on the {SIDE_TITLES[archived]} record, but {archived}_archive"
                    f" is empty: give them (e.g. {archived}_archive = {_archive_example(archived)})"
                    " or choose 'propagate' or 'ignore'",
                )
            )


def _archive_example(side: Side) -> str:
    return '{ status = "4" }' if side == "planfix" else '{ category = "C4" }'


def _check_filters(spec: MappingSpec, problems: list[Problem]) -> None:
    for side in SIDES:
        filters = spec.filters.planfix if side == "planfix" else spec.filters.planningpme
        for index, item in enumerate(filters):
            _check_filter(spec, side, index, item, problems)


def _check_filter(
    spec: MappingSpec, side: Side, index: int, item: FilterSpec, problems: list[Problem]
) -> None:
    loc: Loc = ("filters", side, index)
    slot = _resolve(spec, side, item.path, (*loc, "path"), problems)
    sets = item.in_ is not None, item.not_in is not None
    ranged = item.since is not None or item.until is not None
    if sum(sets) + ranged != 1:
        problems.append(Problem(loc, "give exactly one condition: 'in', 'not_in', or 'since'/'until'"))
        return
    if slot is None or not ranged:
        return
    if slot.kind not in ("date", "datetime"):
        problems.append(
            Problem(
                (*loc, "path"),
                f"'since'/'until' compare dates, but {item.path!r} is not a date ({slot.kind})",
            )
        )
    for bound_key in ("since", "until"):
        value: Any = getattr(item, bound_key)
        if value is not None:
            try:
                datetime.fromisoformat(value)
            except ValueError:
                problems.append(
                    Problem((*loc, bound_key), f"{value!r} is not an ISO date (YYYY-MM-DD) or date-time")
                )
