"""``syncd emulate planningpme`` as an admin would run it: a separate process, queried over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from syncd.cli.main import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def emulator_process() -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncd", "emulate", "planningpme", "--port", str(port), "--seed", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    banner: list[str] = []
    try:
        assert proc.stdout is not None
        while not any("control API" in line for line in banner):
            line = proc.stdout.readline()
            if not line:
                pytest.fail(
                    f"the emulator exited early: {proc.wait(5)} {proc.stderr.read() if proc.stderr else ''}"
                )
            banner.append(line)
        yield proc, f"http://127.0.0.1:{port}", banner
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_emulate_planningpme_serves_until_terminated(
    emulator_process: tuple[subprocess.Popen[str], str, list[str]],
) -> None:
    proc, url, banner = emulator_process
    text = "".join(banner)
    assert f"{url}/demo/" in text and "demo-appkey" in text and "'demo'" in text
    with httpx.Client(base_url=url, timeout=10) as http:
        token = http.post(
            "/demo/token",
            data={"grant_type": "password", "username": "demo", "password": "demo"},
            headers={"X-APPKEY": "demo-appkey"},
        ).json()["access_token"]
        headers = {"X-APPKEY": "demo-appkey", "Authorization": f"Bearer {token}"}
        customers = http.get("/demo/api/customer", params={"pageSize": 2}, headers=headers).json()
        assert customers["totalItems"] == 5 and len(customers["items"]) == 2
        assert len(http.get("/_emulator/records/events").json()) == 5
    proc.terminate()
    assert proc.wait(timeout=10) in (0, -15)


def test_bad_options_are_a_message_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emulate", "planningpme", "--port", "0", "--timezone", "Mars/Olympus"]) == 2
    assert "Mars/Olympus" in capsys.readouterr().err
