"""The vocabulary shared by every module of the mapping layer: sides, directions, policies.

Kept apart from ``spec.py`` so that the path catalogue and the transforms can speak about sides
without importing the file models that are built on top of them.
"""

from __future__ import annotations

from typing import Literal

Side = Literal["planfix", "planningpme"]
Direction = Literal["both", "to_planningpme", "to_planfix"]
ConflictPolicy = Literal["planfix", "planningpme", "newest", "manual"]
DeletePolicy = Literal["propagate", "ignore", "archive"]

SIDES: tuple[Side, Side] = ("planfix", "planningpme")

SIDE_TITLES: dict[Side, str] = {"planfix": "Planfix", "planningpme": "PlanningPME"}


def other(side: Side) -> Side:
    return "planningpme" if side == "planfix" else "planfix"


def reads_from(direction: Direction, side: Side) -> bool:
    """Whether a field with this direction takes its value from ``side``."""
    return direction in ("both", f"to_{other(side)}")


def writes_to(direction: Direction, side: Side) -> bool:
    """Whether a field with this direction may change ``side``'s records."""
    return direction in ("both", f"to_{side}")
