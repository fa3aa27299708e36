"""Pairing reference records for ``syncd init``: the rules in order, and only one-to-one matches."""

from __future__ import annotations

from syncd.cli.onboarding.pairing import Ref, pair_people, pair_statuses


def _pairs(found: object) -> list[tuple[str, str, str]]:
    return [(p.planfix.key, p.planningpme.key, p.how) for p in found.pairs]  # type: ignore[attr-defined]


def test_people_pair_by_email_first_then_by_name_ignoring_case_and_spacing() -> None:
    users = [
        Ref("1", "Иван Петров", "Ivan@Example.com"),
        Ref("2", "John  Smith", ""),
        Ref("3", "Nobody Here", "nobody@example.com"),
    ]
    resources = [
        Ref("R9", "Ivan P.", "ivan@example.com "),
        Ref("R2", "john smith", "other@example.com"),
        Ref("R7", "Carlos Ruiz", "carlos@example.com"),
    ]
    found = pair_people(users, resources)
    assert _pairs(found) == [("1", "R9", "e-mail"), ("2", "R2", "name")]
    assert [r.key for r in found.planfix_left] == ["3"]
    assert [r.key for r in found.planningpme_left] == ["R7"]


def test_an_ambiguous_name_or_email_is_left_for_a_person() -> None:
    users = [Ref("1", "Ana López", "a@x.com"), Ref("2", "Ana López", "")]
    resources = [Ref("R1", "ana lópez", ""), Ref("R2", "Other", "a@x.com"), Ref("R3", "Other", "a@x.com")]
    found = pair_people(users, resources)
    assert found.pairs == ()
    assert len(found.planfix_left) == 2 and len(found.planningpme_left) == 3


def test_statuses_pair_with_categories_by_name_then_by_synonym() -> None:
    statuses = [
        Ref("1", "New"),
        Ref("2", "In progress"),
        Ref("3", "Completed"),
        Ref("4", "Canceled"),
        Ref("6", "Waiting for parts"),
    ]
    categories = [
        Ref("C1", "To do"),
        Ref("C2", "IN PROGRESS"),
        Ref("C3", "Done"),
        Ref("C4", "Cancelled"),
        Ref("C9", "Holiday"),
    ]
    found = pair_statuses(statuses, categories)
    assert _pairs(found) == [
        ("1", "C1", "synonym"),
        ("2", "C2", "name"),
        ("3", "C3", "synonym"),
        ("4", "C4", "synonym"),
    ]
    assert [r.key for r in found.planfix_left] == ["6"]
    assert [r.key for r in found.planningpme_left] == ["C9"]
