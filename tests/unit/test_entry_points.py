"""The ways in stay where admins and unit files expect them, whatever the layout inside."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_console_script_names_a_callable() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert "syncd" in scripts
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), name


def test_python_dash_m_syncd_is_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncd", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    for command in ("run", "status", "check", "init", "demo"):
        assert command in done.stdout
