"""``syncd check`` as a pre-flight: over HTTP against both emulators, each failure mode shows its
line (``problem``, what was seen) and its fix, and the command exits 0 only when all pass."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from syncd.cli.main import main
from syncd.emulators.config import emulator_config
from tests.e2e.conftest import World

DEFAULT_TASKS = Path(__file__).resolve().parents[2] / "mappings" / "defaults" / "tasks.toml"


def check(world: World, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["check", "--config", str(world.config_path), *extra], out=out)
    return code, out.getvalue()


def results(world: World) -> tuple[int, dict[str, dict[str, Any]]]:
    code, text = check(world, "--json")
    return code, {c["check"]: c for c in json.loads(text)}


def configure(world: World, sections: dict[str, dict[str, Any]]) -> None:
    base = {"planfix": {"requests_per_second": 50}, "sync": {"max_delete_percent": 100}}
    for name, keys in sections.items():
        base[name] = {**base.get(name, {}), **keys}
    world.config_path.write_text(emulator_config(world.planfix.base_url, world.planningpme.base_url, base))


def tasks_mapping(world: World, *edits: tuple[str, str]) -> None:
    """The default tasks mapping with ``edits`` (old, new) applied, used instead of the default."""
    text = DEFAULT_TASKS.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    (world.config_path.parent / "tasks.toml").write_text(text, encoding="utf-8")


def seed(world: World) -> None:
    world.pf("POST", "seed", {"tasks": 3, "contacts": 3, "seed": 1})
    world.pme("POST", "seed", {"events": 3, "customers": 3, "seed": 2})


def problems(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: c for name, c in found.items() if not c["ok"]}


def test_everything_passes_against_the_emulators_and_nothing_is_written(world: World) -> None:
    seed(world)
    world.reset_stats()
    code, text = check(world)
    assert world.writes() == {"planfix": 0, "planningpme": 0}
    assert code == 0, text
    assert "problem" not in text
    for name in (
        "planfix credentials and data centre",
        "planfix contact.getList (people)",
        "planfix contact.getList (companies)",
        "planfix task marker field customData[101]",
        "planfix users of the workers table",
        "planfix statuses of the status map",
        "planningpme credentials and customer list",
        "planningpme event list",
        "planningpme history",
        "planningpme event marker field fields.PLANFIX_ID",
        "planningpme resource keys of the mapping tables",
        "planningpme category keys of the mapping tables",
        "planfix daily request budget",
    ):
        assert f"ok      {name}: " in text, name
    code, found = results(world)
    assert code == 0 and all(set(c) == {"check", "ok", "detail", "fix"} for c in found.values())


def test_a_wrong_planfix_token_is_a_credentials_problem_and_stays_secret(world: World) -> None:
    configure(world, {"planfix": {"token": "wrong-token-123456"}})
    code, text = check(world)
    assert code == 3
    assert "problem planfix credentials and data centre: " in text
    assert "fix: check planfix.account, planfix.api_key and planfix.token" in text
    assert "wrong-token-123456" not in text
    # nothing else of Planfix is asked once the credentials fail; PlanningPME still is
    assert "planfix users" not in text and "ok      planningpme credentials" in text


def test_a_wrong_planfix_url_points_at_the_data_centre(world: World) -> None:
    configure(world, {"planfix": {"url": f"{world.planfix.base_url}/nowhere/"}})
    code, found = results(world)
    assert code == 3
    line = found["planfix credentials and data centre"]
    assert not line["ok"] and "planfix.url" in line["fix"] and "data centre" in line["fix"]


def test_wrong_planningpme_credentials_and_brand(world: World) -> None:
    configure(world, {"planningpme": {"password": "not-the-password"}})
    code, found = results(world)
    assert code == 3
    line = found["planningpme credentials and customer list"]
    assert not line["ok"] and "planningpme.username/password" in line["fix"]
    assert "planningpme event list" not in found
    configure(world, {"planningpme": {"brand": "elsewhere"}})
    code, found = results(world)
    line = found["planningpme credentials and customer list"]
    assert code == 3 and not line["ok"] and "brand" in line["fix"]


def test_a_missing_history_says_cycles_will_read_in_full(world: World) -> None:
    configure(world, {"planningpme": {"history_path": "api/nohistory"}})
    code, found = results(world)
    assert code == 3
    line = found["planningpme history"]
    assert not line["ok"] and "404" in line["detail"] and "read in full" in line["detail"]
    assert "planningpme.history_path" in line["fix"]


def test_a_marker_field_that_is_not_a_string_field(world: World) -> None:
    tasks_mapping(world, ('planfix_marker = "customData[101]"', 'planfix_marker = "customData[103]"'))
    configure(world, {"sync": {"mappings": ["tasks.toml", "default:contacts"]}})
    code, found = results(world)
    assert code == 3
    line = found["planfix task marker field customData[103]"]
    assert not line["ok"] and "103" in line["detail"]
    assert "String" in line["fix"] and "mapping tasks" in line["fix"]


def test_a_planningpme_marker_code_the_records_do_not_carry(world: World) -> None:
    seed(world)
    tasks_mapping(world, ('planningpme_marker = "fields.PLANFIX_ID"', 'planningpme_marker = "fields.NOPE"'))
    configure(world, {"sync": {"mappings": ["tasks.toml", "default:contacts"]}})
    code, found = results(world)
    assert code == 3
    line = found["planningpme event marker field fields.NOPE"]
    assert not line["ok"] and "/api/config lists no custom field NOPE on do" in line["detail"]
    assert "code NOPE" in line["fix"]
    assert found["planningpme customer marker field fields.PLANFIX_ID"]["ok"]


def test_ids_of_the_mapping_tables_that_the_accounts_do_not_have(world: World) -> None:
    tasks_mapping(world, ('"5" = "R5"', '"9" = "R9"'), ("R5 = ", "R9 = "), ('"5" = "C5"', '"7" = "C7"'))
    configure(world, {"sync": {"mappings": ["tasks.toml", "default:contacts"]}})
    code, found = results(world)
    assert code == 3
    assert problems(found).keys() == {
        "planfix users of the workers table",
        "planfix statuses of the status map",
        "planningpme resource keys of the mapping tables",
        "planningpme category keys of the mapping tables",
    }
    assert "no user with id 9" in found["planfix users of the workers table"]["detail"]
    assert "no status with id 7" in found["planfix statuses of the status map"]["detail"]
    assert "no resource with key R9" in found["planningpme resource keys of the mapping tables"]["detail"]
    assert "no category with key C7" in found["planningpme category keys of the mapping tables"]["detail"]
    assert all("mapping tasks" in c["fix"] for c in problems(found).values())


def test_a_schedule_that_outruns_the_daily_quota(world: World) -> None:
    configure(world, {"planfix": {"daily_quota": 1000}, "schedule": {"tasks_every": "30s"}})
    code, found = results(world)
    assert code == 3
    line = found["planfix daily request budget"]
    assert not line["ok"] and "2880 task polls" in line["detail"] and "900 of 1000" in line["detail"]
    assert "tasks_every" in line["fix"]


def test_a_date_form_other_than_the_account_writes_is_a_warning(world: World) -> None:
    """The emulator replies with naive dates; syncd writes zoned ones by default (as the seed shows)."""
    seed(world)
    code, found = results(world)
    line = found["planningpme date form"]
    assert code == 0 and line["ok"]
    assert line["detail"].startswith(
        "warning: syncd writes 'offset' dates but the account's replies use local"
    )
    assert 'planningpme.date_format = "local"' in line["detail"]
    configure(world, {"planningpme": {"date_format": "local"}})
    code, found = results(world)
    assert (
        code == 0
        and found["planningpme date form"]["detail"] == "writing 'local', as the account's replies do"
    )


def test_no_history_by_choice_is_not_a_problem(world: World) -> None:
    configure(world, {"planningpme": {"history_path": ""}})
    code, found = results(world)
    line = found["planningpme history"]
    assert code == 0 and line["ok"] and "every cycle reads in full" in line["detail"]


def test_offline_checks_only_the_config_and_mappings(world: World) -> None:
    configure(world, {"planfix": {"token": "wrong-token-123456"}})
    code, text = check(world, "--offline", "--json")
    assert code == 0
    assert json.loads(text) == [
        {"check": "config", "ok": True, "detail": "2 mappings: contacts, tasks", "fix": ""}
    ]
