"""Remote text printed to a terminal: escape sequences are shown, never acted on."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from syncd.cli.report import render_json, render_text
from syncd.connectors.base import Listing
from syncd.engine.cycle import CycleResult
from syncd.engine.planner import FieldChange, Operation, Plan
from syncd.terminal import printable, printable_json

CLEAR_AND_RETITLE = "Boiler\x1b[2J\x1b[H\x1b]0;owned\x07 check\x9b31m"


def test_escape_sequences_become_visible_text() -> None:
    shown = printable(CLEAR_AND_RETITLE)

    assert shown == "Boiler\\x1b[2J\\x1b[H\\x1b]0;owned\\x07 check\\x9b31m"
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("line one\nline two", "line one\\x0aline two"),  # a forged report line stays on its own line
        ("a\rb", "a\\x0db"),  # a carriage return would overwrite what came before
        ("tab\tkept", "tab\tkept"),
        ("invoice\u202egnp.exe", "invoice\\u202egnp.exe"),  # right-to-left override
        ("Проверка котла — срочно ✓", "Проверка котла — срочно ✓"),  # ordinary text is left alone
        ("", ""),
    ],
)
def test_one_line_text(text: str, expected: str) -> None:
    assert printable(text) == expected


def test_multi_line_text_keeps_its_newlines_only() -> None:
    assert printable("error:\n  key\x1b[31m: bad", newlines=True) == "error:\n  key\\x1b[31m: bad"


def test_json_keeps_the_same_data_without_raw_controls() -> None:
    data = {"title": CLEAR_AND_RETITLE + "\x7f\u2066", "name": "Zoë"}
    raw = json.dumps(data, ensure_ascii=False)

    safe = printable_json(raw)

    assert json.loads(safe) == data
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u2066" for c in safe)
    assert "Zoë" in safe  # readable text stays readable


def test_the_text_report_shows_remote_text_escaped_line_by_line() -> None:
    """The report layer on its own (the mapping cleans titles too; keys, reasons and errors it does not)."""
    op = Operation(
        kind="create",
        target="planfix",
        planfix_key=None,
        planningpme_key="7\x1b]8;;http://evil/\x07",
        reason="new record\n  update on planfix: forged line",
        rule="created",
        changes=(FieldChange("title", None, CLEAR_AND_RETITLE),),
    )
    empty = Listing(records=(), complete=True, full_scan=False)
    result = CycleResult(
        "tasks",
        datetime(2026, 12, 1, tzinfo=UTC),
        Plan("tasks", (op,)),
        True,
        {"planfix": empty, "planningpme": empty},
    )

    text = render_text([result])

    assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)
    assert "title: — → Boiler\\x1b[2J\\x1b[H\\x1b]0;owned\\x07 check\\x9b31m" in text
    assert "planningpme 7\\x1b]8;;http://evil/\\x07" in text
    assert "reason: new record\\x0a  update on planfix: forged line" in text
    assert (
        json.loads(render_json([result]))["pairs"][0]["operations"][0]["fields"][0]["new"]
        == CLEAR_AND_RETITLE
    )
