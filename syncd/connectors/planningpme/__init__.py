"""PlanningPME: the REST client, the paginator, and the planned-event and customer connectors."""

from syncd.connectors.planningpme.client import PlanningPmeClient
from syncd.connectors.planningpme.connector import (
    PlanningPmeCustomerConnector,
    PlanningPmeEventConnector,
    ScanOptions,
    build_planningpme,
)

__all__ = [
    "PlanningPmeClient",
    "PlanningPmeCustomerConnector",
    "PlanningPmeEventConnector",
    "ScanOptions",
    "build_planningpme",
]
