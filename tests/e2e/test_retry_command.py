"""`syncd retry` releases parked records (the admin fixed them) for the next cycle."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from state.store import Store
from syncd.cli.main import main
from tests.e2e.conftest import World


def test_retry_releases_parked_records(world: World) -> None:
    world.sync()
    state = world.config_path.parent / "state.db"
    now = datetime.now(UTC)
    with Store.open(state) as store:
        for key in ("7", "8"):
            store.record_failure(
                "tasks",
                "planningpme",
                key,
                "create",
                "label: too long",
                now,
                max_attempts=1,
                backoff_base_s=60,
                backoff_cap_s=600,
            )
        assert all(f.parked for f in store.failures("tasks"))
    out = io.StringIO()
    assert main(["retry", "--config", str(world.config_path), "8"], out=out) == 0
    assert "tasks planningpme 8: will be retried" in out.getvalue()
    with Store.open(state, readonly=True) as store:
        parked = {f.key: f.parked for f in store.failures("tasks")}
    assert parked == {"7": True, "8": False}
