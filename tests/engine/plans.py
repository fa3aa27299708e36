"""Plain data for the pure planner's tests: a stand-in content hash, observations, a plan's gist."""

from __future__ import annotations

from typing import Any

from syncd.engine.planner import Observed, Plan


def h(canonical: dict[str, Any]) -> str:
    """A content hash for tests: equal for equal values, readable in a failure."""
    return repr(sorted(canonical.items()))


def obs(side: str, key: str, canonical: dict[str, Any], **kw: Any) -> Observed:
    return Observed(side=side, key=key, canonical=canonical, hash=h(canonical), **kw)  # type: ignore[arg-type]


def kinds(p: Plan) -> list[tuple[str, str | None]]:
    """Each operation as (kind, target system)."""
    return [(op.kind, op.target) for op in p.operations]
