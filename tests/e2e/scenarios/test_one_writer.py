"""One writer (property 16): while one process writes to the state database, a second `syncd run`
on the same database refuses to run, says why and who holds it, exits with code 2, and writes
nothing anywhere; `syncd status` (read-only) still works beside the writer."""

from __future__ import annotations

import os
import subprocess
import sys

from state.store import Store
from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import cli, links, no_writes, state_path
from tests.e2e.scenarios.people import People


def test_a_second_writer_refuses_to_run(world: World, people: People) -> None:
    task = people.add_task("Boiler inspection")
    world.sync()
    people.edit_task(task, title="Boiler inspection — moved")
    world.reset_stats()

    with Store.open(state_path(world)) as holder:
        second = subprocess.run(
            [sys.executable, "-m", "syncd", "run", "--once", "--config", str(world.config_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        status_code, status = cli(world, "status")
        assert holder.links("tasks"), "the holder still reads and writes its database"

    assert second.returncode == 2, second.stderr
    message = second.stderr.strip()
    assert message.startswith("syncd: error:"), message
    assert f"in use by process {os.getpid()}" in message
    assert "Only one syncd may write to a state database" in message
    assert "Traceback" not in second.stderr
    assert no_writes(world)
    assert (status_code, "links:" in status) == (0, True)

    world.sync()  # once the other writer is gone, the run goes ahead
    assert world.writes()["planningpme"] == 1
    assert set(links(world, "tasks")) == {task}
