"""A syncd config file pointing at the two emulators, with their documented demo credentials.

The demo, the tests, the soak run and the benchmarks all need one; each says only what differs
(``sections``), so the emulators' credentials and URLs are written in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.toml_text import toml_value

Sections = Mapping[str, Mapping[str, Any]]


def emulator_config(
    planfix_base_url: str, planningpme_base_url: str, sections: Sections | None = None
) -> str:
    """TOML text for syncd against the emulators at the two base URLs; ``sections`` adds keys to,
    or overrides keys of, any section (``{"schedule": {"tasks_every": "5s"}}``)."""
    merged: dict[str, dict[str, Any]] = {
        "planfix": {
            "url": f"{planfix_base_url}/xml/",
            "account": "demo",
            "api_key": "demo-key",
            "token": "demo-token",
        },
        "planningpme": {
            "url": planningpme_base_url,
            "brand": "demo",
            "app_key": "demo-appkey",
            "username": "demo",
            "password": "demo",
        },
        "state": {"path": "state.db"},
    }
    for name, keys in (sections or {}).items():
        merged.setdefault(name, {}).update(keys)
    lines = ["# syncd against the built-in emulators (their documented demo credentials)."]
    for name, keys in merged.items():
        lines.append(f"\n[{name}]")
        lines.extend(f"{key} = {toml_value(value)}" for key, value in keys.items())
    return "\n".join(lines) + "\n"
