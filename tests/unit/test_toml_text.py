"""Hand-written TOML values read back as what was written, whatever the text holds."""

from __future__ import annotations

import tomllib

from hypothesis import given
from hypothesis import strategies as st

from syncd.toml_text import toml_value


@given(st.text())
def test_any_text_is_one_toml_string(text: str) -> None:
    assert tomllib.loads(f"value = {toml_value(text)}\n")["value"] == text


def test_lists_numbers_and_booleans() -> None:
    written = toml_value(["a\nb", 1, 2.5, True])
    assert tomllib.loads(f"value = {written}\n")["value"] == ["a\nb", 1, 2.5, True]
