"""Writing links inside a transaction someone else opened.

Two operations must write a link as part of a bigger transaction: ``upsert_link`` and its batch
form (links.py), and ``complete_intent`` (journal.py), which records the new link and closes its
intent with no window between them. The rules of a link write (found by either key, re-keyed, or
LinkConflict when the keys belong to two links) live here once, for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlmodel import Session, col, select

from state.errors import LinkConflict
from state.models import Link
from state.rows import LinkRow

IN_CHUNK = 500
"""Keys per ``IN (…)`` list: well under SQLite's limit on bound parameters."""


def upsert_link_row(s: Session, row: LinkRow) -> None:
    """Insert or update the link holding either key of ``row``; LinkConflict if two links do."""
    by_planfix = s.exec(
        select(Link).where(Link.pair == row.pair, Link.planfix_key == row.planfix_key)
    ).first()
    by_pme = s.exec(
        select(Link).where(Link.pair == row.pair, Link.planningpme_key == row.planningpme_key)
    ).first()
    if by_planfix is not None and by_pme is not None and by_planfix.id != by_pme.id:
        raise _two_links(row, by_planfix, by_pme)
    link = (
        by_planfix
        or by_pme
        or Link(
            pair=row.pair,
            planfix_key=row.planfix_key,
            planningpme_key=row.planningpme_key,
            canonical={},
            planfix_hash="",
            planningpme_hash="",
            created_at=row.created_at,
            synced_at=row.synced_at,
        )
    )
    link.planfix_key, link.planningpme_key = row.planfix_key, row.planningpme_key
    link.canonical = dict(row.canonical)
    link.planfix_hash, link.planningpme_hash = row.planfix_hash, row.planningpme_hash
    link.synced_at = row.synced_at
    link.echo = dict(row.echo)
    s.add(link)
    s.flush()


def upsert_link_rows(s: Session, pair: str, rows: Sequence[LinkRow]) -> None:
    """``upsert_link_row`` for many rows of one pair, with the links they name read up front."""
    by_planfix: dict[str, Link | _NewLink] = {}
    by_pme: dict[str, Link | _NewLink] = {}
    for column, keys in (
        (Link.planfix_key, {r.planfix_key for r in rows}),
        (Link.planningpme_key, {r.planningpme_key for r in rows}),
    ):
        wanted = sorted(keys)
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            for stored in s.exec(select(Link).where(Link.pair == pair, col(column).in_(chunk))):
                by_planfix[stored.planfix_key] = stored
                by_pme[stored.planningpme_key] = stored
    new: list[_NewLink] = []
    for row in rows:
        found_pf, found_pme = by_planfix.get(row.planfix_key), by_pme.get(row.planningpme_key)
        if found_pf is not None and found_pme is not None and found_pf is not found_pme:
            raise _two_links(row, found_pf, found_pme)
        existing = found_pf or found_pme
        link: Link | _NewLink
        if existing is None:
            fresh = _NewLink(
                row.pair, row.planfix_key, row.planningpme_key, {}, "", "", row.created_at, row.synced_at, {}
            )
            new.append(fresh)
            link = fresh
        else:
            link = existing
            by_planfix.pop(link.planfix_key, None)
            by_pme.pop(link.planningpme_key, None)
        rekeyed = (link.planfix_key, link.planningpme_key) != (row.planfix_key, row.planningpme_key)
        link.planfix_key, link.planningpme_key = row.planfix_key, row.planningpme_key
        link.canonical = dict(row.canonical)
        link.planfix_hash, link.planningpme_hash = row.planfix_hash, row.planningpme_hash
        link.synced_at = row.synced_at
        link.echo = dict(row.echo)
        by_planfix[link.planfix_key] = link
        by_pme[link.planningpme_key] = link
        if isinstance(link, Link):
            s.add(link)
            if rekeyed:
                s.flush()  # a key this link gave up may be taken by a later row: write it now
    s.flush()
    if new:
        # New links go in as one multi-row INSERT; the ORM would build and track an object each.
        names = _NewLink.__slots__
        s.connection().execute(sa_insert(Link), [{n: getattr(link, n) for n in names} for link in new])


def _two_links(row: LinkRow, by_planfix: Link | _NewLink, by_pme: Link | _NewLink) -> LinkConflict:
    """The refusal when the keys of ``row`` are held by two different links."""
    return LinkConflict(
        row.pair,
        row.planfix_key,
        row.planningpme_key,
        f"planfix {row.planfix_key!r} is linked to planningpme {by_planfix.planningpme_key!r} and "
        f"planningpme {row.planningpme_key!r} to planfix {by_pme.planfix_key!r}",
    )


@dataclass(slots=True)
class _NewLink:
    """A link ``upsert_link_rows`` will insert (plain, so thousands of them cost little)."""

    pair: str
    planfix_key: str
    planningpme_key: str
    canonical: dict[str, Any]
    planfix_hash: str
    planningpme_hash: str
    created_at: datetime
    synced_at: datetime
    echo: dict[str, Any]
