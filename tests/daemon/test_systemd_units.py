"""The shipped unit files are valid for systemd, and sd_notify speaks the real datagram protocol."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from syncd.service.systemd import Notifier, watchdog_interval

UNITS = Path(__file__).resolve().parents[2] / "systemd"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_verify(tmp_path: Path) -> None:
    executable = Path(sys.executable).with_name("syncd")
    assert executable.exists()
    for unit in UNITS.iterdir():
        text = unit.read_text().replace("/opt/syncd/bin/syncd", str(executable))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [line for line in result.stderr.splitlines() if "syncd" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_service_unit_has_the_required_settings() -> None:
    text = (UNITS / "syncd.service").read_text()
    for needed in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "StateDirectory=syncd",
        "DynamicUser=yes",
        "LoadCredential=",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "RestrictAddressFamilies=",
    ):
        assert needed in text, needed


HARDENING_PREFIXES = (
    "DynamicUser=",
    "User=",
    "UMask=",
    "NoNewPrivileges=",
    "Protect",
    "Private",
    "Restrict",
    "LockPersonality=",
    "MemoryDenyWriteExecute=",
    "SystemCall",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "LimitNOFILE=",
)


def hardening(unit: str) -> list[str]:
    """The unit's sandboxing lines, in order (repeated keys such as SystemCallFilter= add up)."""
    lines = (line.strip() for line in (UNITS / unit).read_text().splitlines())
    return [line for line in lines if line.startswith(HARDENING_PREFIXES)]


def test_the_timer_unit_is_as_hardened_as_the_service() -> None:
    service, once = hardening("syncd.service"), hardening("syncd-once.service")

    assert once == service
    for needed in ("SystemCallErrorNumber=EPERM", "ProtectSystem=strict", "CapabilityBoundingSet="):
        assert needed in service, needed
    limit = [line for line in service if line.startswith("LimitNOFILE=")]
    assert len(limit) == 1 and 256 <= int(limit[0].split("=")[1]) <= 65536, limit


@pytest.mark.parametrize("abstract", [False, True])
def test_notifier_sends_datagrams(tmp_path: Path, abstract: bool) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"syncd-test-{id(tmp_path)}"
        sock.bind("\0" + name)
        env = {"NOTIFY_SOCKET": "@" + name}
    else:
        path = tmp_path / "notify"
        sock.bind(str(path))
        env = {"NOTIFY_SOCKET": str(path)}
    sock.settimeout(5)
    with sock:
        notifier = Notifier(env)
        assert notifier.ready("up\nnow")
        assert sock.recv(4096) == b"READY=1\nSTATUS=up now"
        assert notifier.watchdog()
        assert sock.recv(4096) == b"WATCHDOG=1"
        assert notifier.stopping()
        assert sock.recv(4096) == b"STOPPING=1"


def test_notifier_without_socket_is_a_no_op() -> None:
    assert Notifier({}).ready("x") is False


def test_watchdog_interval_is_half_the_timeout() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "120000000"}) == 60.0
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "120000000", "WATCHDOG_PID": "1"}) is None
