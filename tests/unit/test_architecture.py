"""The dependency rules of design.md, checked on the source so they cannot rot silently."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

IO_MODULES = {
    "httpx",
    "lxml",
    "sqlmodel",
    "sqlalchemy",
    "sqlite3",
    "socket",
    "starlette",
    "uvicorn",
    "subprocess",
    "requests",
    "urllib",
    "http",
    "apscheduler",
    "structlog",
    "os",
    "pathlib",
    "time",
    "state.store",
    "state.db",
    "syncd.connectors.planfix",
    "syncd.connectors.planningpme",
    "syncd.engine.applier",
    "syncd.engine.cycle",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _matches(module: str, banned: str) -> bool:
    return module == banned or module.startswith(banned + ".")


@pytest.mark.parametrize("package", ["mappings", "state"])
def test_mappings_and_state_never_import_syncd(package: str) -> None:
    files = python_files(package)
    assert files, f"{package}/ has no Python files"
    offenders = {
        str(f.relative_to(ROOT)): sorted(m for m in imported_modules(f) if _matches(m, "syncd"))
        for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_planner_is_pure() -> None:
    planner = ROOT / "syncd" / "planner.py"
    if not planner.exists():
        pytest.skip("syncd/engine/planner.py is not written yet")
    bad = sorted(m for m in imported_modules(planner) if any(_matches(m, b) for b in IO_MODULES))
    assert bad == [], f"planner.py imports I/O modules: {bad}"


@pytest.mark.parametrize(("connector", "other"), [("planfix", "planningpme"), ("planningpme", "planfix")])
def test_connectors_do_not_import_each_other(connector: str, other: str) -> None:
    for f in python_files(f"syncd/connectors/{connector}"):
        assert not any(_matches(m, f"syncd.connectors.{other}") for m in imported_modules(f)), f


def test_the_rule_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("import httpx\nfrom syncd.errors import SyncdError\nfrom . import y\n")
    assert {"httpx", "syncd.errors", "syncd.errors.SyncdError"} <= imported_modules(sample)
