"""The Planfix half of ``syncd check``: credentials and data centre, the list methods syncd calls,
the marker fields, and the users and statuses the mapping tables name. All read-only."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mappings.spec import MappingSpec
from syncd.cli.preflight.checks import Finding, Preflight
from syncd.connectors.planfix import reference
from syncd.connectors.planfix.client import PlanfixClient

SYSTEM = "planfix"
_CUSTOM_FIELD = re.compile(r"^customData\[(\d+)\]$")


@dataclass(frozen=True)
class PlanfixTotals:
    """Records per listing as the first page reported them (None: not reported / not read)."""

    tasks: int | None = None
    people: int | None = None
    companies: int | None = None


def _total(found: int | None, what: str) -> str:
    return f"no total of {what} given" if found is None else f"{found} {what} in all"


def _table_keys(
    specs: Sequence[MappingSpec], planfix_path: str, transform: str, param: str
) -> dict[str, str]:
    """Planfix ids named by the tables of task fields at ``planfix_path`` → the mapping naming them."""
    found: dict[str, str] = {}
    for spec in specs:
        if spec.planfix_entity != "task":
            continue
        for f in spec.fields:
            if f.transform == transform and planfix_path in f.paths("planfix"):
                table = f.params.get(param) or {}
                found.update((str(k), spec.name) for k in table)
    return found


def check_planfix(pre: Preflight, client: PlanfixClient, specs: Sequence[MappingSpec]) -> PlanfixTotals:
    """Run the Planfix checks into ``pre``; the listed totals feed the daily-bill estimate."""
    totals: dict[str, int | None] = {}

    def probe_tasks() -> str:
        totals["tasks"] = reference.probe_list(client, "task").total
        return f"task.getList answers ({_total(totals['tasks'], 'tasks')})"

    if not pre.attempt(SYSTEM, "planfix credentials and data centre", probe_tasks):
        return PlanfixTotals()
    pre.add(
        "planfix time zone",
        True,
        f"{client.zone.key}: not verified, the XML API reports no time zone (naive times are read in it)",
    )
    for target, name in (("contact", "people"), ("company", "companies")):

        def probe_contacts(target: str = target, name: str = name) -> str:
            totals[name] = reference.probe_list(client, "contact", [("target", target)]).total
            return f"contact.getList target={target} answers ({_total(totals[name], name)})"

        pre.attempt(SYSTEM, f"planfix contact.getList ({name})", probe_contacts)
    _check_markers(pre, client, specs)
    _check_ids(pre, client, specs)
    return PlanfixTotals(totals.get("tasks"), totals.get("people"), totals.get("companies"))


def _check_markers(pre: Preflight, client: PlanfixClient, specs: Sequence[MappingSpec]) -> None:
    for spec in specs:
        found = _CUSTOM_FIELD.match(spec.planfix_marker)
        if found is None:
            pre.add(
                f"planfix {spec.planfix_entity} marker field",
                False,
                f"mapping {spec.name}: planfix_marker = {spec.planfix_marker!r} is not a custom field",
                'name a String custom field: planfix_marker = "customData[ID]"',
            )
            continue
        field_id = found.group(1)
        entity = spec.planfix_entity
        kind = "task" if entity == "task" else "contact"

        def probe(entity: str = entity, field_id: str = field_id, kind: str = kind) -> str:
            reference.probe_marker_filter(client, entity, field_id)
            return (
                f"custom field {field_id} accepts the String-field filter syncd finds markers with"
                " (the XML API lists no field types; the filter is refused for a missing or non-String field)"
            )

        pre.attempt(
            SYSTEM,
            f"planfix {entity} marker field customData[{field_id}]",
            probe,
            fix=f"create a {kind} custom field of type String (Строка) in Planfix and put its id in"
            f" planfix_marker of mapping {spec.name}",
        )


def _check_ids(pre: Preflight, client: PlanfixClient, specs: Sequence[MappingSpec]) -> None:
    workers = _table_keys(specs, "workers", "lookup", "table")
    if workers:

        def probe_users() -> str | Finding:
            known = {u.id for u in reference.users(client)}
            missing = sorted(set(workers) - known, key=_id_order)
            if missing:
                return _missing(missing, "user", workers, len(known))
            return (
                f"the {len(workers)} users the workers tables name exist (user.getList: {len(known)} users)"
            )

        pre.attempt(SYSTEM, "planfix users of the workers table", probe_users)
    statuses = _table_keys(specs, "status", "value_map", "map")
    if statuses:

        def probe_statuses() -> str | Finding:
            known = reference.all_statuses(client)
            missing = sorted(set(statuses) - set(known), key=_id_order)
            if missing:
                return _missing(missing, "status", statuses, len(known))
            return f"the {len(statuses)} statuses the status map names exist in the account's task processes"

        pre.attempt(SYSTEM, "planfix statuses of the status map", probe_statuses)


def _id_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 62, key)


def _missing(missing: list[str], what: str, named_by: dict[str, str], known: int) -> Finding:
    mappings = ", ".join(sorted({named_by[m] for m in missing}))
    return Finding(
        f"no {what} with id {', '.join(missing)} in the account ({known} known)",
        f"edit the table in mapping {mappings}: use ids the account has",
    )
