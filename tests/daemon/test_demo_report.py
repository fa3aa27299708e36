"""`syncd demo` keeps its report in a private directory of its own, never at a fixed name in the
shared temp directory, where another user could have planted a link or could read the report."""

from __future__ import annotations

import contextlib
import io
import re
import stat
import tempfile
from pathlib import Path

import pytest
import structlog

from syncd.cli.demo import run_demo


def test_the_demo_report_is_private_and_no_planted_link_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the "shared" temp directory of this test
    victim = tmp_path / "victim.conf"
    victim.write_text("precious")
    victim.chmod(0o644)
    planted = tmp_path / "syncd-demo-report.html"  # where older versions always wrote
    planted.symlink_to(victim)
    out = io.StringIO()
    logging_before = structlog.get_config()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            code = run_demo(out, seconds=2.0)
    finally:
        structlog.configure(**logging_before)

    assert code == 0, out.getvalue()
    found = re.search(r"HTML report of the cycles that changed something: (\S+)", out.getvalue())
    assert found, out.getvalue()
    report = Path(found.group(1))
    assert report.parent.parent == tmp_path and report.parent.name.startswith("syncd-demo-report-")
    assert stat.S_IMODE(report.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert victim.read_text() == "precious" and stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert planted.is_symlink()
