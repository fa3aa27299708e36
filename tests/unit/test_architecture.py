"""The layering the README's Architecture section draws, checked on the source so it cannot rot.

From the bottom up: ``syncd.errors``; ``mappings`` and ``state``; the connectors (and, apart, the
emulators, which stand for the remote systems and share none of the client's code); the engine
(with its pure planner); ``syncd.runtime``, which wires them together; the push endpoint; the
service; the command line. A module may import its own layer and the ones below, never one above;
and no chain of imports leads back to where it started.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("syncd", "mappings", "state")

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
    "threading",
    "asyncio",
}

SHARED_TOP = (
    "syncd.errors",
    "syncd.settings",
    "syncd.logs",
    "syncd.ratelimit",
    "syncd.terminal",
    "syncd.toml_text",
    "syncd.httpserver",
)
ABOVE_ENGINE = ("syncd.runtime", "syncd.push", "syncd.service", "syncd.cli")

# (who, what it must not import, why)
FORBIDDEN: list[tuple[str, tuple[str, ...], str]] = [
    ("mappings", ("syncd", "state"), "mappings import nothing from syncd but syncd.errors"),
    ("state", ("syncd", "mappings"), "state imports nothing from syncd but syncd.errors"),
    ("syncd.errors", ("syncd", "mappings", "state"), "the exception tree is the bottom layer"),
    (
        "syncd.connectors",
        ("syncd.engine", "state", "syncd.emulators", *ABOVE_ENGINE),
        "connectors know their remote system, not the engine or the state",
    ),
    (
        "syncd.emulators",
        ("syncd.connectors", "syncd.engine", "state", "mappings", *ABOVE_ENGINE),
        "an emulator stands for the remote system: it shares none of the client's code",
    ),
    ("syncd.engine", ("syncd.emulators", *ABOVE_ENGINE), "the engine is driven, it never drives"),
    ("syncd.runtime", ("syncd.emulators", "syncd.push", "syncd.service", "syncd.cli"), "wiring only"),
    (
        "syncd.push",
        ("syncd.engine", "syncd.emulators", "syncd.runtime", "syncd.service", "syncd.cli"),
        "the endpoint only queues what was pushed; the service runs the cycles",
    ),
    ("syncd.service", ("syncd.emulators", "syncd.cli"), "the command line starts the service"),
    *[
        (module, ("syncd.engine", "syncd.emulators", *ABOVE_ENGINE), "shared by every layer above")
        for module in SHARED_TOP
        if module != "syncd.errors"
    ],
]

ALLOWED_EXCEPTIONS = {
    ("mappings", "syncd.errors"),
    ("state", "syncd.errors"),
    ("syncd.connectors", "syncd.settings"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source_files() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(path: Path, name: str | None = None) -> set[str]:
    """Every module ``path`` (module ``name``) imports: top level, inside functions, under
    TYPE_CHECKING, absolute and relative, ``from package import submodule`` read as the submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    here = (name or _module_name(path)).split(".")
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                if _is_module(candidate):
                    found.add(candidate)
    return found


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@functools.cache
def _graph() -> dict[str, set[str]]:
    ours = {_module_name(p) for p in _source_files()}
    return {
        _module_name(p): {m for m in imported_modules(p) if m in ours} - {_module_name(p)}
        for p in _source_files()
    }


@pytest.mark.parametrize(("who", "banned", "why"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_no_layer_imports_one_above_it(who: str, banned: tuple[str, ...], why: str) -> None:
    graph = _graph()
    members = [m for m in graph if _within(m, who)]
    assert members, f"{who} has no modules: the rule is stale"
    offenders = {
        module: sorted(
            target
            for target in imports
            if any(_within(target, b) for b in banned)
            and not any(_within(who, w) and _within(target, t) for w, t in ALLOWED_EXCEPTIONS)
        )
        for module, imports in graph.items()
        if _within(module, who)
    }
    assert {m: bad for m, bad in offenders.items() if bad} == {}, why


def test_only_the_command_line_imports_the_emulators() -> None:
    graph = _graph()
    users = {
        module
        for module, imports in graph.items()
        if not _within(module, "syncd.emulators") and any(_within(t, "syncd.emulators") for t in imports)
    }
    assert all(_within(u, "syncd.cli") for u in users), sorted(users)


def test_the_planner_is_pure() -> None:
    """The planner decides from what it is given: no I/O, no clock, nothing of syncd but errors."""
    files = [p for p in _source_files() if _within(_module_name(p), "syncd.engine.planner")]
    assert files, "the planner moved: update this test"
    bad = {
        _module_name(f): sorted(
            m
            for m in imported_modules(f)
            if any(_within(m, io) for io in IO_MODULES)
            or (
                any(_within(m, p) for p in PACKAGES)
                and not _within(m, "syncd.engine.planner")
                and m not in {"syncd.errors", "syncd", "syncd.engine"}
                and not _within(m, "mappings.sides")
            )
        )
        for f in files
    }
    assert {m: b for m, b in bad.items() if b} == {}


@pytest.mark.parametrize(("connector", "other"), [("planfix", "planningpme"), ("planningpme", "planfix")])
def test_connectors_do_not_import_each_other(connector: str, other: str) -> None:
    graph = _graph()
    offenders = {
        m: sorted(t for t in imports if _within(t, f"syncd.connectors.{other}"))
        for m, imports in graph.items()
        if _within(m, f"syncd.connectors.{connector}")
    }
    assert {m: b for m, b in offenders.items() if b} == {}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    """Counting every import, even one inside a function or under TYPE_CHECKING: a circle hidden
    that way is still two modules that cannot be understood one without the other."""
    assert _cycles(_graph()) == []


def test_only_the_store_opens_a_session() -> None:
    opens = re.compile(r"\bSession\(|sessionmaker\(")
    offenders = [
        str(p.relative_to(ROOT))
        for p in _source_files()
        if opens.search(p.read_text(encoding="utf-8")) and not _within(_module_name(p), "state.store")
    ]
    assert offenders == []


# ------------------------------------------------------------------------------ the checker itself


def test_the_checker_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text(
        "import httpx\nfrom syncd.errors import SyncdError\n"
        "def f():\n    from syncd.engine import cycle\n"
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from state.store import Store\n"
    )
    found = imported_modules(sample, "syncd.x")
    assert {"httpx", "syncd.errors", "syncd.engine", "state.store"} <= found
    assert "syncd.engine.cycle" in found


def test_relative_imports_resolve_against_the_package(tmp_path: Path) -> None:
    sample = tmp_path / "probe.py"
    sample.write_text("from . import cycle\nfrom .planner import Side\nfrom .. import errors\n")
    found = imported_modules(sample, "syncd.engine.probe")
    assert {"syncd.engine.cycle", "syncd.engine.planner", "syncd.errors"} <= found


def test_the_circle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
