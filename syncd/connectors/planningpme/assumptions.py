"""Every fact about PlanningPME that syncd assumes rather than knows, with today's values.

The vendor publishes transport, token, paging, sorting, dates, ``/api/config``, ``/api/task`` and
``/api/customer`` only (seed 002). The planned-event resource (``/api/do``, ``/api/do/list`` and its
body), the history endpoint and its entries are this project's best reading. Each such fact is a
``[planningpme]`` key of ``syncd.toml`` whose default lives here, so a real account that differs
is fixed in configuration, not in code; the checks below give errors that name the key.

This module imports nothing from syncd: ``syncd.settings`` takes its defaults from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Literal

EVENTS_PATH: Final = "api/do"
"""Planned events: ``GET/PUT/DELETE {path}/{key}``, ``POST {path}`` (assumed)."""
EVENT_LIST_PATH: Final = "api/do/list"
"""``POST`` with a JSON filter (``EVENT_LIST_BODY``), paged like other lists (assumed)."""
CUSTOMERS_PATH: Final = "api/customer"
"""Customers (``POST`` is published; the rest of the resource is assumed)."""
HISTORY_PATH: Final = "api/history"
"""``GET ?since=`` → entries of changes (assumed); an empty path means the account has none."""
CONFIG_PATH: Final = "api/config"
"""The enumerations (published)."""
API_DESCRIPTION_PATH: Final = "swagger/docs/v1"
"""The machine-readable description behind the account's interactive documentation
(``/{brand}/doc/index``): Swashbuckle's default place (assumed); empty = do not look for one."""

DATE_FROM: Final = "{date_from}"
DATE_TO: Final = "{date_to}"
PLACEHOLDERS: Final = (DATE_FROM, DATE_TO)
EVENT_LIST_BODY: Final[Mapping[str, Any]] = MappingProxyType({"dateFrom": DATE_FROM, "dateTo": DATE_TO})
"""The body of the event list: values equal to a placeholder get the scan window's first and last
moment (in ``date_format``); a find-everything read (``find_by_marker``) leaves those keys out."""

EVENT_DATE_FIELDS: Final = ("start", "end")
"""Event properties holding date-times: read zoned or naive, written in ``date_format``."""

DateFormat = Literal["offset", "utc", "local"]
DATE_FORMAT: Final[DateFormat] = "offset"
"""The seed's one example of the format "expected in every JSON request" carries a zone."""

HistoryTarget = Literal["event", "customer", "ignore"]
HISTORY_TYPES: Final[Mapping[str, HistoryTarget]] = MappingProxyType(
    {
        # today's shape: {"entity": "do" | "customer", "op": ...}
        "do": "event",
        "customer": "customer",
        # the HistoryType enum of /api/config: {"type": "Assignment", "op": ...}
        "Assignment": "event",
        "Unavailability": "event",
        "Customer": "customer",
        "Task": "ignore",
        "Project": "ignore",
        "Resource": "ignore",
        "SessionDesktop": "ignore",
        "SessionMobile": "ignore",
        "SessionWebAccess": "ignore",
    }
)
"""What a history entry's ``entity`` (or ``type``) names; a value not listed is not understood."""

HistoryEffect = Literal["changed", "deleted", "ignore"]
HISTORY_OPS: Final[Mapping[str, HistoryEffect]] = MappingProxyType(
    {
        "Insert": "changed",
        "Update": "changed",
        "Delete": "deleted",
        "Email": "ignore",
        "Invitation": "ignore",
        "Session": "ignore",
    }
)
"""What a history entry's ``op`` means; ``Unperiodize`` (and anything new) is not understood."""

ENUM_FIELDS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {"customer": MappingProxyType({"type": "CustomerType", "title": "Title"})}
)
"""Record properties that hold an enum: a number there is read as the enum's name."""

FALLBACK_ENUMS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "CustomerType": ("Individual", "Company"),
        "Title": ("Miss", "Mr", "Ms"),
        "HistoryOp": ("Insert", "Delete", "Email", "Invitation", "Unperiodize", "Session", "Update"),
        "HistoryType": (
            "Assignment",
            "Customer",
            "SessionDesktop",
            "Unavailability",
            "SessionMobile",
            "Project",
            "Resource",
            "Task",
            "SessionWebAccess",
        ),
    }
)
"""Numbers of enums when ``/api/config`` does not give them: the position in the seed's list (the
order .NET numbers an enum declared in that order). Used only when the account's config fails."""


def check_path(value: str, *, allow_empty: bool = False) -> str:
    """A path under ``/{brand}/``: ``api/do``, no leading or trailing ``/``, no query."""
    path = value.strip().strip("/")
    if not path:
        if allow_empty:
            return ""
        raise ValueError("must not be empty (a path under /{brand}/, e.g. 'api/do')")
    if any(c in path for c in "?#{} ") or "//" in path:
        raise ValueError(
            f"{value!r} is not a plain path under /{{brand}}/ (e.g. 'api/do'; no '?', '#', spaces)"
        )
    return path


def _check_body_value(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        for name, item in value.items():
            _check_body_value(item, f"{where}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_body_value(item, f"{where}[{i}]")
    elif isinstance(value, str) and "{" in value and value not in PLACEHOLDERS:
        raise ValueError(
            f"{where}: {value!r} is not a placeholder; a value is either exactly "
            f"{DATE_FROM!r} or {DATE_TO!r}, or a constant without braces"
        )
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise ValueError(f"{where}: expected text, a number, true/false, a list or a table")


def check_list_body(value: Any) -> dict[str, Any]:
    """The ``event_list_body`` template: a table of constants and the two date placeholders."""
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a table such as {{ dateFrom = {DATE_FROM!r}, dateTo = {DATE_TO!r} }}")
    for name, item in value.items():
        _check_body_value(item, str(name))
    return dict(value)


def fill_list_body(template: Mapping[str, Any], date_from: str | None, date_to: str | None) -> dict[str, Any]:
    """The template with its placeholders replaced; a placeholder given None drops its key."""
    values = {DATE_FROM: date_from, DATE_TO: date_to}

    def fill(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {
                k: fill(v)
                for k, v in item.items()
                if not (isinstance(v, str) and v in values and values[v] is None)
            }
        if isinstance(item, list):
            return [fill(v) for v in item if not (isinstance(v, str) and v in values and values[v] is None)]
        if isinstance(item, str) and item in values:
            return values[item]
        return item

    filled: dict[str, Any] = fill(template)
    return filled
