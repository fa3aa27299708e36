"""Dry runs (property 11): `syncd run --once --dry-run` writes nothing anywhere — neither system,
nor the state database — and the next real run does exactly what it reported. Its reports: JSON
(stable), one self-contained HTML file, readable text."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import World
from tests.e2e.scenarios.harness import cli, links, no_writes, state_path
from tests.e2e.scenarios.people import People


def seed_both(world: World) -> None:
    world.pf("POST", "seed", {"tasks": 8, "contacts": 5, "seed": 11})
    world.pme("POST", "seed", {"events": 5, "customers": 4, "seed": 12})
    world.reset_stats()


def planned(report: str) -> list[dict[str, Any]]:
    """Every operation of a JSON report, without its outcome: what was decided, not how it went."""
    data = json.loads(report)
    assert data["schema"] == "syncd.cli.report/1"
    return [
        {"pair": pair["pair"], **{k: v for k, v in op.items() if k not in ("status", "error")}}
        for pair in data["pairs"]
        for op in pair["operations"]
    ]


NEW = re.compile(r"\(new (planfix|planningpme) record for (planfix|planningpme) (\S+)\)")
"""How a dry run names a record it would create: its key does not exist yet."""


def as_created(world: World, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A dry run's operations with every record it named "new" replaced by the key that record got
    in the real run (found through the links; task clients are contacts)."""
    contacts = links(world, "contacts")
    by_pme = {pme: pf for pf, pme in contacts.items()}

    def real(value: Any) -> Any:
        found = NEW.fullmatch(value) if isinstance(value, str) else None
        if found is None:
            return value
        target, _source, key = found.groups()
        return by_pme[key] if target == "planfix" else contacts[key]

    return [{**op, "fields": [{**f, "new": real(f["new"])} for f in op["fields"]]} for op in ops]


def files(directory: Path) -> dict[str, str]:
    """Every file beside the state database, with a hash of its bytes."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()
    }


def test_a_first_dry_run_writes_nothing_and_the_real_run_does_what_it_said(world: World) -> None:
    seed_both(world)

    code, dry = cli(world, "run", "--once", "--dry-run", "--report", "json")

    assert code == 0
    assert no_writes(world)
    assert not state_path(world).exists(), "a dry run creates no state database"
    assert [p.name for p in state_path(world).parent.iterdir() if p.name.startswith("state")] == []
    assert json.loads(dry)["dry_run"] is True
    promised = planned(dry)
    assert {op["operation"] for op in promised} >= {"create"}
    assert planned(cli(world, "run", "--once", "--dry-run", "--report", "json")[1]) == promised, (
        "the same input plans the same operations"
    )

    code, real = cli(world, "run", "--once", "--report", "json")

    assert code == 0
    assert planned(real) == as_created(world, promised)
    assert any(NEW.fullmatch(str(f["new"])) for op in promised for f in op["fields"]), "a new client"
    assert {op["status"] for pair in json.loads(real)["pairs"] for op in pair["operations"]} == {"done"}


def test_a_dry_run_over_an_existing_state_changes_nothing_and_predicts_the_run(
    world: World, people: People
) -> None:
    seed_both(world)
    world.sync()
    tasks = links(world, "tasks")
    contacts = links(world, "contacts")
    task, other_task = sorted(tasks)[:2]
    people.edit_task(task, title="Boiler inspection — rescheduled")
    people.edit_event(tasks[other_task], description="Call before coming")
    people.delete_customer(sorted(contacts.values())[0])
    people.add_contact("Emma", "Brown", "emma.brown@example.com")
    world.reset_stats()
    before = files(state_path(world).parent)

    code, dry = cli(world, "run", "--once", "--dry-run", "--report", "json")

    assert code == 0
    assert no_writes(world)
    assert files(state_path(world).parent) == before, "the state database is not touched"
    promised = planned(dry)
    assert {(op["operation"], op["target"]) for op in promised} >= {
        ("update", "planningpme"),
        ("update", "planfix"),
        ("delete", "planfix"),
        ("create", "planningpme"),
    }

    code, real = cli(world, "run", "--once", "--report", "json")

    assert code == 0
    assert planned(real) == promised


def test_reports_for_people(world: World, tmp_path: Path) -> None:
    seed_both(world)
    page = tmp_path / "plan.html"

    code, said = cli(world, "run", "--once", "--dry-run", "--report", "html", "--output", str(page))

    assert code == 0
    assert said.strip() == f"report written to {page}"
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(", html, re.I), "self-contained"
    assert "nothing was written" in html
    assert html.count("<tr") > 10, "one row per planned operation"

    code, text = cli(world, "run", "--once", "--dry-run")

    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "DRY RUN — nothing was written"
    assert any(
        re.fullmatch(r"\[contacts\] create:planfix \d+, create:planningpme \d+; failed 0", ln) for ln in lines
    )
    assert any(re.fullmatch(r"  create on planningpme: planfix \d+ “.+”", ln) for ln in lines), "named"
    assert any(
        re.fullmatch(r"      reason: new record  \(rule: created on planningpme with marker \d+\)", ln)
        for ln in lines
    )
    assert any(re.fullmatch(r"      title: — → .+", ln) for ln in lines)
    assert no_writes(world)
    assert not state_path(world).exists()
