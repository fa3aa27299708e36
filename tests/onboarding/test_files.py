"""What ``syncd init`` writes when an account lacks something: TODO lines a person can finish, in
files that still parse; and the inputs it refuses (inline secrets, other sections)."""

from __future__ import annotations

import argparse
import io
import tomllib
from pathlib import Path

import pytest

from syncd.cli.main import main
from syncd.cli.onboarding.files import contacts_mapping, tasks_mapping
from syncd.cli.onboarding.pairing import Ref
from syncd.cli.onboarding.read import CustomField, PlanfixReference, PlanningPmeReference
from syncd.cli.onboarding.run import connection_sections, plan_onboarding
from syncd.errors import ConfigError


def _args(tmp_path: Path, text: str) -> argparse.Namespace:
    partial = tmp_path / "partial.toml"
    partial.write_text(text)
    return argparse.Namespace(config=str(partial), out=str(tmp_path / "out"))


def test_an_account_without_marker_fields_gets_todo_lines_naming_the_string_fields() -> None:
    planfix = PlanfixReference(
        users=(Ref("7", "Ana López", "ana@example.com"),),
        statuses=(Ref("1", "New"), Ref("9", "Waiting")),
        task_fields=(CustomField("301", "Address", True), CustomField("302", "Price", False)),
        contact_fields=(),
    )
    pme = PlanningPmeReference(
        resources=(Ref("R1", "ANA  lópez"),), categories=(Ref("C1", "To do"),), custom_fields={}
    )
    result = plan_onboarding(planfix, pme)
    tasks = tasks_mapping(result.people, result.statuses, result.task_markers)
    parsed = tomllib.loads(tasks)
    assert parsed["planfix_marker"] == "customData[0]"
    assert "pick one of the String fields a task card shows (301 'Address';" in tasks
    assert "Price" not in tasks
    assert "TODO(syncd init): Planfix statuses not paired: 9 'Waiting'" in tasks
    assert 'the id of the status that means "canceled"' in tasks
    workers = next(f for f in parsed["fields"] if f["name"] == "workers")
    assert workers["params"] == {"table": {"7": "R1"}, "labels": {"R1": "ANA  lópez"}}
    contacts = contacts_mapping(result.contact_markers)
    assert "contact card shows (none found;" in contacts
    assert tomllib.loads(contacts)["planningpme_marker"] == "fields.TODO"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[planfix]\napi_key = "k"\n', "planfix.api_key is given inline"),
        ('[planningpme]\npassword = "p"\n', "planningpme.password is given inline"),
        ("[sync]\nmax_delete = 1\n", r"reads only \[planfix\] and \[planningpme\]; remove sync"),
        ("[planfix\n", "not valid TOML"),
    ],
)
def test_a_partial_config_with_inline_secrets_or_other_sections_is_refused(
    tmp_path: Path, text: str, said: str
) -> None:
    with pytest.raises(ConfigError, match=said):
        connection_sections(_args(tmp_path, text))


def test_file_references_of_a_partial_config_are_made_absolute(tmp_path: Path) -> None:
    found = connection_sections(_args(tmp_path, '[planningpme]\nbrand = "x"\napp_key_file = "keys/app"\n'))
    assert found["planningpme"] == {"brand": "x", "app_key_file": str(tmp_path.resolve() / "keys" / "app")}


def test_missing_connection_settings_are_named_by_their_options_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["init", "--out", str(out), "--planfix-account", "a", "--brand", "b"], io.StringIO())
    said = capsys.readouterr().err
    assert code == 2
    assert "planfix.api_key" in said and "--planfix-api-key-file" in said
    assert "--app-key-file" in said and "--password-file" in said
    assert not out.exists()


def test_remote_names_with_quotes_newlines_or_escapes_stay_one_toml_value() -> None:
    name = 'Eve "x"\nplanfix_marker = "customData[1]"\x1b[2J'
    planfix = PlanfixReference((Ref("1", name), Ref("2", "Bob", name)), (Ref("1", "New"),), (), ())
    pme = PlanningPmeReference((Ref("R1", name), Ref('R9\nx = "y"', "Zed")), (Ref("C1", "New"),), {})
    result = plan_onboarding(planfix, pme)
    parsed = tomllib.loads(tasks_mapping(result.people, result.statuses, result.task_markers))
    workers = next(f for f in parsed["fields"] if f["name"] == "workers")
    assert workers["params"]["labels"] == {"R1": name}
    assert "x" not in parsed
    assert parsed["planfix_marker"] == "customData[0]"
