"""The Mapper on the shipped mappings: canonical values that compare equal when they mean the
same, payloads that touch exactly the fields asked for, hashes stable across processes."""

from __future__ import annotations

import copy
import functools
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mappings.context import StaticLinks
from mappings.engine import Mapper, canonical_hash
from mappings.errors import MappingValueError
from mappings.loading import load_mapping, parse_mapping
from tests.mappings.helpers import ctx

LINKS = StaticLinks({("contact", "12"): "5", ("contact", "13"): "6"})
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tasks() -> Mapper:
    return Mapper(load_mapping("default:tasks", ROOT), ctx(links=LINKS))


@pytest.fixture(scope="module")
def contacts() -> Mapper:
    return Mapper(load_mapping("default:contacts", ROOT), ctx(links=LINKS))


@functools.cache
def tasks_mapper(planningpme_zone: str) -> Mapper:
    """The default task mapper (Moscow ↔ ``planningpme_zone``), built once per zone for speed."""
    return Mapper(load_mapping("default:tasks", ROOT), ctx("Europe/Moscow", planningpme_zone, LINKS))


def task(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "123", "general": "45", "title": "Fix the pump", "description": "Check the <b>valve</b>",
        "importance": "AVERAGE", "status": "2", "owner": {"id": "1", "name": "Иван Петров"},
        "client": {"id": "12", "name": "ACME"}, "project": {"id": "7", "title": "Maintenance"},
        "startDate": "23-11-2026", "startTime": "10:00", "endDate": "23-11-2026", "endTime": "12:30",
        "workers": [{"id": "1", "name": "Иван Петров"}, {"id": "2", "name": "María García"}],
        "customData": {"101": "17", "102": "Calle Mayor 1"},
    }  # fmt: skip
    record.update(changes)
    return record


def event(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "key": 17, "label": "Fix the pump", "start": "2026-11-23T08:00:00", "end": "2026-11-23T10:30:00",
        "allDay": False, "resources": [{"key": "R2", "label": "María García"}, {"key": "R1", "label": "x"}],
        "customers": [{"key": 5, "label": "ACME"}], "project": {"key": "P1"},
        "category": {"key": "C2", "label": "In progress"}, "status": 0, "remark": "keep me",
        "description": "Check the valve", "fields": {"PLANFIX_ID": "123", "OTHER": "x"}, "place": "Madrid",
    }  # fmt: skip
    record.update(changes)
    return record


def apply(record: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """What a partial update does to a record: custom-field containers merge, the rest replaces."""
    out = copy.deepcopy(record)
    for key, value in payload.items():
        if key in ("customData", "fields") and isinstance(value, dict):
            out.setdefault(key, {}).update(value)
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------------------ canonical values


def test_a_task_and_its_event_have_the_same_canonical_values(tasks: Mapper) -> None:
    pf, pme = tasks.canonical("planfix", task()), tasks.canonical("planningpme", event())
    assert (
        pf
        == pme
        == {
            "title": "Fix the pump",
            "description": "Check the valve",
            "start": "2026-11-23T07:00:00Z",
            "end": "2026-11-23T09:30:00Z",
            "status": "2",
            "workers": ["1", "2"],
            "client": "12",
        }
    )
    assert canonical_hash(pf) == canonical_hash(pme)


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "  Fix   the\tpump \n"},
        {"description": "<p>Check the   valve</p>\n"},
        {"description": "Check&nbsp;the valve<br>"},
        {"workers": [{"id": "2", "name": "b"}, {"id": "1", "name": "a"}, {"id": "1", "name": "a"}]},
        {"workers": [{"id": "2", "name": "b"}, {"id": "1", "name": "a"}, {"id": "99", "name": "unmapped"}]},
        {"startTime": "10:00:00"},
        {"importance": "HIGH", "project": None, "customData": {"101": "17", "102": "other"}},  # unmapped
    ],
)
def test_equal_meaning_compares_equal(tasks: Mapper, changes: dict[str, Any]) -> None:
    assert tasks.canonical("planfix", task(**changes)) == tasks.canonical("planfix", task())


def test_time_zones_do_not_matter_only_instants(tasks: Mapper) -> None:
    utc = Mapper(tasks.spec, ctx("UTC", "America/New_York", LINKS))
    moved = task(startTime="07:00", endTime="09:30")
    assert utc.canonical("planfix", moved)["start"] == tasks.canonical("planfix", task())["start"]
    assert utc.canonical("planningpme", event(start="2026-11-23T02:00:00"))["start"] == "2026-11-23T07:00:00Z"


def test_contacts_compare_by_meaning(contacts: Mapper) -> None:
    contact = {
        "id": "12", "userid": "345", "general": "12", "name": " Ana ", "lastName": "López",
        "email": "Ana.Lopez@EXAMPLE.com", "phones": [{"number": "+34  91 123 4567", "typeId": "1"}],
        "isCompany": False, "companyName": "ACME", "customData": {"201": "5"}, "lastUpdateDate": None,
    }  # fmt: skip
    customer = {
        "key": 5, "label": "Ana López", "company": "ACME ", "type": "Individual", "title": "",
        "firstName": "Ana", "lastName": "López", "phone": "+34 91 123 4567", "mobile": "",
        "email": "Ana.Lopez@example.com",
        "address": "", "zip": "", "city": "", "country": "", "webSite": "", "notValid": False,
        "fields": {"PLANFIX_ID": "12"},
    }  # fmt: skip
    assert contacts.canonical("planfix", contact) == contacts.canonical("planningpme", customer)
    assert contacts.match_key("planfix", contact) == contacts.match_key("planningpme", customer)
    assert contacts.match_key("planfix", {**contact, "email": " "}) is None


def test_unmappable_value_names_the_field(tasks: Mapper) -> None:
    with pytest.raises(
        MappingValueError, match=r"field 'start' \(Planfix startDate, startTime\): '2026-11-23'"
    ):
        tasks.canonical("planfix", task(startDate="2026-11-23"))


# -------------------------------------------------------------------------------------- payloads


@pytest.mark.parametrize(
    ("field", "planfix_keys", "planningpme_keys"),
    [
        ("title", {"title"}, {"label"}),
        ("description", {"description"}, {"description"}),
        ("start", {"startDate", "startTime"}, {"start", "allDay"}),
        ("end", {"endDate", "endTime"}, {"end", "allDay"}),
        ("status", {"status"}, {"category"}),
        ("workers", {"workers"}, {"resources"}),
        ("client", {"client"}, {"customers"}),
    ],
)
def test_payload_sets_exactly_the_fields_asked_for(
    tasks: Mapper, field: str, planfix_keys: set[str], planningpme_keys: set[str]
) -> None:
    canonical = tasks.canonical("planfix", task())
    assert set(tasks.payload("planfix", canonical, [field])) == planfix_keys
    assert set(tasks.payload("planningpme", canonical, [field])) == planningpme_keys


def test_payload_native_shapes(tasks: Mapper) -> None:
    canonical = tasks.canonical("planningpme", event(category={"key": "C3"}, start="2026-07-01T09:00:00"))
    assert tasks.payload("planfix", canonical, ["status", "start"]) == {
        "status": "3",
        "startDate": "01-07-2026",
        "startTime": "10:00",
    }
    assert tasks.payload("planningpme", canonical, ["status", "workers", "client"]) == {
        "category": {"key": "C3"},
        "resources": [{"key": "R1", "label": "Иван Петров"}, {"key": "R2", "label": "María García"}],
        "customers": [{"key": 5}],
    }
    assert tasks.marker_payload("planfix", "17") == {"customData": {"101": "17"}}
    assert tasks.marker_payload("planningpme", "123") == {"fields": {"PLANFIX_ID": "123"}}
    assert tasks.marker_payload("planningpme", None) == {"fields": {"PLANFIX_ID": ""}}


def test_all_day_flag_is_shared_by_start_and_end(tasks: Mapper) -> None:
    canonical = tasks.canonical("planfix", task(startTime=None, endTime=None))
    assert (canonical["start"], canonical["end"]) == ("2026-11-23", "2026-11-23")
    payload = tasks.payload("planningpme", canonical, ["start", "end"])
    assert payload == {"start": "2026-11-23T00:00:00", "end": "2026-11-23T00:00:00", "allDay": True}
    # only the start changes to a timed value: the date-only end keeps the event all-day
    mixed = {**canonical, "start": "2026-11-23T07:00:00Z"}
    payload = tasks.payload("planningpme", mixed, ["start"])
    assert payload == {"start": "2026-11-23T08:00:00", "allDay": True}
    back = tasks.canonical("planningpme", apply(event(end="2026-11-23T00:00:00", allDay=True), payload))
    assert (back["start"], back["end"]) == ("2026-11-23T07:00:00Z", "2026-11-23")


def test_payload_refuses_unknown_fields_and_skips_one_way_ones(tasks: Mapper) -> None:
    canonical = tasks.canonical("planfix", task())
    with pytest.raises(KeyError, match="has no field 'importance'"):
        tasks.payload("planfix", canonical, ["importance"])
    with pytest.raises(KeyError, match="no canonical value for field 'title'"):
        tasks.payload("planfix", {}, ["title"])
    one_way = parse_mapping(
        Path(ROOT / "mappings/defaults/tasks.toml")
        .read_text(encoding="utf-8")
        .replace('transform = "text"', 'transform = "text"\ndirection = "to_planningpme"')
        .replace('match_keys = ["title", "start"]', 'match_keys = ["start"]')
    )
    mapper = Mapper(one_way, ctx(links=LINKS))
    assert "title" not in mapper.fields_written_to("planfix")
    assert "title" not in mapper.fields_read_from("planningpme")
    assert "title" not in mapper.canonical("planningpme", event())
    assert mapper.payload("planfix", canonical, ["title"]) == {}


field_subsets = st.lists(
    st.sampled_from(["title", "description", "start", "end", "status", "workers", "client"]), unique=True
)
UNMAPPED_TASK = {"id", "general", "importance", "owner", "project", "customData"}
UNMAPPED_EVENT = {"key", "project", "status", "remark", "place", "fields"}


@given(field_subsets)
def test_payloads_never_touch_unmapped_fields(fields: list[str]) -> None:
    mapper = tasks_mapper("Europe/Madrid")
    canonical = mapper.canonical("planningpme", event(label="New title", category={"key": "C3"}))
    for side, record, unmapped in (
        ("planfix", task(), UNMAPPED_TASK),
        ("planningpme", event(), UNMAPPED_EVENT),
    ):
        payload = mapper.payload(side, canonical, fields)  # type: ignore[arg-type]
        assert not set(payload) & unmapped
        updated = apply(record, payload)
        for key in unmapped:
            assert updated.get(key) == record.get(key)
        # and what was written reads back as the canonical values
        again = mapper.canonical(side, updated)  # type: ignore[arg-type]
        assert {f: again[f] for f in fields} == {f: canonical[f] for f in fields}


# --------------------------------------------------------------------- full round trips (property 14)

titles = st.text(st.characters(codec="utf-8"), max_size=30)
minutes = st.integers(0, 24 * 60 - 1).map(lambda m: f"{m // 60:02d}:{m % 60:02d}")
days = st.dates(date(1971, 1, 1), date(2099, 12, 31)).map(lambda d: d.strftime("%d-%m-%Y"))
planfix_tasks = st.builds(
    task,
    title=titles,
    description=titles | st.just("<p>a</p><ul><li>b &amp; c</li></ul>"),
    startDate=days,
    startTime=st.none() | minutes,
    endDate=st.none() | days,
    endTime=st.none() | minutes,
    status=st.sampled_from(["1", "2", "3", "4", "5", "8"]),
    workers=st.lists(st.sampled_from(["1", "2", "3", "4", "5", "6"]).map(lambda i: {"id": i, "name": "n"})),
    client=st.sampled_from([None, {"id": "12", "name": "A"}, {"id": "13", "name": "B"}]),
)


def mixed_at_midnight(canonical: dict[str, Any], mapper: Mapper) -> bool:
    """The one documented exception: start and end share PlanningPME's ``allDay``; when one of
    them is a date and the other an instant at exactly 00:00 PlanningPME time, that instant
    reads back as a date. (Covered by ``test_mixed_all_day_limit`` below.)"""
    values = [canonical.get("start"), canonical.get("end")]
    dates = [v for v in values if isinstance(v, str) and len(v) == 10]
    instants = [v for v in values if isinstance(v, str) and v.endswith("Z")]
    zone = mapper.ctx.planningpme_zone
    return bool(dates) and any(
        datetime.fromisoformat(v).astimezone(zone).strftime("%H:%M") == "00:00" for v in instants
    )


def test_mixed_all_day_limit(tasks: Mapper) -> None:
    canonical = tasks.canonical("planfix", task(startTime="02:00", endTime=None))  # 00:00 in Madrid
    assert (canonical["start"], canonical["end"]) == ("2026-11-22T23:00:00Z", "2026-11-23")
    created = apply({"key": 1}, tasks.payload("planningpme", canonical, ["start", "end"]))
    assert created == {"key": 1, "start": "2026-11-23T00:00:00", "end": "2026-11-23T00:00:00", "allDay": True}
    assert tasks.canonical("planningpme", created)["start"] == "2026-11-23"  # read as the day


@given(planfix_tasks, st.sampled_from(["Europe/Moscow", "Europe/Madrid", "UTC"]))
def test_planfix_to_planningpme_to_planfix_is_stable(record: dict[str, Any], pme_zone: str) -> None:
    mapper = tasks_mapper(pme_zone)
    canonical = mapper.canonical("planfix", record)
    assume(not mixed_at_midnight(canonical, mapper))
    created = apply(
        {"key": 1}, mapper.payload("planningpme", canonical, mapper.fields_written_to("planningpme"))
    )
    assert mapper.canonical("planningpme", created) == canonical
    back = apply(
        record, mapper.payload("planfix", canonical, mapper.fields_written_to("planfix"), current=record)
    )
    assert mapper.canonical("planfix", back) == canonical


# ----------------------------------------------------------------------------------------- hashes


def test_hash_ignores_key_order_and_is_hex_sha256() -> None:
    a = {"title": "Ω", "workers": ["1", "2"], "start": None, "company": {"is_company": True, "company": "A"}}
    b = dict(reversed(list(a.items())))
    assert canonical_hash(a) == canonical_hash(b)
    assert len(canonical_hash(a)) == 64
    assert canonical_hash(a) != canonical_hash({**a, "title": "Ω "})


def test_hash_is_the_same_in_another_process(tasks: Mapper) -> None:
    canonical = tasks.canonical("planfix", task(title="Ремонт насоса — María"))
    code = (
        "import json, sys\nfrom mappings.engine import canonical_hash\n"
        "print(canonical_hash(json.loads(sys.stdin.read())))"
    )
    import json

    for seed in ("0", "123"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(canonical),
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
        )
        assert out.stdout.strip() == canonical_hash(canonical)


# ------------------------------------------------------------------ markers, scope, links, deletes


def test_markers(tasks: Mapper) -> None:
    assert tasks.marker("planfix", task()) == "17"
    assert tasks.marker("planfix", task(customData={"101": " "})) is None
    assert tasks.marker("planfix", task(customData={})) is None
    assert tasks.marker("planningpme", event()) == "123"
    assert tasks.marker("planningpme", event(fields=None)) is None


def test_match_keys(tasks: Mapper) -> None:
    assert tasks.match_key("planfix", task(title=" FIX the  pump")) == tasks.match_key("planningpme", event())
    assert tasks.match_key("planfix", task(title="")) is None
    assert tasks.match_key("planfix", task(startDate=None)) is None
    assert tasks.match_key("planfix", task(startTime="10:01")) != tasks.match_key("planningpme", event())


def test_related_records(tasks: Mapper) -> None:
    assert tasks.related("planfix", task()) == [("contact", "12")]
    assert tasks.related("planfix", task(client=None)) == []
    assert tasks.related("planningpme", event(customers=[{"key": 9}, {"key": 5}])) == [
        ("customer", "5"),
        ("customer", "9"),
    ]
    # a customer not linked yet reads as a pending key
    assert tasks.canonical("planningpme", event(customers=[{"key": 9}]))["client"] == "planningpme:9"


def test_archive_and_delete_policies(tasks: Mapper, contacts: Mapper) -> None:
    spec = tasks.spec
    assert (spec.on_planfix_delete, spec.on_planningpme_delete) == ("propagate", "archive")
    assert tasks.archive_payload("planfix") == {"status": "4"}
    assert tasks.archive_payload("planningpme") == {}
    assert tasks.is_archived("planfix", task(status="4"))
    assert not tasks.is_archived("planfix", task())
    assert not tasks.is_archived("planningpme", event(category={"key": "C4"}))
    assert (contacts.spec.on_planfix_delete, contacts.spec.on_planningpme_delete) == (
        "propagate",
        "propagate",
    )


def test_filters() -> None:
    text = (ROOT / "mappings/defaults/tasks.toml").read_text(encoding="utf-8") + (
        '\n[[filters.planfix]]\npath = "project"\nin = [7, 8]\n'
        '\n[[filters.planfix]]\npath = "status"\nnot_in = ["5"]\n'
        '\n[[filters.planningpme]]\npath = "start"\nsince = "2026-01-01"\nuntil = "2027-01-01"\n'
        '\n[[filters.planningpme]]\npath = "resources"\nin = ["R1"]\n'
    )
    mapper = Mapper(parse_mapping(text), ctx(links=LINKS))
    assert mapper.included("planfix", task())
    assert not mapper.included("planfix", task(project={"id": "9", "title": "x"}))
    assert not mapper.included("planfix", task(project=None))
    assert not mapper.included("planfix", task(status="5"))
    assert mapper.included("planningpme", event())
    assert not mapper.included("planningpme", event(start="2027-01-01T00:00:00"))
    assert not mapper.included("planningpme", event(start=None))
    assert not mapper.included("planningpme", event(resources=[{"key": "R2"}]))


def test_field_conflict_policy_is_resolved(tasks: Mapper) -> None:
    assert tasks.field("title").conflict == "newest"
    text = (
        (ROOT / "mappings/defaults/tasks.toml")
        .read_text(encoding="utf-8")
        .replace('transform = "text"', 'transform = "text"\nconflict = "planningpme"')
    )
    mapper = Mapper(parse_mapping(text), ctx(links=LINKS))
    assert mapper.field("title").conflict == "planningpme"
    assert mapper.field("status").conflict == "newest"
    with pytest.raises(KeyError):
        mapper.field("nope")


iso_times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31))
planningpme_events = st.builds(
    event,
    label=titles,
    description=titles,
    start=iso_times.map(lambda d: d.isoformat(timespec="seconds")),
    end=st.none() | iso_times.map(lambda d: d.replace(hour=0, minute=0, second=0).isoformat()),
    allDay=st.booleans(),
    category=st.none() | st.sampled_from(["C1", "C2", "C3", "C4", "C5", "C9"]).map(lambda k: {"key": k}),
    resources=st.lists(st.sampled_from(["R1", "R2", "R3", "R4", "R5", "R7"]).map(lambda k: {"key": k})),
    customers=st.lists(st.sampled_from([5, 6, 7]).map(lambda k: {"key": k}), max_size=2),
)


@given(planningpme_events)
def test_planningpme_to_planfix_to_planningpme_is_stable(record: dict[str, Any]) -> None:
    mapper = tasks_mapper("Europe/Madrid")
    canonical = mapper.canonical("planningpme", record)
    assume(not mixed_at_midnight(canonical, mapper))
    back = apply(record, mapper.payload("planningpme", canonical, mapper.fields_written_to("planningpme")))
    assert mapper.canonical("planningpme", back) == canonical
    if str(canonical["client"]).startswith("planningpme:"):
        return  # not linked yet: the engine defers it (Mapper.related names the customer)
    created = apply({"id": "1"}, mapper.payload("planfix", canonical, mapper.fields_written_to("planfix")))
    assert mapper.canonical("planfix", created) == canonical
