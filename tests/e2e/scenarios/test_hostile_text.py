"""What people (or a hostile server) typed reaches the admin's terminal as visible text: an escape
sequence in a record title or in an error clears no screen and retitles no window, in the dry-run
report, `syncd status` and `syncd retry`. Report files are private."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime

from state.store import Store
from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import cli, cli_with_errors, no_writes, state_path
from tests.e2e.scenarios.people import People

# Clear the screen, home the cursor, set the window title (OSC … BEL), a one-byte C1 CSI, a newline
# that would forge a line of the report, and a right-to-left override (which the mapping's own text
# cleaning keeps: it is a format character, not a control character).
PAYLOAD = "Boiler\x1b[2J\x1b[H\x1b]0;owned\x07\x9b31m\n      reason: forged \u202eevil"


def raw_controls(text: str) -> list[str]:
    return sorted(
        {c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F or c == "\u202e"}
    )


def test_a_hostile_event_title_is_shown_not_executed_in_dry_run_reports(world: World) -> None:
    people = People(world.remotes())
    try:
        people.add_event(PAYLOAD)
    finally:
        people.close()
    world.reset_stats()

    code, text = cli(world, "run", "--once", "--dry-run")
    json_code, report = cli(world, "run", "--once", "--dry-run", "--report", "json")

    assert code == 0 and json_code == 0
    assert raw_controls(text) == []
    assert "\n      reason: forged" not in text  # the newline did not start a line of its own
    titles = [line for line in text.splitlines() if line.strip().startswith("title: — → Boiler")]
    assert len(titles) == 1 and titles[0].endswith("forged \\u202eevil"), text
    assert raw_controls(report) == []
    (title,) = [
        change["new"]
        for pair in json.loads(report)["pairs"]
        for op in pair["operations"]
        for change in op["fields"]
        if change["field"] == "title"
    ]
    assert title.startswith("Boiler") and title.endswith("forged \u202eevil")  # the same value, escaped
    assert no_writes(world)


def test_hostile_error_text_is_shown_not_executed_by_status_and_retry(world: World) -> None:
    world.sync()
    now = datetime.now(UTC)
    with Store.open(state_path(world)) as store:
        store.record_failure(
            "tasks", "planningpme", "8", "update", f"label: {PAYLOAD}", now,
            max_attempts=1, backoff_base_s=60, backoff_cap_s=600,
        )  # fmt: skip

    status_code, status = cli(world, "status")
    json_code, status_json = cli(world, "status", "--json")
    retry_code, retried = cli(world, "retry", "8")

    assert (status_code, json_code, retry_code) == (0, 0, 0)
    for output in (status, status_json, retried):
        assert raw_controls(output) == [], output
    assert "label: Boiler\\u001b[2J" in status and "forged \\u202eevil" in status  # as JSON shows them
    assert "tasks planningpme 8: will be retried (label: Boiler\\x1b[2J" in retried
    failing = json.loads(status_json)["failing_records"]
    assert [f["last_error"] for f in failing] == [f"label: {PAYLOAD}"]


def test_a_report_file_is_private_whatever_the_umask(world: World) -> None:
    target = world.config_path.parent / "plan.html"
    old = os.umask(0o022)
    try:
        code, out, err = cli_with_errors(
            world, "run", "--once", "--dry-run", "--report", "html", "-o", str(target)
        )
    finally:
        os.umask(old)

    assert code == 0, err
    assert f"report written to {target}" in out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_a_report_path_that_is_a_link_is_refused(world: World) -> None:
    victim = world.config_path.parent / "victim.conf"
    victim.write_text("precious")
    link = world.config_path.parent / "plan.json"
    link.symlink_to(victim)

    code, _, err = cli_with_errors(world, "run", "--once", "--dry-run", "--report", "json", "-o", str(link))

    assert code == 2
    assert f"--output {link}: is a symbolic link" in err
    assert victim.read_text() == "precious"
