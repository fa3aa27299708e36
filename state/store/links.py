"""Links and tombstones: what the cycle knows about which records are the same thing.

Every write here bumps the pair's generation (``StoreBase._changed``), which is what lets the
engine keep links in memory between cycles; so links and tombstones, the two things that counter
covers, live together. The scan index and raw digests are columns of the link, read here too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select, update

from state.models import Link, Tombstone
from state.rows import LinkRow, synced_link
from state.store.base import StoreBase
from state.store.convert import LINK_COLUMNS, link_row, link_row_of
from state.store.linking import IN_CHUNK, upsert_link_row, upsert_link_rows


class LinkQueries(StoreBase):
    """Reading and writing links, their scan index and raw digests, and tombstones."""

    # --- links ---------------------------------------------------------------------------------

    def links(self, pair: str) -> list[LinkRow]:
        with self._session("links") as s:
            query = LINK_COLUMNS.where(col(Link.pair) == pair).order_by(col(Link.id))
            return [link_row_of(values) for values in s.connection().execute(query)]

    def links_by_keys(
        self, pair: str, planfix_keys: Iterable[str] = (), planningpme_keys: Iterable[str] = ()
    ) -> list[LinkRow]:
        """The links holding any of the keys, each once: what a cycle that read only some records
        needs, without loading every link of the pair."""
        found: dict[tuple[str, str], LinkRow] = {}
        with self._session("links_by_keys") as s:
            for column, keys in ((Link.planfix_key, planfix_keys), (Link.planningpme_key, planningpme_keys)):
                wanted = sorted(set(keys))
                for start in range(0, len(wanted), IN_CHUNK):
                    query = LINK_COLUMNS.where(
                        col(Link.pair) == pair, col(column).in_(wanted[start : start + IN_CHUNK])
                    )
                    for values in s.connection().execute(query):
                        row = link_row_of(values)
                        found[(row.planfix_key, row.planningpme_key)] = row
        return list(found.values())

    def link_keys(self, pair: str) -> list[tuple[str, str]]:
        """``(planfix_key, planningpme_key)`` of every link of the pair, without what was synced."""
        with self._session("link_keys") as s:
            query = select(Link.planfix_key, Link.planningpme_key).where(Link.pair == pair)
            return [(pf, pme) for pf, pme in s.exec(query)]

    def scan_index(self, pair: str, side: str) -> tuple[dict[str, str], dict[str, str]]:
        """What a full scan of ``side`` compares each record with: every linked key's stored hash,
        and, for the keys whose raw digest is still valid (noted against the hash the link holds
        now), that digest. Nothing of what was synced is loaded: that is what keeps it small."""
        key_col, hash_col, raw_col = _side_columns(side)
        tag_length = func.length(hash_col) + 1
        valid = case(
            (func.substr(raw_col, 1, tag_length) == hash_col + ":", func.substr(raw_col, tag_length + 1)),
            else_=None,
        )
        hashes: dict[str, str] = {}
        digests: dict[str, str] = {}
        with self._session("scan_index") as s:
            query = sa_select(key_col, hash_col, valid).where(col(Link.pair) == pair)
            for key, digest_of, digest in s.connection().execute(query):
                hashes[key] = digest_of
                if digest:
                    digests[key] = digest
        return hashes, digests

    def awaiting_echo(self, pair: str, side: str) -> set[str]:
        """Keys of ``side`` whose link waits for the read-back of syncd's own write there: a full
        scan must hand them to the planner even when their digest matches (the read-back settles
        the echo). Only links with an echo are parsed, and those are few."""
        key_col, _, _ = _side_columns(side)
        found: set[str] = set()
        with self._session("awaiting_echo") as s:
            query = sa_select(key_col, col(Link.echo)).where(col(Link.pair) == pair, col(Link.echo) != "{}")
            for key, echo in s.connection().execute(query):
                data = json.loads(echo) if isinstance(echo, str) else echo
                if (data or {}).get("awaiting", {}).get(side):
                    found.add(key)
        return found

    def note_raw_digests(self, pair: str, side: str, notes: Iterable[tuple[str, str, str]]) -> None:
        """Remember ``(key, hash, digest)``: the raw record ``key`` of ``side`` whose digest this is
        maps to ``hash``. Noted only where the link still holds that hash; one transaction."""
        key_col, hash_col, raw_col = _side_columns(side)
        rows = [
            {"k": key, "h": digest_of, "raw": f"{digest_of}:{digest}"} for key, digest_of, digest in notes
        ]
        if not rows:
            return
        statement = (
            update(Link)
            .where(col(Link.pair) == pair, key_col == bindparam("k"), hash_col == bindparam("h"))
            .values({raw_col.key: bindparam("raw")})
        )
        with self._session("note_raw_digests", write=True) as s:
            s.connection().execute(statement, rows)

    def link_count(self, pair: str) -> int:
        with self._session("link_count") as s:
            return int(s.exec(select(func.count()).select_from(Link).where(Link.pair == pair)).one())

    def link_by_planfix(self, pair: str, key: str) -> LinkRow | None:
        with self._session("link_by_planfix") as s:
            found = s.exec(select(Link).where(Link.pair == pair, Link.planfix_key == key)).first()
            return None if found is None else link_row(found)

    def link_by_planningpme(self, pair: str, key: str) -> LinkRow | None:
        with self._session("link_by_planningpme") as s:
            found = s.exec(select(Link).where(Link.pair == pair, Link.planningpme_key == key)).first()
            return None if found is None else link_row(found)

    def upsert_link(
        self,
        pair: str,
        planfix_key: str,
        planningpme_key: str,
        canonical: Mapping[str, Any],
        planfix_hash: str,
        planningpme_hash: str,
        now: datetime,
        echo: Mapping[str, Any] | None = None,
    ) -> None:
        """Record that the two records are linked and what was synced between them (``echo``: see
        ``LinkRow.echo``; None stores none).

        A link is found by either key. If one link already holds either key it is updated (and
        re-keyed, e.g. after a record was re-created); if the keys belong to two different links,
        LinkConflict is raised and nothing is written.
        """
        row = synced_link(
            pair, (planfix_key, planningpme_key), canonical, (planfix_hash, planningpme_hash), now, echo
        )
        with self._session("upsert_link", write=True) as s:
            upsert_link_row(s, row)
        self._changed(pair)

    def upsert_links_batch(self, rows: Iterable[LinkRow]) -> None:
        """Many upserts in one transaction (first sync, re-matching); all or none are written.

        The same rules as ``upsert_link``, applied row after row, but the links the rows name are
        read up front, IN_CHUNK keys a query, instead of two queries a row.
        """
        batch = list(rows)
        pairs = {row.pair for row in batch}
        with self._session("upsert_links_batch", write=True) as s:
            for pair in sorted(pairs):
                upsert_link_rows(s, pair, [row for row in batch if row.pair == pair])
        for pair in pairs:
            self._changed(pair)

    def delete_link(self, pair: str, planfix_key: str, planningpme_key: str) -> bool:
        """Forget the link between exactly these two keys; False if there was none."""
        with self._session("delete_link", write=True) as s:
            found = s.exec(
                select(Link).where(
                    Link.pair == pair,
                    Link.planfix_key == planfix_key,
                    Link.planningpme_key == planningpme_key,
                )
            ).first()
            if found is None:
                return False
            s.delete(found)
        self._changed(pair)
        return True

    # --- tombstones ----------------------------------------------------------------------------

    def add_tombstone(self, pair: str, side: str, key: str, reason: str, now: datetime) -> bool:
        """Remember a deletion for good; False (and the first record kept) if already there."""
        with self._session("add_tombstone", write=True) as s:
            if s.get(Tombstone, (pair, side, key)) is not None:
                return False
            s.add(Tombstone(pair=pair, side=side, key=key, deleted_at=now, reason=reason))
        self._changed(pair)
        return True

    def tombstones(self, pair: str) -> set[tuple[str, str]]:
        """``{(side, key)}`` of every record of the pair deleted on purpose."""
        with self._session("tombstones") as s:
            rows = s.exec(select(Tombstone.side, Tombstone.key).where(Tombstone.pair == pair))
            return {(side, key) for side, key in rows}

    def is_tombstoned(self, pair: str, side: str, key: str) -> bool:
        with self._session("is_tombstoned") as s:
            return s.get(Tombstone, (pair, side, key)) is not None


def _side_columns(side: str) -> tuple[Any, Any, Any]:
    """The link's key, hash and raw digest columns of one side."""
    if side == "planfix":
        return col(Link.planfix_key), col(Link.planfix_hash), col(Link.planfix_raw)
    if side == "planningpme":
        return col(Link.planningpme_key), col(Link.planningpme_hash), col(Link.planningpme_raw)
    raise ValueError(f"unknown side {side!r}")
