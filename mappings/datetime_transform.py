"""The ``datetime`` transform: each account's naive local clock ↔ canonical UTC (see ``instants``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any, Literal

from mappings.context import MappingContext
from mappings.instants import (
    day_start,
    format_instant,
    local_to_utc,
    parse_canonical,
    parse_iso,
    parse_planfix_date,
    parse_planfix_time,
    snap,
    utc_to_local,
)
from mappings.paths import Kind, Slot
from mappings.sides import SIDE_TITLES, Direction, Side
from mappings.transform_base import Params, Transform, as_text, describe, is_empty, truthy


class DateTimeParams(Params):
    date_only: Literal["midnight", "all_day"] = "midnight"
    """How a day without a time is kept: as 00:00 local time, or as a date (all-day)."""


_PF_PAIR: tuple[Kind, Kind] = ("date", "time")


class DateTime(Transform[DateTimeParams]):
    name = "datetime"
    summary = "naive local date-times in each account's zone ↔ canonical UTC (or a date for all-day)"
    params_model = DateTimeParams

    def _form(self, side: Side) -> Literal["pair", "iso", "iso_flag"]:
        kinds = tuple(s.kind for s in self.shape.of(side))
        if kinds == _PF_PAIR:
            return "pair"
        return "iso_flag" if len(kinds) == 2 else "iso"

    def check_side(self, side: Side, slots: tuple[Slot, ...], direction: Direction) -> str | None:
        kinds = tuple(s.kind for s in slots)
        iso: set[Kind] = {"datetime", "text", "any"}
        if kinds == _PF_PAIR or (len(kinds) == 1 and kinds[0] in iso):
            return None
        if len(kinds) == 2 and kinds[0] in iso and kinds[1] == "bool":
            if self.params.date_only != "all_day":
                return (
                    f"the all-day flag {slots[1].path!r} is only used with date_only = 'all_day'"
                    f" (on the {SIDE_TITLES[side]} side)"
                )
            return None
        return (
            f"transform 'datetime' needs, on the {SIDE_TITLES[side]} side, a date and a time path"
            " (e.g. ['startDate', 'startTime']), one ISO date-time path (e.g. 'start'), or an ISO"
            f" path and an all-day flag (e.g. ['start', 'allDay']); got {describe(slots)}"
        )

    def flag_positions(self, side: Side) -> frozenset[int]:
        return frozenset({1}) if self._form(side) == "iso_flag" else frozenset()

    def _day(self, day: date, zone: Any, ctx: MappingContext) -> str:
        if self.params.date_only == "all_day":
            return day.isoformat()
        return self._instant(day_start(day), zone, ctx)

    def _instant(self, local: datetime, zone: Any, ctx: MappingContext) -> str:
        instant = local_to_utc(local, zone) if local.tzinfo is None else local
        return format_instant(snap(instant, (ctx.planfix_zone, ctx.planningpme_zone)))

    def forward(self, side: Side, values: Sequence[Any], ctx: MappingContext) -> Any:
        zone = ctx.zone(side)
        form = self._form(side)
        if form == "pair":
            raw_date, raw_time = values
            if is_empty(raw_date):
                return None
            day, time_in_date = parse_planfix_date(as_text(raw_date))
            clock = parse_planfix_time(as_text(raw_time)) if not is_empty(raw_time) else None
            clock = clock or time_in_date
            return (
                self._day(day, zone, ctx)
                if clock is None
                else self._instant(datetime.combine(day, clock), zone, ctx)
            )
        raw = values[0]
        if is_empty(raw):
            return None
        parsed = parse_iso(as_text(raw))
        if not isinstance(parsed, datetime):
            return self._day(parsed, zone, ctx)
        all_day = form == "iso_flag" and truthy(values[1])
        if all_day and parsed.tzinfo is None and parsed.replace(second=0, microsecond=0).time() == time():
            return self._day(parsed.date(), zone, ctx)
        return self._instant(parsed, zone, ctx)

    def inverse(
        self, side: Side, canonical: Any, ctx: MappingContext, current: Sequence[Any] | None = None
    ) -> tuple[Any, ...]:
        form = self._form(side)
        value = parse_canonical(canonical)
        if value is None:
            return (None, None) if form != "iso" else (None,)
        if not isinstance(value, datetime):
            if form == "pair":
                return (value.strftime("%d-%m-%Y"), None)
            if form == "iso_flag":
                return (day_start(value).strftime("%Y-%m-%dT%H:%M:%S"), True)
            if self.params.date_only == "all_day":
                return (value.isoformat(),)
            value = local_to_utc(day_start(value), ctx.zone(side))
        local = utc_to_local(value, ctx.zone(side))
        if form == "pair":
            return (local.strftime("%d-%m-%Y"), local.strftime("%H:%M"))
        iso = local.strftime("%Y-%m-%dT%H:%M:%S")
        return (iso, False) if form == "iso_flag" else (iso,)
