"""The Planfix XML API connector: ``build_planfix`` gives the task and contact connectors.

Modules: ``xml`` (envelope build/parse), ``records`` (native records ↔ XML), ``times``,
``filters``, ``codes`` (error codes → syncd.errors), ``client`` (auth, limits, transport),
``paging``, ``connector`` (the two ``Connector`` implementations and the factory).
"""

from syncd.connectors.planfix.client import PlanfixClient
from syncd.connectors.planfix.connector import (
    PlanfixConnectors,
    PlanfixContactConnector,
    PlanfixTaskConnector,
    build_planfix,
)

__all__ = [
    "PlanfixClient",
    "PlanfixConnectors",
    "PlanfixContactConnector",
    "PlanfixTaskConnector",
    "build_planfix",
]
