"""PlanningPME: the REST client, the paginator, and the planned-event and customer connectors.

The names below are loaded on first use (PEP 562), not on import: ``syncd.settings`` takes its
``[planningpme]`` defaults from ``assumptions`` in this package, and the client imports
``syncd.settings``, so an eager import here would be circular.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PlanningPmeClient": "syncd.connectors.planningpme.client",
    "PlanningPmeCustomerConnector": "syncd.connectors.planningpme.connector",
    "PlanningPmeEventConnector": "syncd.connectors.planningpme.connector",
    "ScanOptions": "syncd.connectors.planningpme.connector",
    "build_planningpme": "syncd.connectors.planningpme.connector",
}

__all__ = [
    "PlanningPmeClient",
    "PlanningPmeCustomerConnector",
    "PlanningPmeEventConnector",
    "ScanOptions",
    "build_planningpme",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
