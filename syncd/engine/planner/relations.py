"""Relations first: a record that refers to records not linked yet waits for them.

A task whose customer is not in Planfix yet cannot be written with that customer: its reference
would name nothing. Such a record (``Observed.unresolved`` not empty) is neither merged, linked
nor created; it gets a ``defer`` step and is planned again next cycle, once the pair that owns the
referred records has linked them. The merge, the first link and the creates all defer the same
way, so the step is built here once.
"""

from __future__ import annotations

from collections.abc import Iterable

from syncd.engine.planner.model import Operation


def defer(pf_key: str | None, pme_key: str | None, fields: Iterable[str]) -> Operation:
    """The step that leaves a record for a later cycle, naming the fields that wait."""
    names = ", ".join(sorted(set(fields)))
    return Operation(
        "defer",
        None,
        pf_key,
        pme_key,
        reason=f"refers to records not linked yet ({names})",
        rule="relations first",
    )
