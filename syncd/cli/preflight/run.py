"""Runs every pre-flight check against the configured accounts (``syncd check``).

Builds the connectors as a run would (same limiters, same settings), so the probes go through the
same clients and limits as the sync itself; adds a Planfix client of its own for the reference
look-ups, which no connector makes.
"""

from __future__ import annotations

from mappings.spec import MappingSpec
from syncd.cli.preflight.budget import check_budget
from syncd.cli.preflight.checks import Preflight
from syncd.cli.preflight.planfix import check_planfix
from syncd.cli.preflight.planningpme import check_planningpme
from syncd.connectors.planfix.client import PlanfixClient
from syncd.connectors.planningpme.connector import PlanningPmeCustomerConnector, PlanningPmeEventConnector
from syncd.errors import ConfigError
from syncd.runtime import build_remotes
from syncd.settings import Settings


def run_preflight(pre: Preflight, settings: Settings, specs: list[MappingSpec]) -> None:
    remotes = build_remotes(settings, specs)
    try:
        events, customers = remotes.by_entity["event"], remotes.by_entity["customer"]
        if not isinstance(events, PlanningPmeEventConnector) or not isinstance(
            customers, PlanningPmeCustomerConnector
        ):
            raise ConfigError("syncd check: the PlanningPME connectors are not the ones it knows")
        client = PlanfixClient(settings.planfix, remotes.limiters["planfix"])
        try:
            totals = check_planfix(pre, client, specs)
        finally:
            client.close()
        check_planningpme(pre, events, customers, specs)
        check_budget(pre, settings, totals)
    finally:
        remotes.close()
