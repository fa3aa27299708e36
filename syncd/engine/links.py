"""The links a cycle works with, and the look-up of related records through another pair's links.

Both exist so that the cost of a cycle follows the records it reads, not the size of the state:
a scheduled cycle that sees ten changed tasks of a pair with 100,000 links loads a few dozen
links, and mapping ten thousand tasks does not ask the database ten thousand times who their
clients are.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from state.rows import LinkRow
from state.store import Store
from syncd.engine.planner import SIDES, Echo, LinkState, Side


class LinkSet:
    """The pair's links one cycle works with, by either key, loaded on demand (``want``), a query
    per few hundred keys, however many links the pair has.

    After a full scan every linked key is needed (a linked record missing from a full listing is
    gone), so with ``everything`` the keys of every link are read at once — but only the keys:
    what was synced is loaded, as otherwise, for the records the plan is made from.
    """

    def __init__(
        self,
        store: Store,
        pair: str,
        *,
        everything: bool,
        linked: Mapping[Side, Collection[str]] | None = None,
    ) -> None:
        """``linked``: every linked key per side, when the caller has read them already."""
        self._store = store
        self._pair = pair
        self.everything = everything
        self._by: dict[Side, dict[str, LinkState]] = {side: {} for side in SIDES}
        self._known: dict[Side, set[str]] = {side: set() for side in SIDES}
        """Keys whose link (or lack of one) is loaded."""
        self._linked: dict[Side, Collection[str]] | None = None
        """Every linked key, when ``everything`` (the caller's collections, not copied)."""
        if everything and linked is not None:
            self._linked = {side: linked[side] for side in SIDES}
            self.count = len(self._linked["planfix"])
        elif everything:
            keys = store.link_keys(pair)
            self._linked = {"planfix": {pf for pf, _ in keys}, "planningpme": {pme for _, pme in keys}}
            self.count = len(keys)
        else:
            self.count = store.link_count(pair)

    def _add(self, row: LinkRow) -> None:
        link = link_state(row)
        for side in SIDES:
            self._by[side][link.key(side)] = link
            self._known[side].add(link.key(side))

    def want(self, side: Side, keys: Iterable[str]) -> None:
        """Make sure the links of these keys are loaded (if they have one)."""
        linked = self._linked[side] if self._linked is not None else None
        missing = {key for key in keys if key not in self._known[side] and (linked is None or key in linked)}
        if not missing:
            return
        rows = self._store.links_by_keys(
            self._pair,
            missing if side == "planfix" else (),
            missing if side == "planningpme" else (),
        )
        self._known[side] |= missing
        for row in rows:
            self._add(row)

    def get(self, side: Side, key: str) -> LinkState | None:
        if key not in self._known[side]:
            self.want(side, (key,))
        return self._by[side].get(key)

    def keys(self, side: Side) -> set[str]:
        """Every linked key of ``side``: only known after reading every key (everything=True)."""
        if self._linked is None:
            raise RuntimeError("LinkSet.keys() needs every link's keys read (everything=True)")
        return set(self._linked[side])

    def missing_from(self, side: Side, present: Collection[str]) -> set[str]:
        """The linked keys of ``side`` that are not in ``present`` (after a full scan: gone, or
        left out of the listing), without copying every linked key first."""
        if self._linked is None:
            raise RuntimeError("LinkSet.missing_from() needs every link's keys read (everything=True)")
        return {key for key in self._linked[side] if key not in present}

    def states(self) -> tuple[LinkState, ...]:
        """The links loaded so far, each once."""
        return tuple(self._by["planfix"].values())


@dataclass(frozen=True)
class _PairKeys:
    generation: int
    to_planningpme: dict[str, str]
    to_planfix: dict[str, str]
    tombstones: frozenset[tuple[str, str]]


class LinkResolverFromStore:
    """Resolves related records (task client ↔ event customer) through another pair's links.

    Every record a cycle maps may ask about its related records, so each pair's keys and
    tombstones are kept in memory and read again only when the store says this process changed
    them (``Store.generation``). A read-only store never does: a dry run works from the snapshot
    it read first, as it does for everything else.
    """

    def __init__(self, store: Store, pairs_by_entity: Mapping[str, str]) -> None:
        self.store = store
        self.pairs_by_entity = pairs_by_entity
        self._cache: dict[str, _PairKeys] = {}

    def _keys(self, entity: str) -> _PairKeys | None:
        pair = self.pairs_by_entity.get(entity)
        if pair is None:
            return None
        generation = self.store.generation(pair)  # before reading: a change meanwhile reloads next time
        cached = self._cache.get(pair)
        if cached is None or cached.generation != generation:
            keys = self.store.link_keys(pair)
            cached = _PairKeys(
                generation,
                dict(keys),
                {pme: pf for pf, pme in keys},
                frozenset(self.store.tombstones(pair)),
            )
            self._cache[pair] = cached
        return cached

    def planningpme_key(self, entity: str, planfix_key: str) -> str | None:
        keys = self._keys(entity)
        return keys.to_planningpme.get(planfix_key) if keys else None

    def planfix_key(self, entity: str, planningpme_key: str) -> str | None:
        keys = self._keys(entity)
        return keys.to_planfix.get(planningpme_key) if keys else None

    def deleted(self, entity: str, side: Side, key: str) -> bool:
        """Whether the related record was deleted on purpose (tombstoned): it will never be linked."""
        keys = self._keys(entity)
        return keys is not None and (side, key) in keys.tombstones


@runtime_checkable
class KnowsDeletions(Protocol):
    """A link resolver that also knows which related records were deleted on purpose (the mapping
    layer's ``LinkResolver`` has no need to)."""

    def deleted(self, entity: str, side: Side, key: str) -> bool: ...


def link_state(row: LinkRow) -> LinkState:
    """A stored link as the planner sees it."""
    return LinkState(
        row.planfix_key,
        row.planningpme_key,
        row.canonical,
        row.planfix_hash,
        row.planningpme_hash,
        Echo.from_json(row.echo),
    )
