"""Remote text printed to a terminal: escape sequences are shown, never acted on."""

from __future__ import annotations

import json

import pytest

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
