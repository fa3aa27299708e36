"""``syncd init`` against both emulators over HTTP: the files it writes pass ``syncd check`` and
sync with no manual edit; what it could not pair is listed; it never overwrites; no secret is written."""

from __future__ import annotations

import contextlib
import io
import tomllib
from pathlib import Path

from syncd.cli.commands import run_once
from syncd.cli.main import main
from syncd.runtime import open_store
from syncd.settings import load_settings
from tests.e2e.conftest import World

SECRETS = {"pf_key": "demo-key", "pf_token": "demo-token", "pme_key": "demo-appkey", "pme_password": "demo"}


def _secret_files(directory: Path) -> dict[str, Path]:
    directory.mkdir()
    paths = {}
    for name, value in SECRETS.items():
        path = directory / name
        path.write_text(value + "\n")
        paths[name] = path
    return paths


def _options(world: World, secrets: dict[str, Path], out: Path) -> list[str]:
    return [
        "init",
        "--out", str(out),
        "--planfix-url", f"{world.planfix.base_url}/xml/",
        "--planfix-account", "demo",
        "--planfix-api-key-file", str(secrets["pf_key"]),
        "--planfix-token-file", str(secrets["pf_token"]),
        "--planningpme-url", world.planningpme.base_url,
        "--brand", "demo",
        "--app-key-file", str(secrets["pme_key"]),
        "--username", "demo",
        "--password-file", str(secrets["pme_password"]),
    ]  # fmt: skip


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, out)
    return code, out.getvalue()


def test_init_writes_a_config_that_checks_and_syncs_then_refuses_to_overwrite(
    world: World, tmp_path: Path
) -> None:
    world.pf("POST", "seed", {"tasks": 6, "contacts": 4, "seed": 3})
    world.pme("POST", "seed", {"events": 4, "customers": 3, "seed": 4})
    secrets = _secret_files(tmp_path / "secrets")
    out = tmp_path / "onboard"
    # A partial config gives the rate and one secret file (relative to it); the options the rest.
    partial = tmp_path / "secrets" / "partial.toml"
    partial.write_text('[planfix]\nrequests_per_second = 50\ntoken_file = "pf_token"\n')
    options = [o for o in _options(world, secrets, out) if o != "--planfix-token-file"]
    options.remove(str(secrets["pf_token"]))
    code, said = _run([*options, "--config", str(partial)])
    assert code == 0, said
    config = out / "syncd.toml"
    text = config.read_text()
    for written in out.iterdir():  # "demo" is also the account and user name: the keys say it
        assert not {"demo-key", "demo-token", "demo-appkey"} & set(
            written.read_text().replace('"', " ").split()
        )
    raw = tomllib.loads(text)
    assert raw["planfix"]["api_key_file"] == str(secrets["pf_key"])
    assert "api_key" not in raw["planfix"] and "password" not in raw["planningpme"]
    # Pairs: users 1, 2, 5 by e-mail, 3, 4 by name; user 6 and resource R6 are listed for a person.
    tasks = tomllib.loads((out / "tasks.toml").read_text())
    workers = next(f for f in tasks["fields"] if f["name"] == "workers")
    assert workers["params"]["table"] == {"1": "R1", "2": "R2", "3": "R3", "4": "R4", "5": "R5"}
    status = next(f for f in tasks["fields"] if f["name"] == "status")
    assert status["params"]["map"] == {"1": "C1", "2": "C2", "3": "C3", "4": "C4", "5": "C5"}
    assert tasks["planfix_marker"] == "customData[101]" and tasks["planningpme_marker"] == "fields.PLANFIX_ID"
    assert tasks["planfix_archive"] == {"status": "4"}
    contacts = tomllib.loads((out / "contacts.toml").read_text())
    assert contacts["planfix_marker"] == "customData[201]"
    mapping_text = (out / "tasks.toml").read_text()
    assert "Planfix users not paired: 6 'Пётр Сидоров' <'p.sidorov@example.ru'>" in mapping_text
    assert "PlanningPME resources not paired: R6 'Carlos Ruiz'" in mapping_text
    assert "not paired: Planfix user 6 Пётр Сидоров" in said
    assert "not paired: PlanningPME resource R6 Carlos Ruiz" in said

    code, checked = _run(["check", "--config", str(config)])
    assert code == 0, checked

    settings = load_settings(config)
    results = run_once(settings, out)
    assert [r.failed for r in results] == [0, 0]
    with open_store(settings.state.path, readonly=True) as store:
        assert len(store.links("tasks")) == len(world.records("events")) >= 4
        assert len(store.links("contacts")) == len(world.records("customers")) >= 3

    written = ("syncd.toml", "tasks.toml", "contacts.toml")
    before = {name: (out / name).read_bytes() for name in written}
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(_options(world, secrets, out), io.StringIO())
    assert code == 2
    assert f"{out / 'syncd.toml'} already exists: syncd init does not overwrite files" in err.getvalue()
    assert {name: (out / name).read_bytes() for name in written} == before
