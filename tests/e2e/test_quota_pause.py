"""A used-up Planfix daily limit (0007) pauses Planfix until the quota day turns, and says so."""

from __future__ import annotations

import io
import json
import re

import pytest

from state.store import Store
from syncd.cli.main import main
from syncd.connectors.planfix.connector import PlanfixTaskConnector
from syncd.engine.cycle import PAUSED_OUTCOME, STOPPED_OUTCOME
from syncd.errors import AuthError, QuotaExhaustedError, SyncdError
from tests.e2e.conftest import World


def test_the_daily_limit_pauses_planfix_and_status_says_until_when(world: World) -> None:
    """planfix-xml-api.md corrections: 0007 is the daily limit; wait for the day, never retry."""
    world.pf("POST", "faults", {"fail_next": 1, "error": "0007"})
    out = io.StringIO()
    code = main(["run", "--once", "--config", str(world.config_path)], out=out)
    assert code == 3
    assert world.pf("GET", "stats")["total"] == 1, "nothing was retried after the 0007"

    status = io.StringIO()
    assert main(["status", "--config", str(world.config_path), "--json"], out=status) == 0
    paused = json.loads(status.getvalue())["paused"]
    assert list(paused) == ["contacts"], "the first pair of the run met the limit"
    assert re.search(r"no planfix request until \d{4}-\d\d-\d\dT\d\d:\d\d", paused["contacts"])
    assert "daily request limit" in paused["contacts"]
    text = io.StringIO()
    main(["status", "--config", str(world.config_path)], out=text)
    assert "paused:\n  contacts: no planfix request until" in text.getvalue()


def _writes_fail_with(monkeypatch: pytest.MonkeyPatch, error: SyncdError) -> None:
    """Reading works; the first Planfix task write meets ``error`` (as from the account)."""

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(PlanfixTaskConnector, "create", refuse)


@pytest.mark.parametrize(
    ("error", "outcome", "code"),
    [
        (
            QuotaExhaustedError(
                "daily request limit reached", system="planfix", code="0007", retry_after=3600
            ),
            PAUSED_OUTCOME,
            3,
        ),
        (AuthError("the API key was refused", system="planfix", code="0005"), STOPPED_OUTCOME, 3),
    ],
)
def test_an_account_error_during_the_writes_closes_the_cycle_row(
    world: World, monkeypatch: pytest.MonkeyPatch, error: SyncdError, outcome: str, code: int
) -> None:
    """The cycle row opened for the writes says how they ended; none is left looking as if it ran."""
    world.pme("POST", "seed", {"events": 3, "customers": 2, "seed": 4})
    _writes_fail_with(monkeypatch, error)
    assert main(["run", "--once", "--config", str(world.config_path)], out=io.StringIO()) == code

    with Store.open(world.settings.state.path) as store:
        cycles = store.last_cycles(limit=20)
    assert cycles and all(c.finished_at is not None for c in cycles), [(c.pair, c.outcome) for c in cycles]
    tasks = [c for c in cycles if c.pair == "tasks"]
    assert len(tasks) == 1, "one row for the one tasks cycle, not a second one for the pause"
    assert tasks[0].outcome == outcome
    assert tasks[0].summary["system"] == "planfix"
    assert "refused" in tasks[0].summary["error"] or "limit" in tasks[0].summary["error"]
