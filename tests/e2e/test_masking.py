"""No secret leaves the process by any output path, even when a remote or an exception puts one
into an error message: the CLI's error line, ``syncd check``, ``syncd retry``, ``syncd status``,
the systemd STATUS line, ``last_error`` in the state database, and the three report formats.

Each test plants secrets into an exception message — a server that echoes the credentials it was
sent (over real HTTP), or a connector that fails with them in its text — and reads the output.
The planted secrets include one with a newline (masked whole, and line by line once an output path
has flattened it) and a URL with ``user:pass@`` (masked whatever the config knows).
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import structlog

from state.store import Store
from syncd.cli import commands
from syncd.cli.commands import run_once
from syncd.cli.main import main
from syncd.cli.report import RENDERERS
from syncd.connectors.planningpme.connector import PlanningPmeCustomerConnector, PlanningPmeEventConnector
from syncd.errors import RecordError
from syncd.logs import configure_logging
from syncd.runtime import open_store
from syncd.service.daemon import Daemon
from syncd.service.systemd import Notifier
from syncd.settings import load_settings
from tests.daemon.conftest import NotifySocket
from tests.e2e.conftest import World

PASSWORD_LINES = ("hunter2-first-line-of-it", "hunter2-second-line-of-it")
PASSWORD = "\n".join(PASSWORD_LINES)
PUSH_TOKEN_LINES = ("push-token-first-line-0123456789", "push-token-second-line-0123456789")
PUSH_TOKEN = "\n".join(PUSH_TOKEN_LINES)
URL_PASSWORD = "url-pass-0123"
LEAKS = ("hunter2", "push-token-", "demo-appkey", URL_PASSWORD)
"""Text that must appear in no output: any part of any planted secret."""


def _toml(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string (newline as \n)


def _assert_masked(text: str) -> None:
    leaked = [part for part in LEAKS if part in text]
    assert not leaked, f"{leaked} in {text!r}"
    assert "***" in text  # the text was there, and masked


pytestmark = pytest.mark.usefixtures("fresh_logging")


class _Echo(BaseHTTPRequestHandler):
    """A PlanningPME stand-in that refuses every login and repeats in its refusal what it was sent
    (servers do), so the credentials come back inside the error syncd reports."""

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
        said = (
            f"user {form.get('username', [''])[0]} with password {form.get('password', [''])[0]} "
            f"and key {self.headers.get('X-APPKEY')} refused; see https://admin:{URL_PASSWORD}@example.com/"
        )
        body = json.dumps({"error": "invalid_grant", "error_description": said}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def echoing_config(world: World) -> Iterator[Path]:
    """The world's config, with PlanningPME at the echoing stand-in and a multi-line password."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    text = world.config_path.read_text()
    text = text.replace(world.planningpme.base_url, f"http://127.0.0.1:{server.server_address[1]}")
    text = re.sub(
        r'(\[planningpme\][^\[]*?)password = "demo"', lambda m: f"{m[1]}password = {_toml(PASSWORD)}", text
    )
    world.config_path.write_text(text)
    assert load_settings(world.config_path).planningpme.password.get_secret_value() == PASSWORD  # type: ignore[union-attr]
    yield world.config_path
    server.shutdown()
    server.server_close()


def test_the_cli_error_line(echoing_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--once", "--config", str(echoing_config)], out=io.StringIO()) == 3
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if line.startswith("syncd: error:"))
    assert "credentials were refused" in line
    _assert_masked(err)


def test_check(echoing_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert main(["check", "--config", str(echoing_config)], out=out) == 3
    assert "ok      planfix credentials and data centre: " in out.getvalue()
    assert "credentials were refused" in out.getvalue()
    _assert_masked(out.getvalue())
    assert not any(part in capsys.readouterr().err for part in LEAKS)


def test_the_systemd_status_line(echoing_config: Path) -> None:
    settings = load_settings(echoing_config)
    configure_logging(secrets=settings.secret_values(), json=True, stream=io.StringIO())
    with tempfile.TemporaryDirectory(prefix="sd-") as tmp, open_store(settings.state.path) as store:
        systemd = NotifySocket(Path(tmp) / "notify")
        try:
            daemon = Daemon(settings, echoing_config.parent, echoing_config, store, Notifier(systemd.env))
            assert daemon.serve(tick_s=0.05) == 3  # the stand-in refuses the login: a fatal start
            status = systemd.wait_for("STATUS=")
        finally:
            systemd.close()
    assert status.startswith("STATUS=stopped:") and "credentials were refused" in status
    _assert_masked(status)


def _fail_with_secrets(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise RecordError(
        f"refused with {PUSH_TOKEN} (flattened: {PUSH_TOKEN.replace(chr(10), ' ')}), key demo-appkey, "
        f"at https://admin:{URL_PASSWORD}@example.com/",
        system="planningpme",
        code="400",
    )


def test_last_error_and_every_report_format(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.config_path.write_text(world.config_path.read_text() + f"\n[push]\ntoken = {_toml(PUSH_TOKEN)}\n")
    world.pf("POST", "seed", {"tasks": 3, "contacts": 3, "seed": 1})
    for connector in (PlanningPmeEventConnector, PlanningPmeCustomerConnector):
        monkeypatch.setattr(connector, "create", _fail_with_secrets)
    settings = world.settings
    configure_logging(secrets=settings.secret_values(), json=True, stream=io.StringIO())

    results = run_once(settings, world.config_path.parent)

    assert sum(r.failed for r in results) >= 3
    with Store.open(settings.state.path, readonly=True) as store:
        stored = [f.last_error for f in store.failures()]
    assert stored and all("refused with ***" in error for error in stored)
    _assert_masked("\n".join(stored))
    for name, render in RENDERERS.items():
        report = render(results)
        assert "refused with ***" in report, name
        _assert_masked(report)


def test_retry_and_status_mask_rows_written_before_masking(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state database from an older version may hold an unmasked ``last_error``."""
    world.config_path.write_text(world.config_path.read_text() + f"\n[push]\ntoken = {_toml(PUSH_TOKEN)}\n")
    world.sync()
    with Store.open(world.settings.state.path) as store:
        store.record_failure(
            "tasks",
            "planningpme",
            "7",
            "create",
            f"refused with {PUSH_TOKEN} via https://admin:{URL_PASSWORD}@example.com/",
            datetime.now(UTC),
            max_attempts=1,
            backoff_base_s=60,
            backoff_cap_s=600,
        )
    outputs = []
    for argv in (["status"], ["status", "--json"], ["retry", "7"]):
        out = io.StringIO()
        assert main([*argv, "--config", str(world.config_path)], out=out) == 0
        outputs.append(out.getvalue())
    assert "will be retried (refused with ***" in outputs[2]
    for text in outputs:
        _assert_masked(text)
    assert not any(part in capsys.readouterr().err for part in LEAKS)


def test_a_reload_refreshes_the_values_to_mask(world: World) -> None:
    out = io.StringIO()
    configure_logging(secrets=world.settings.secret_values(), json=True, stream=out)
    with open_store(world.settings.state.path) as store:
        daemon = Daemon(world.settings, world.config_path.parent, world.config_path, store, Notifier({}))
        try:
            world.config_path.write_text(
                world.config_path.read_text() + f"\n[push]\ntoken = {_toml(PUSH_TOKEN)}\n"
            )
            assert daemon.reload()  # SIGHUP's work
            structlog.get_logger("t").error("cycle.failed", error=f"remote said {PUSH_TOKEN}")
        finally:
            daemon.close()
    logged = out.getvalue()
    assert "remote said ***" in logged
    assert not any(part in logged for part in PUSH_TOKEN_LINES)


def test_a_bug_prints_its_traceback_masked(
    echoing_config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception syncd does not expect is a bug: its traceback is shown (someone must fix it),
    but a secret in its message or its frames is masked like in any other output."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"a bug that quotes {PASSWORD_LINES[0]} and {PASSWORD}")

    monkeypatch.setattr(commands, "build_remotes", broken)
    assert main(["run", "--once", "--config", str(echoing_config)], out=io.StringIO()) == 70
    err = capsys.readouterr().err
    assert err.startswith("syncd: internal error (please report it):")
    assert "Traceback (most recent call last)" in err and "RuntimeError: a bug that quotes" in err
    _assert_masked(err)
