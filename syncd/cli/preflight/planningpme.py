"""The PlanningPME half of ``syncd check``: credentials, the list endpoints syncd calls (one event,
one customer), the history or the fallback cycles will use, the marker field code, the form of
dates the account writes, and the resources and categories the mapping tables name. Read-only:
the event list is a POST, but a query."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from mappings.spec import MappingSpec
from syncd.cli.preflight.checks import Finding, Preflight
from syncd.cli.preflight.description import check_description
from syncd.connectors.planningpme.assumptions import CONFIG_PATH
from syncd.connectors.planningpme.client import PlanningPmeClient
from syncd.connectors.planningpme.connector import PlanningPmeCustomerConnector, PlanningPmeEventConnector
from syncd.connectors.planningpme.pagination import Page, PageIndexPaginator
from syncd.errors import ProtocolError, RemoteError

SYSTEM = "planningpme"
_FIELD_CODE = re.compile(r"^fields\.([A-Za-z0-9_]+)$")


def check_planningpme(
    pre: Preflight,
    events: PlanningPmeEventConnector,
    customers: PlanningPmeCustomerConnector,
    specs: Sequence[MappingSpec],
) -> None:
    """Run the PlanningPME checks into ``pre``."""
    firsts: dict[str, Any] = {}

    def probe(connector: PlanningPmeEventConnector | PlanningPmeCustomerConnector) -> str:
        total, firsts[connector.entity] = connector.sample()
        path = events.settings.event_list_path if connector is events else connector.api
        return f"{path} answers with a page of {connector.entity}s ({total} in all)"

    if not pre.attempt(SYSTEM, "planningpme credentials and customer list", lambda: probe(customers)):
        return
    pre.attempt(SYSTEM, "planningpme event list", lambda: probe(events))

    def probe_history() -> str:
        found = events.probe_history()
        if not found.usable and events.settings.history_path:
            raise ProtocolError(found.detail, system=SYSTEM)
        return found.detail  # understood, or read in full by choice (history_path = "")

    pre.attempt(
        SYSTEM,
        "planningpme history",
        probe_history,
        fix='set planningpme.history_path to the account\'s history, or to "" to read in full every cycle'
        " (costs more requests); history_types / history_ops name its entry types",
    )
    config = _read_config(events.client)
    _check_markers(pre, specs, firsts, {"event": events, "customer": customers}, config)
    _check_zone(pre, config, events.settings.timezone)
    _check_date_form(pre, events, customers)
    _check_ids(pre, events.client, specs)
    check_description(pre, events.client, events.settings, specs)


def _read_config(client: PlanningPmeClient) -> Mapping[str, Any]:
    """``/api/config``, or nothing when it cannot be read (its uses below then say "not verified")."""
    try:
        config = client.request("GET", f"GET /{CONFIG_PATH}", CONFIG_PATH)
    except RemoteError:
        return {}
    return config if isinstance(config, Mapping) else {}


def _config_fields(config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The custom field definitions ``/api/config`` lists by resource (``{"do": [{code, type}…]}``),
    or None when it lists none (the field is then looked for on a listed record)."""
    found = config.get("customFields")
    return found if isinstance(found, Mapping) else None


ZONE_KEYS = ("timeZone", "timezone", "TimeZone", "timeZoneId")


def _check_zone(pre: Preflight, config: Mapping[str, Any], configured: str) -> None:
    """Compares ``planningpme.timezone`` with the zone ``/api/config`` names, when it names one."""
    check = "planningpme time zone"
    reported = next((str(config[k]) for k in ZONE_KEYS if isinstance(config.get(k), str)), None)
    if reported is None:
        pre.add(check, True, f"{configured}: not verified, /{CONFIG_PATH} names no time zone")
    elif reported == configured:
        pre.add(check, True, f"{configured}, as /{CONFIG_PATH} reports")
    else:
        pre.add(
            check,
            False,
            f"planningpme.timezone is {configured} but /{CONFIG_PATH} reports {reported}",
            f'set planningpme.timezone = "{reported}"',
        )


def _marker_finding(
    code: str,
    connector: PlanningPmeEventConnector | PlanningPmeCustomerConnector,
    first: Any,
    defined: Mapping[str, Any] | None,
) -> tuple[bool, str]:
    entity = connector.entity
    resource = connector.api.rsplit("/", 1)[-1]
    listed = defined.get(resource) if defined is not None else None
    if isinstance(listed, list):
        codes = {str(f.get("code")): f for f in listed if isinstance(f, Mapping)}
        if code in codes:
            return (
                True,
                f"/{CONFIG_PATH} lists custom field {code} on {resource} (type {codes[code].get('type')})",
            )
        return (
            False,
            f"/{CONFIG_PATH} lists no custom field {code} on {resource} ({', '.join(codes) or 'none'})",
        )
    fields = first.get("fields") if isinstance(first, Mapping) else None
    if isinstance(fields, Mapping) and code in fields:
        return True, f"the listed {entity} carries custom field {code}"
    return True, (
        f"cannot be verified: /{CONFIG_PATH} lists no custom field definitions and "
        + (f"no {entity} is listed" if first is None else f"the listed {entity} does not carry {code}")
        + " (an unset field may be left out)"
    )


def _check_markers(
    pre: Preflight,
    specs: Sequence[MappingSpec],
    firsts: Mapping[str, Any],
    connectors: Mapping[str, PlanningPmeEventConnector | PlanningPmeCustomerConnector],
    config: Mapping[str, Any],
) -> None:
    defined = _config_fields(config)
    for spec in specs:
        entity = spec.planningpme_entity
        check = f"planningpme {entity} marker field {spec.planningpme_marker}"
        found = _FIELD_CODE.match(spec.planningpme_marker)
        if found is None:
            pre.add(check, False, "not a custom field code", 'planningpme_marker = "fields.CODE"')
            continue
        code = found.group(1)
        ok, detail = _marker_finding(code, connectors[entity], firsts.get(entity), defined)
        pre.add(
            check,
            ok,
            detail,
            f"create a text custom field with code {code} on {entity}s in PlanningPME, or fix"
            f" planningpme_marker of mapping {spec.name}",
        )


def _check_date_form(
    pre: Preflight, events: PlanningPmeEventConnector, customers: PlanningPmeCustomerConnector
) -> None:
    seen = sorted(events.reply_date_forms | customers.reply_date_forms)
    setting = events.settings.date_format
    check = "planningpme date form"
    if not seen:
        pre.add(check, True, f"writing {setting!r}; no date read to compare with")
    elif setting in seen:
        pre.add(check, True, f"writing {setting!r}, as the account's replies do")
    else:
        # A warning, not a problem: the seed documents zoned dates in requests whatever the replies use.
        pre.add(
            check,
            True,
            f"warning: syncd writes {setting!r} dates but the account's replies use {', '.join(seen)};"
            f' if it misreads them, set planningpme.date_format = "{seen[0]}"',
        )


def _lookup_keys(client: PlanningPmeClient, name: str) -> set[str]:
    path = f"api/{name}"
    label = f"GET /{path}"
    paginator = PageIndexPaginator()
    keys: set[str] = set()
    while not paginator.finished:
        page = Page.parse(client.request("GET", label, path, params=paginator.params()), label)
        keys.update(str(i.get("key")) for i in page.items)
        paginator.advance(page)
    return keys


def _check_ids(pre: Preflight, client: PlanningPmeClient, specs: Sequence[MappingSpec]) -> None:
    for name, pme_path, transform, param in (
        ("resource", "resources", "lookup", "table"),
        ("category", "category", "value_map", "map"),
    ):
        named: dict[str, str] = {}
        for spec in specs:
            for f in spec.fields:
                if f.transform == transform and pme_path in f.paths("planningpme"):
                    named.update((str(v), spec.name) for v in (f.params.get(param) or {}).values())
        if not named:
            continue
        check = f"planningpme {name} keys of the mapping tables"

        def probe(name: str = name, named: dict[str, str] = named) -> str | Finding:
            known = _lookup_keys(client, name)
            missing = sorted(set(named) - known)
            if missing:
                mappings = ", ".join(sorted({named[k] for k in missing}))
                return Finding(
                    f"no {name} with key {', '.join(missing)} in the account",
                    f"edit the table in mapping {mappings}: use keys the account has",
                )
            return f"the {len(named)} {name} keys named exist (/api/{name}: {len(known)})"

        pre.attempt(SYSTEM, check, probe)
