"""Pairs reference records of the two accounts for ``syncd init``: Planfix users with PlanningPME
resources (by e-mail, then by name), task statuses with categories (by name, then by a known
synonym). Pure: it sees only what was read.

Only a one-to-one match is a pair: two records on a side with the same e-mail or name are left for a
person, because a guess there would send one person's work to another.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final


@dataclass(frozen=True)
class Ref:
    """A reference record: its key in its account, its name and (people only) its e-mail."""

    key: str
    name: str
    email: str = ""


@dataclass(frozen=True)
class Pair:
    planfix: Ref
    planningpme: Ref
    how: str
    """The rule that paired them ("e-mail", "name", "synonym")."""


@dataclass(frozen=True)
class Pairing:
    pairs: tuple[Pair, ...]
    planfix_left: tuple[Ref, ...]
    """Planfix records nothing paired (for a person to finish)."""
    planningpme_left: tuple[Ref, ...]


Rule = tuple[str, Callable[[Ref], str]]

STATUS_SYNONYMS: Final = MappingProxyType(
    {
        "to do": "new",
        "todo": "new",
        "open": "new",
        "done": "completed",
        "finished": "completed",
        "cancelled": "canceled",
        "in work": "in progress",
    }
)
"""Names that mean the same state of work (Planfix's system statuses against common category
names); compared after ``normal_name``."""
CANCELED: Final = "canceled"


def normal_name(name: str) -> str:
    """Case and spacing ignored: ``"  John   SMITH"`` is ``"john smith"``."""
    return " ".join(name.casefold().split())


def _email(ref: Ref) -> str:
    return ref.email.strip().casefold()


def _name(ref: Ref) -> str:
    return normal_name(ref.name)


def status_word(ref: Ref) -> str:
    """The name as its synonym group (``"To do"`` → ``"new"``)."""
    name = normal_name(ref.name)
    return STATUS_SYNONYMS.get(name, name)


PEOPLE_RULES: Final[tuple[Rule, ...]] = (("e-mail", _email), ("name", _name))
STATUS_RULES: Final[tuple[Rule, ...]] = (("name", _name), ("synonym", status_word))


def pair(planfix: Sequence[Ref], planningpme: Sequence[Ref], rules: Sequence[Rule]) -> Pairing:
    """Apply ``rules`` in order to what is still unpaired; a rule pairs a value found exactly once
    on each side."""
    left, right = list(planfix), list(planningpme)
    pairs: list[Pair] = []
    for how, key in rules:
        left_counts = Counter(key(r) for r in left)
        right_by = {key(r): r for r in right}
        right_counts = Counter(key(r) for r in right)
        for ref in list(left):
            value = key(ref)
            if not value or left_counts[value] != 1 or right_counts[value] != 1:
                continue
            match = right_by[value]
            pairs.append(Pair(ref, match, how))
            left.remove(ref)
            right.remove(match)
    order = {ref.key: i for i, ref in enumerate(planfix)}
    pairs.sort(key=lambda p: order[p.planfix.key])
    return Pairing(tuple(pairs), tuple(left), tuple(right))


def pair_people(users: Sequence[Ref], resources: Sequence[Ref]) -> Pairing:
    return pair(users, resources, PEOPLE_RULES)


def pair_statuses(statuses: Sequence[Ref], categories: Sequence[Ref]) -> Pairing:
    return pair(statuses, categories, STATUS_RULES)
