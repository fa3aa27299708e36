"""Report files are their owner's only and never written through a link; root does not write to
the service user's state directory."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import threading
from pathlib import Path

import pytest
import structlog

from syncd.cli.main import main
from syncd.cli.report import write_report
from syncd.emulators.config import emulator_config
from syncd.errors import ConfigError
from tests.conftest import mode

OTHER_UID = 65534  # nobody


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_a_new_report_is_private(tmp_path: Path, open_umask: None) -> None:
    target = tmp_path / "report.html"

    write_report(target, "<p>Zoë Müller, zoe@example.com</p>")

    assert target.read_text(encoding="utf-8") == "<p>Zoë Müller, zoe@example.com</p>"
    assert mode(target) == 0o600
    assert leftovers(tmp_path) == []


def test_an_existing_readable_report_is_replaced_by_a_private_one(tmp_path: Path, open_umask: None) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o644)

    write_report(target, "new")

    assert target.read_text() == "new"
    assert mode(target) == 0o600


def test_a_link_at_the_report_path_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim.conf"
    victim.write_text("precious")
    victim.chmod(0o644)
    link = tmp_path / "report.html"
    link.symlink_to(victim)

    with pytest.raises(ConfigError, match=r"--output .*report\.html: is a symbolic link"):
        write_report(link, "<p>report</p>")

    assert victim.read_text() == "precious" and mode(victim) == 0o644
    assert link.is_symlink()
    assert leftovers(tmp_path) == []


def test_a_named_pipe_at_the_report_path_is_refused_without_blocking(tmp_path: Path) -> None:
    pipe = tmp_path / "report.txt"
    os.mkfifo(pipe)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            write_report(pipe, "text")
        except ConfigError as exc:
            errors.append(exc)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join(timeout=30)

    assert errors and "is not a regular file" in str(errors[0])
    assert stat.S_ISFIFO(pipe.lstat().st_mode)


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--output .*nowhere.*cannot write the report"):
        write_report(tmp_path / "nowhere" / "report.html", "x")


# --- root and the service user's state directory -------------------------------------------------


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    logging_before = structlog.get_config()
    try:
        with contextlib.redirect_stderr(err):
            code = main(list(args), out=out)
    finally:
        structlog.configure(**logging_before)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def service_state(tmp_path: Path) -> Path:
    """A config whose state directory belongs to another user (the service's), like /var/lib/syncd."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the refusal is of root (CI runs as root)")
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    os.chown(state_dir, OTHER_UID, OTHER_UID)
    config = tmp_path / "syncd.toml"
    text = emulator_config(
        "http://127.0.0.1:9", "http://127.0.0.1:9", {"state": {"path": str(state_dir / "s.db")}}
    )
    config.write_text(text)
    return config


@pytest.mark.parametrize("command", [["retry"], ["run", "--once"], ["run"]])
def test_root_is_refused_a_writer_command_on_the_service_users_state(
    service_state: Path, command: list[str]
) -> None:
    code, _, err = run_cli(*command, "--config", str(service_state))

    assert code == 2
    assert f"syncd {command[0]} writes to the state database, and runs as root" in err
    assert "belongs to nobody (uid 65534)" in err
    assert f"sudo -u nobody syncd {command[0]} --config {service_state}" in err
    assert f"runuser -u nobody -- syncd {command[0]}" in err
    assert list((service_state.parent / "state").iterdir()) == []  # nothing created as root


def test_root_may_still_read_the_service_users_state(service_state: Path) -> None:
    code, out, err = run_cli("status", "--config", str(service_state))

    assert code == 0, err
    assert "no state database yet" in out


def test_root_on_its_own_state_directory_is_not_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    config = tmp_path / "syncd.toml"
    config.write_text(emulator_config("http://127.0.0.1:9", "http://127.0.0.1:9"))

    code, out, err = run_cli("retry", "--config", str(config))

    assert code == 0, err
    assert "nothing to retry" in out


def test_the_cli_error_line_shows_control_characters_escaped(tmp_path: Path) -> None:
    hostile = tmp_path / "conf\x1b[2J\x1b]0;owned\x07.toml"

    code, _, err = run_cli("status", "--config", str(hostile))

    assert code == 2
    assert "conf\\x1b[2J\\x1b]0;owned\\x07.toml" in err
    assert "\x1b" not in err and "\x07" not in err
