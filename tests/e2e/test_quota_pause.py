"""A used-up Planfix daily limit (0007) pauses Planfix until the quota day turns, and says so."""

from __future__ import annotations

import io
import json
import re

from syncd.cli.main import main
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
