"""Property 17 in the pure planner: what a system did to syncd's write (``Echo``) is adopted at the
first read-back and never copied, never wins over a deletion; a person's edit still is an edit.
And modification winning over an archived record reopens it in place."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.engine.planner import (
    REOPEN_RULE,
    Echo,
    FieldRule,
    LinkState,
    PairRules,
    Plan,
    PlanInput,
    SideView,
    changed_fields,
    is_echo,
    plan,
)
from tests.engine.plans import h, kinds, obs

RULES = PairRules(
    pair="tasks",
    fields=(
        FieldRule("title", "both", "newest"),
        FieldRule("status", "both", "planfix", defaulted=True),
        FieldRule("phone", "both", "newest"),
    ),
    on_delete={"planfix": "propagate", "planningpme": "archive"},
)

SYNCED = {"title": "Roof repair", "status": None, "phone": ""}


def created_on_planfix(canonical: dict[str, Any] = SYNCED) -> LinkState:
    """The link right after syncd created the task from the event: the task awaits its read-back."""
    echo = Echo().wrote("planfix", ["title", "status", "phone"])
    return LinkState("T1", "E1", canonical, h(canonical), h(canonical), echo)


def run(
    link: LinkState,
    pf: dict[str, Any] | None = None,
    pme: dict[str, Any] | None = None,
    *,
    pf_deleted: bool = False,
    pme_deleted: bool = False,
    pf_archived: bool = False,
) -> Plan:
    return plan(
        PlanInput(
            rules=RULES,
            links=(link,),
            planfix=SideView(
                "planfix",
                {} if pf is None else {"T1": obs("planfix", "T1", pf)},
                frozenset({"T1"}) if pf_deleted else frozenset(),
                archived=frozenset({"T1"}) if pf_archived else frozenset(),
            ),
            planningpme=SideView(
                "planningpme",
                {} if pme is None else {"E1": obs("planningpme", "E1", pme)},
                frozenset({"E1"}) if pme_deleted else frozenset(),
            ),
        )
    )


def test_a_default_status_on_read_back_is_held_not_copied() -> None:
    p = run(created_on_planfix(), pf={**SYNCED, "status": "1"})

    assert kinds(p) == [("refresh", None)]
    (op,) = p.operations
    assert op.echo == Echo({}, {"planfix": {"status": "1"}})
    assert op.canonical == SYNCED, "the synced value stays what both sides agreed on"


def test_a_default_status_never_wins_over_a_deletion() -> None:
    p = run(created_on_planfix(), pf={**SYNCED, "status": "1"}, pme_deleted=True)

    assert kinds(p) == [("archive", "planfix")], "the event's deletion goes through: no re-create"


def test_a_read_back_as_written_only_closes_the_wait() -> None:
    p = run(created_on_planfix(), pf=dict(SYNCED))

    assert kinds(p) == [("refresh", None)]
    assert p.operations[0].echo == Echo()


def test_a_held_value_is_not_an_edit_later_but_a_new_value_is() -> None:
    held = LinkState(
        "T1", "E1", SYNCED, h({**SYNCED, "status": "1"}), h(SYNCED), Echo({}, {"planfix": {"status": "1"}})
    )

    title_edit = run(held, pf={**SYNCED, "status": "1", "title": "Roof repair, 2nd visit"})
    status_edit = run(held, pf={**SYNCED, "status": "2"})

    (update,) = title_edit.operations
    assert (update.kind, update.target, [c.field for c in update.changes]) == (
        "update",
        "planningpme",
        ["title"],
    )
    assert update.echo.held == {"planfix": {"status": "1"}}
    (update,) = status_edit.operations
    assert [(c.field, c.new) for c in update.changes] == [("status", "2")]
    assert update.echo == Echo(), "the field is synced again: nothing held any more"


def test_a_free_field_filled_right_after_the_write_is_an_edit() -> None:
    p = run(created_on_planfix(), pf={**SYNCED, "phone": "+34 911 222 333"}, pme_deleted=True)

    assert [op.kind for op in p.operations] == ["unlink", "create"], "modification wins: a person's edit"


def test_a_different_value_in_a_written_field_is_an_edit() -> None:
    p = run(created_on_planfix(), pf={**SYNCED, "title": "Garage door"})

    (update,) = p.operations
    assert (update.kind, update.target, update.changes[0].new) == ("update", "planningpme", "Garage door")


def test_a_trimmed_and_recased_title_is_held() -> None:
    p = run(created_on_planfix({**SYNCED, "title": " roof  repair"}), pf={**SYNCED, "title": "Roof repair"})

    assert kinds(p) == [("refresh", None)]
    assert p.operations[0].echo.held == {"planfix": {"title": "Roof repair"}}


def test_a_side_not_awaiting_its_echo_is_read_as_usual() -> None:
    synced = LinkState("T1", "E1", SYNCED, h(SYNCED), h(SYNCED))

    p = run(synced, pf={**SYNCED, "status": "1"}, pme_deleted=True)

    assert [op.kind for op in p.operations] == ["unlink", "create"]


def test_modification_over_an_archived_record_reopens_it() -> None:
    synced = LinkState("T1", "E1", SYNCED, h(SYNCED), h(SYNCED))

    p = run(
        synced,
        pme={**SYNCED, "title": "Roof repair, confirmed", "status": "2"},
        pf_deleted=True,
        pf_archived=True,
    )

    (op,) = p.operations
    assert (op.kind, op.target, op.rule) == ("update", "planfix", REOPEN_RULE)
    assert {c.field: c.new for c in op.changes} == {
        "title": "Roof repair, confirmed",
        "status": "2",
        "phone": "",
    }


def test_modification_over_a_record_gone_for_good_creates_it_again() -> None:
    synced = LinkState("T1", "E1", SYNCED, h(SYNCED), h(SYNCED))

    p = run(synced, pme={**SYNCED, "title": "Roof repair, confirmed"}, pf_deleted=True)

    assert [op.kind for op in p.operations] == ["unlink", "create"]


@pytest.mark.parametrize(
    ("written", "read", "echo"),
    [
        (None, "1", True),
        ("", "C1", True),
        ("Roof repair", "Roof repair", True),
        ("  Roof   repair ", "roof repair", True),
        ("Roof repair", "Roof repairs", False),
        (12.345, 12.35, True),
        (12.345, 12.3, True),
        (12.345, 12.4, False),
        (5, 7, False),
        ("2026-12-01T09:00:42+00:00", "2026-12-01T09:00:00+00:00", True),
        ("2026-12-01T09:00:00+00:00", "2026-12-01T09:01:00+00:00", False),
        (["R1", "R2"], ["R2", "R1"], True),
        (["R1", "R2"], ["R1"], False),
        ("Roof", None, False),
    ],
)
def test_is_echo(written: Any, read: Any, echo: bool) -> None:
    assert is_echo(written, read) is echo


WORDS = st.text(alphabet="abcxyzABCXYZ ñÁ", min_size=1, max_size=12).filter(str.strip)


@given(WORDS)
def test_spacing_and_case_alone_are_an_echo(text: str) -> None:
    assert is_echo(text, f"  {' '.join(text.upper().split())} ")


@given(WORDS, WORDS)
def test_any_other_text_is_an_edit(written: str, read: str) -> None:
    differ = " ".join(written.split()).casefold() != " ".join(read.split()).casefold()
    assert is_echo(written, read) is not differ


def test_the_echo_survives_its_stored_form() -> None:
    echo = Echo({"planfix": frozenset({"status", "title"})}, {"planningpme": {"status": "C1"}})

    assert Echo.from_json(echo.as_json()) == echo
    assert Echo().as_json() == {}
    assert Echo.from_json(None) == Echo()


def test_a_reopen_writes_back_the_value_the_archived_side_held() -> None:
    held = Echo({}, {"planfix": {"status": "1"}})
    synced = LinkState("T1", "E1", SYNCED, h({**SYNCED, "status": "1"}), h(SYNCED), held)

    p = run(synced, pme={**SYNCED, "title": "Roof repair, confirmed"}, pf_deleted=True, pf_archived=True)

    (op,) = p.operations
    assert op.rule == REOPEN_RULE
    assert {c.field: c.new for c in op.changes}["status"] == "1"
    assert op.canonical["status"] is None, "the synced value stays: nothing is copied to PlanningPME"
    assert op.echo.held == {"planfix": {"status": "1"}}


def test_an_archive_value_is_never_taken_for_a_default() -> None:
    canceled = obs("planfix", "T1", {**SYNCED, "status": "4"})

    assert changed_fields(RULES, created_on_planfix(), canceled) == {}, "in the planner: a default"
    assert changed_fields(RULES, created_on_planfix(), canceled, defaults=False) == {"status": "4"}
