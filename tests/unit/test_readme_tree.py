"""The README's Architecture tree names every source file there is, and no file that is gone.

A newcomer finds a room by that tree; a tree that has drifted from the code sends them to the wrong
one. Lines of the tree hold names (``planner/``, ``cycle.py scan.py``) then, after two spaces, a
description; a line whose first words are not all names is a description's continuation.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TREES = ("syncd", "mappings", "state")


def architecture_block(readme: str) -> list[str]:
    section = readme.split("\n## Architecture\n", 1)[1]
    block = re.search(r"```\n(.*?)\n```", section, re.S)
    assert block, "README: the Architecture section has no tree"
    return block.group(1).splitlines()


def listed_files(lines: list[str]) -> set[str]:
    """Paths the tree names: directories by their nesting, files by the directory above them."""
    stack: list[tuple[int, str]] = []
    files: set[str] = set()
    for line in lines:
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        names = re.split(r" {2,}", stripped, maxsplit=1)[0].split(" ")
        if not stripped or not all(n.endswith((".py", "/")) for n in names):
            continue  # a description carried over from the line above
        while stack and stack[-1][0] >= indent:
            stack.pop()
        directory = "".join(name for _, name in stack)
        for name in names:
            if name.endswith("/"):
                assert len(names) == 1, f"README tree: a directory shares its line: {line!r}"
                stack.append((indent, name))
            else:
                files.add(directory + name)
    return files


def source_files() -> set[str]:
    found: set[str] = set()
    for tree in TREES:
        for path in (ROOT / tree).rglob("*.py"):
            found.add(str(path.relative_to(ROOT)))
    return found


def test_the_readme_tree_matches_the_source_files() -> None:
    tree = architecture_block((ROOT / "README.md").read_text(encoding="utf-8"))
    listed = {p for p in listed_files(tree) if p.endswith(".py")}
    actual = source_files()
    assert sorted(actual - listed) == [], "missing from the README's tree"
    assert sorted(listed - actual) == [], "named in the README's tree, gone from the code"


def test_the_tree_reader_nests_directories_and_skips_descriptions() -> None:
    lines = [
        "syncd/                 the daemon",
        "  cli.py commands.py   parsing",
        "                       more words about cli.py",
        "  engine/              the engine",
        "    planner.py         pure",
        "  runtime.py           wiring",
        "state/                 the state",
        "  store.py             sessions",
    ]
    assert listed_files(lines) == {
        "syncd/cli.py",
        "syncd/commands.py",
        "syncd/engine/planner.py",
        "syncd/runtime.py",
        "state/store.py",
    }
