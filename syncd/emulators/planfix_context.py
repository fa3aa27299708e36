"""What every emulated Planfix method gets: the account's store, the local time and the reply style."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from syncd.emulators.planfix_model import PlanfixStore
from syncd.emulators.planfix_params import ApiError
from syncd.emulators.planfix_render import ReplyStyle

Element = etree._Element


@dataclass
class MethodContext:
    store: PlanfixStore
    now: datetime
    """Naive local time in the emulator's zone."""
    style: ReplyStyle
    update_resets: bool = True
    """False only in the explicit lenient mode (``--no-update-resets``)."""


Handler = Callable[[MethodContext, Element], list[Element]]


def part(req: Element, tag: str) -> Element:
    """A required element of the request, or the 0009 error the real service gives without it."""
    el = req.find(tag)
    if el is None:
        raise ApiError("0009", f"required parameter {tag} is missing")
    return el
