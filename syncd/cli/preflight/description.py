"""`syncd check` against the account's own API description, where the account exposes one.

The planned-event resource, the history and most field names are this project's assumptions
(syncd/connectors/planningpme/assumptions.py). PlanningPME's interactive documentation
(``/{brand}/doc/index``) is generated from a machine-readable description (Swagger / OpenAPI JSON);
when the account serves it, every operation and top-level field syncd will use is looked up there,
and what the description does not list is named. An account that serves none is not a problem:
the line says nothing could be compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mappings.spec import MappingSpec
from syncd.cli.preflight.checks import Finding, Preflight
from syncd.connectors.planningpme.client import PlanningPmeClient
from syncd.errors import RemoteError
from syncd.settings import PlanningPmeSettings

SYSTEM = "planningpme"
_PARAMETER = re.compile(r"\{[^}]*\}")
_HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete"})


def _normal(path: str, brand: str) -> str:
    """``/{brand}/api/do/{id}`` and ``api/do/{key}`` alike: no brand, no slashes at the ends,
    parameters unnamed."""
    parts = [p for p in path.strip("/").split("/") if p]
    if parts and parts[0] in (brand, "{brand}"):
        parts = parts[1:]
    return _PARAMETER.sub("{}", "/".join(parts))


def operations_used(settings: PlanningPmeSettings) -> list[tuple[str, str]]:
    """(METHOD, path) of every call syncd makes, paths as configured."""
    used = [
        ("POST", settings.event_list_path),
        ("GET", f"{settings.events_path}/{{}}"),
        ("POST", settings.events_path),
        ("PUT", f"{settings.events_path}/{{}}"),
        ("DELETE", f"{settings.events_path}/{{}}"),
        ("GET", settings.customers_path),
        ("GET", f"{settings.customers_path}/{{}}"),
        ("POST", settings.customers_path),
        ("PUT", f"{settings.customers_path}/{{}}"),
        ("DELETE", f"{settings.customers_path}/{{}}"),
        ("GET", "api/config"),
    ]
    if settings.history_path:
        used.append(("GET", settings.history_path))
    return used


def fields_used(specs: Iterable[MappingSpec]) -> set[str]:
    """The top-level PlanningPME properties the mappings read or write (``fields.CODE`` → ``fields``)."""
    names: set[str] = set()
    for spec in specs:
        paths = [spec.planningpme_marker, *(p for field in spec.fields for p in field.paths("planningpme"))]
        names.update(re.split(r"[.\[]", path, maxsplit=1)[0] for path in paths)
    return names


def described(document: Mapping[str, Any], brand: str) -> tuple[set[tuple[str, str]], set[str]]:
    """(METHOD, normal path) of each operation and every property name of every schema, from a
    Swagger 2 (``definitions``) or OpenAPI 3 (``components.schemas``) document."""
    operations: set[tuple[str, str]] = set()
    for path, methods in (document.get("paths") or {}).items():
        if isinstance(methods, Mapping):
            operations.update(
                (method.upper(), _normal(str(path), brand)) for method in methods if method in _HTTP_METHODS
            )
    schemas = document.get("definitions") or (document.get("components") or {}).get("schemas") or {}
    properties: set[str] = set()
    for schema in schemas.values() if isinstance(schemas, Mapping) else ():
        if isinstance(schema, Mapping) and isinstance(schema.get("properties"), Mapping):
            properties.update(str(name) for name in schema["properties"])
    return operations, properties


def check_description(
    pre: Preflight, client: PlanningPmeClient, settings: PlanningPmeSettings, specs: Sequence[MappingSpec]
) -> None:
    path = settings.api_description_path
    check = "planningpme API description"
    if not path:
        pre.add(check, True, "not looked for (planningpme.api_description_path is empty)")
        return
    try:
        document = client.request("GET", f"GET /{path}", path)
    except RemoteError as exc:
        pre.add(check, True, f"not verified: the account serves no description at {path} ({exc.code or exc})")
        return
    if not isinstance(document, Mapping) or not isinstance(document.get("paths"), Mapping):
        pre.add(check, True, f"not verified: {path} is no Swagger/OpenAPI document")
        return

    def probe() -> str | Finding:
        operations, properties = described(document, settings.brand)
        missing = [
            f"{method} {used}"
            for method, used in operations_used(settings)
            if (method, _normal(used, settings.brand)) not in operations
        ]
        unknown = sorted(fields_used(specs) - properties) if properties else []
        if not missing and not unknown:
            return f"{path} lists every operation ({len(operations_used(settings))}) and field syncd uses"
        said = [f"operations it does not list: {', '.join(missing)}"] if missing else []
        said += [f"fields no schema has: {', '.join(unknown)}"] if unknown else []
        return Finding(
            f"{path}: " + "; ".join(said),
            "set the planningpme.*_path keys to the account's operations, and map fields the account has",
        )

    pre.attempt(SYSTEM, check, probe)
