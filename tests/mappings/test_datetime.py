"""The datetime transform: naive Planfix and PlanningPME clocks ↔ canonical UTC, stable across
daylight-saving transitions (gaps and overlaps) in Europe/Madrid and Europe/Moscow."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.instants import local_to_utc, snap, utc_to_local
from mappings.sides import SIDES
from tests.mappings.helpers import MADRID, MOSCOW, assert_round_trips, ctx, make

ZONES = ["Europe/Madrid", "Europe/Moscow", "UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]
zones = st.sampled_from(ZONES)

PAIR = make("datetime", ["startDate", "startTime"], ["start"])
ALL_DAY = make("datetime", ["startDate", "startTime"], ["start", "allDay"], {"date_only": "all_day"})
ISO_BOTH = make("datetime", ["customData[102]"], ["start"], {"date_only": "all_day"})


def transitions(zone: ZoneInfo, years: range) -> list[datetime]:
    """UTC instants at which ``zone`` changes its offset (found by scanning hours)."""
    found = []
    start = datetime(years.start, 1, 1, tzinfo=UTC)
    end = datetime(years.stop, 1, 1, tzinfo=UTC)
    t = start
    previous = t.astimezone(zone).utcoffset()
    while t < end:
        t += timedelta(hours=1)
        offset = t.astimezone(zone).utcoffset()
        if offset != previous:
            found.append(t)
            previous = offset
    return found


MADRID_CHANGES = transitions(MADRID, range(2024, 2028))
MOSCOW_CHANGES = transitions(MOSCOW, range(2009, 2015))  # DST until 2011, +4 until 2014
CHANGES = MADRID_CHANGES + MOSCOW_CHANGES

# naive wall-clock times within three hours of a transition, seen from either zone
near_changes = st.builds(
    lambda change, minutes, zone: (change + timedelta(minutes=minutes)).astimezone(zone).replace(tzinfo=None),
    st.sampled_from(CHANGES),
    st.integers(-180, 180),
    st.sampled_from([MADRID, MOSCOW]),
)
naive_times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)) | near_changes


def pf(local: datetime) -> list[str]:
    return [local.strftime("%d-%m-%Y"), local.strftime("%H:%M")]


def test_transitions_were_found() -> None:
    assert len(MADRID_CHANGES) == 8
    assert len(MOSCOW_CHANGES) == 6  # 2009 and 2010 both ways, the 2011 spring gap, 2014 fall back


@given(naive_times, zones, zones)
def test_zone_less_planfix_times_round_trip(local: datetime, pf_zone: str, pme_zone: str) -> None:
    assert_round_trips(PAIR, ctx(pf_zone, pme_zone), "planfix", pf(local))


@given(naive_times, zones, zones, st.booleans())
def test_planningpme_times_round_trip(local: datetime, pf_zone: str, pme_zone: str, all_day: bool) -> None:
    c = ctx(pf_zone, pme_zone)
    assert_round_trips(PAIR, c, "planningpme", [local.isoformat()])
    assert_round_trips(ALL_DAY, c, "planningpme", [local.isoformat(), all_day])
    assert_round_trips(ISO_BOTH, c, "planningpme", [local.isoformat()])


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2099, 12, 31)), zones, zones)
def test_dates_without_time_round_trip(day: date, pf_zone: str, pme_zone: str) -> None:
    c = ctx(pf_zone, pme_zone)
    text = day.strftime("%d-%m-%Y")
    assert assert_round_trips(ALL_DAY, c, "planfix", [text, None]) == day.isoformat()
    assert (
        assert_round_trips(ALL_DAY, c, "planningpme", [f"{day.isoformat()}T00:00:00", True])
        == day.isoformat()
    )
    assert assert_round_trips(ISO_BOTH, c, "planfix", [day.isoformat()]) == day.isoformat()
    midnight = assert_round_trips(PAIR, c, "planfix", [text, ""])
    assert midnight.endswith("Z")


@given(near_changes | naive_times, zones, zones)
def test_canonical_values_are_fixed_points(local: datetime, pf_zone: str, pme_zone: str) -> None:
    """A canonical instant reads back as itself from the native values of either zone."""
    c = ctx(pf_zone, pme_zone)
    canonical = PAIR.forward("planfix", pf(local), c)
    for side in SIDES:
        assert PAIR.forward(side, PAIR.inverse(side, canonical, c), c) == canonical


def test_same_instant_from_both_clocks() -> None:
    c = ctx(MOSCOW, MADRID)
    winter = PAIR.forward("planfix", ["23-11-2026", "10:00"], c)
    assert winter == "2026-11-23T07:00:00Z"
    assert PAIR.forward("planningpme", ["2026-11-23T08:00:00"], c) == winter
    summer = PAIR.forward("planningpme", ["2026-07-01T09:00:00"], c)
    assert summer == "2026-07-01T07:00:00Z"
    assert PAIR.inverse("planfix", summer, c) == ("01-07-2026", "10:00")
    # seconds are below both systems' precision
    assert PAIR.forward("planningpme", ["2026-11-23T08:00:59"], c) == winter
    # an explicit offset is honoured
    assert PAIR.forward("planningpme", ["2026-11-23T07:00:00Z"], c) == winter


def test_madrid_spring_gap_shifts_forward() -> None:
    c = ctx(MOSCOW, MADRID)
    # 29 March 2026, 02:00 → 03:00 in Madrid: 02:30 does not exist
    canonical = PAIR.forward("planningpme", ["2026-03-29T02:30:00"], c)
    assert canonical == "2026-03-29T01:30:00Z"
    assert PAIR.inverse("planningpme", canonical, c) == ("2026-03-29T03:30:00",)
    assert PAIR.forward("planningpme", PAIR.inverse("planningpme", canonical, c), c) == canonical


def test_madrid_fall_back_overlap_is_the_first_occurrence() -> None:
    c = ctx(MOSCOW, MADRID)
    # 25 October 2026, 03:00 → 02:00 in Madrid: 02:30 happens twice; fold=0 is the summer one
    canonical = PAIR.forward("planningpme", ["2026-10-25T02:30:00"], c)
    assert canonical == "2026-10-25T00:30:00Z"
    assert PAIR.inverse("planfix", canonical, c) == ("25-10-2026", "03:30")


def test_instant_in_the_other_zones_repeated_hour_is_snapped() -> None:
    """Moscow 04:30 on 25 Oct 2026 is 01:30Z = Madrid's *second* 02:30, which a naive Madrid
    clock cannot name. The documented rule reads it as the first 02:30 so both sides agree."""
    c = ctx(MOSCOW, MADRID)
    canonical = PAIR.forward("planfix", ["25-10-2026", "04:30"], c)
    assert canonical == "2026-10-25T00:30:00Z"
    assert PAIR.inverse("planningpme", canonical, c) == ("2026-10-25T02:30:00",)
    assert PAIR.forward("planningpme", ["2026-10-25T02:30:00"], c) == canonical
    # just outside the repeated hour nothing moves
    assert PAIR.forward("planfix", ["25-10-2026", "05:00"], c) == "2026-10-25T02:00:00Z"


def test_moscow_historic_transitions() -> None:
    c = ctx(MOSCOW, ZoneInfo("UTC"))
    # 27 March 2011: 02:00 → 03:00 (to permanent +4); 02:30 shifts forward
    assert PAIR.forward("planfix", ["27-03-2011", "02:30"], c) == "2011-03-26T23:30:00Z"
    assert PAIR.inverse("planfix", "2011-03-26T23:30:00Z", c) == ("27-03-2011", "03:30")
    # 26 October 2014: 02:00 → 01:00 (back to +3); 01:30 is read as the first (+4) occurrence
    assert PAIR.forward("planfix", ["26-10-2014", "01:30"], c) == "2014-10-25T21:30:00Z"


def test_snap_is_idempotent_and_moves_only_repeated_hours() -> None:
    zones = (MOSCOW, MADRID)
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert snap(second, zones) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert snap(snap(second, zones), zones) == snap(second, zones)
    ordinary = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert snap(ordinary, zones) == ordinary
    assert utc_to_local(local_to_utc(datetime(2026, 6, 1, 12, 0), MADRID), MADRID) == datetime(
        2026, 6, 1, 12, 0
    )


def test_all_day_flag_and_planfix_shapes() -> None:
    c = ctx(MOSCOW, MADRID)
    assert ALL_DAY.forward("planfix", ["23-11-2026", None], c) == "2026-11-23"
    assert ALL_DAY.inverse("planningpme", "2026-11-23", c) == ("2026-11-23T00:00:00", True)
    assert ALL_DAY.inverse("planningpme", "2026-11-23T07:00:00Z", c) == ("2026-11-23T08:00:00", False)
    assert ALL_DAY.inverse("planfix", "2026-11-23", c) == ("23-11-2026", None)
    assert ALL_DAY.forward("planningpme", ["2026-11-23T00:00:00", False], c) == "2026-11-22T23:00:00Z"
    # the reply shapes seen in the wild: a date-time in the date field, a date in the time field
    assert PAIR.forward("planfix", ["23-11-2026 10:00", None], c) == "2026-11-23T07:00:00Z"
    assert PAIR.forward("planfix", ["23-11-2026", "23-11-2026 10:00"], c) == "2026-11-23T07:00:00Z"
    assert ALL_DAY.forward("planfix", ["23-11-2026", "23-11-2026"], c) == "2026-11-23"
    assert PAIR.forward("planfix", [None, "10:00"], c) is None
    assert PAIR.inverse("planfix", None, c) == (None, None)
    assert PAIR.inverse("planningpme", None, c) == (None,)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["31-02-2026", "10:00"], "not a valid date"),
        (["2026-02-01", "10:00"], "not a Planfix date"),
        (["01-02-2026", "25:00"], "not a valid time"),
        (["01-02-2026", "10h"], "not a Planfix time"),
    ],
)
def test_malformed_planfix_values(values: list[str], message: str) -> None:
    from mappings.errors import MappingValueError

    with pytest.raises(MappingValueError, match=message):
        PAIR.forward("planfix", values, ctx())


def test_malformed_planningpme_value() -> None:
    from mappings.errors import MappingValueError

    with pytest.raises(MappingValueError, match="not an ISO date-time"):
        PAIR.forward("planningpme", ["23/11/2026 10:00"], ctx())
