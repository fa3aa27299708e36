"""The emulated account's machine-readable API description (Swagger 2.0), as the interactive
documentation of a real account (``/{brand}/doc/index``) is generated from one.

It is derived from the emulator's own routes and record properties, so it lists exactly what the
emulator serves; ``omit`` leaves properties out, to show `syncd check` naming what is missing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from starlette.routing import Route

DESCRIPTION_PATH = "swagger/docs/v1"


def api_description(
    routes: Iterable[Route], schemas: Mapping[str, Iterable[str]], omit: Collection[str] = ()
) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not route.path.startswith("/{brand}/api/") or "{rest:path}" in route.path:
            continue
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            operation = {"responses": {"200": {"description": "OK"}}}
            paths.setdefault(route.path.removeprefix("/{brand}"), {})[method.lower()] = operation
    definitions = {
        name: {"type": "object", "properties": {prop: {} for prop in props if prop not in omit}}
        for name, props in schemas.items()
    }
    return {
        "swagger": "2.0",
        "info": {"title": "PlanningPME API (emulated)", "version": "v1"},
        "paths": paths,
        "definitions": definitions,
    }
