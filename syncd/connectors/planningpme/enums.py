"""Enumerations given as numbers: their names, from the account's ``/api/config`` or a fallback.

The seed's current ``/api/config`` gives enums as strings (``"Company": "Company"``); an older copy of
the same page gives numbers (``"All": 0``), and replies of such a version carry numbers in enum
properties too. syncd works with names, so a number is looked up in the account's own table, and
only when the account's config cannot be read in ``FALLBACK_ENUMS`` (see ``assumptions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncd.connectors.planningpme.assumptions import FALLBACK_ENUMS


@dataclass(frozen=True)
class EnumNames:
    """Number → name per enum."""

    tables: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    from_account: bool = False

    @classmethod
    def fallback(cls) -> EnumNames:
        return cls({name: dict(enumerate(names)) for name, names in FALLBACK_ENUMS.items()})

    @classmethod
    def from_config(cls, document: Any) -> EnumNames:
        """The numbers the account's ``/api/config`` gives; enums it gives as strings (or not at
        all) keep the fallback numbering."""
        tables: dict[str, Mapping[int, str]] = dict(cls.fallback().tables)
        enums = document.get("enums") if isinstance(document, Mapping) else None
        if not isinstance(enums, Mapping):
            return cls(tables)
        for name, members in enums.items():
            if not isinstance(members, Mapping):
                continue
            numbers = {
                value: str(member)
                for member, value in members.items()
                if isinstance(value, int) and not isinstance(value, bool)
            }
            if numbers:
                tables[str(name)] = numbers
        return cls(tables, from_account=True)

    def name(self, enum: str, value: object) -> object:
        """The name of ``value`` when it is a known number of ``enum``; otherwise ``value``."""
        if isinstance(value, bool) or not isinstance(value, int):
            return value
        return self.tables.get(enum, {}).get(value, value)
