"""Text from remote systems, made safe to print on a terminal.

A record title is whatever someone typed into Planfix or PlanningPME (or what a hostile server sent).
Printed raw, an escape sequence in it clears the admin's screen (``ESC[2J``), retitles the window or
plants a link (OSC), moves the cursor to overwrite earlier lines, and a newline in a one-line field
forges a line of the report. So every line syncd prints that may hold remote text goes through
``printable``, and JSON meant for a terminal or a file through ``printable_json``.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, the C1 controls (0x9b is a one-byte CSI on some
# terminals), and the Unicode direction overrides that make text read differently than it is.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_UNSAFE_WITH_NEWLINE = re.compile(f"[{_CONTROLS}\n]")
# JSON already escapes every C0 control; what remains is DEL, C1 and the direction overrides.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``ESC`` becomes ``\\x1b``).

    Tabs are kept; newlines only where the output is meant to span lines (``newlines=True``).
    The escapes stay visible, so the admin sees that a value holds something odd.
    """
    return (_UNSAFE if newlines else _UNSAFE_WITH_NEWLINE).sub(_escape, text)


def printable_json(text: str) -> str:
    """JSON text whose strings hold no control character a terminal acts on; the same data.

    Outside strings JSON has only printable ASCII, so every replacement is a ``\\uXXXX`` escape
    inside a string, which any JSON reader decodes back to the original character.
    """
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
