"""Full scans that cost what changed, not what exists: unchanged records are neither mapped nor kept.

The daily full scan lists every record of both systems, yet nearly all of them are as they were.
Mapping each one (and holding every record and its canonical values until the plan is made) cost
about 25 s and 770 MB at 100,000 linked records. So, as each page arrives, a linked record is
compared with what the state knows about it:

- its *raw digest* (the raw native record, the mapping in force and the keys its related records
  resolve to) equals the one noted against the link's current hash: its canonical values would
  hash to what the link holds, so it is unchanged — it is neither mapped nor kept;
- otherwise it is mapped; if it maps to the link's hash (included, nothing unresolved), it is
  unchanged too: its digest is noted for the next scan and it is not kept.

A linked record that is unchanged on its side adds nothing to a plan: the planner takes the
link's values for it, exactly as for a record an incremental listing did not return (a property
test holds the two plans equal). Only its key is kept, so a linked record missing from the scan
still counts as deleted. Records the cycle needs in any case (unlinked ones, failing ones, pushed
ones) are always mapped and kept.

A digest is noted as ``<hash>:<digest>`` against the link and counts only while the link still
holds that hash, so any write to the link (from either side, or a recovery that empties the
hashes) makes the next scan map the record again.
"""

from __future__ import annotations

import hashlib
import json
import marshal
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import syncd
from state.store import Store
from syncd.connectors.base import RemoteRecord
from syncd.engine.pairs import Pair
from syncd.engine.planner import Observed, Side

NOTE_BATCH = 2000
"""Digests noted per transaction while a scan reads."""

Outcome = Observed | str
"""A record observed, or why the mapping cannot translate it."""


def mapping_fingerprint(pair: Pair) -> bytes:
    """What, besides the raw record, decides its canonical values: the mapping file, the two time
    zones and the version of syncd that maps. Any change makes every digest differ."""
    mapper = pair.mapper
    text = json.dumps(
        [
            syncd.__version__,
            mapper.spec.model_dump_json(),
            str(mapper.ctx.planfix_zone),
            str(mapper.ctx.planningpme_zone),
        ]
    )
    return hashlib.blake2b(text.encode("utf-8"), digest_size=32).digest()


def resolved_related(pair: Pair, side: Side, record: RemoteRecord) -> list[tuple[str, str, str | None]]:
    """(entity, key, the other side's key or None) of each record this one refers to."""
    resolver = pair.mapper.ctx.links
    lookup = resolver.planningpme_key if side == "planfix" else resolver.planfix_key
    return [(entity, key, lookup(entity, key)) for entity, key in pair.mapper.related(side, record.data)]


class FullScan:
    """One side of one full scan: sifts each page as it arrives (in the reading thread)."""

    def __init__(
        self,
        store: Store,
        pair: Pair,
        side: Side,
        *,
        needed: Collection[str],
        observe: Callable[[RemoteRecord], Outcome],
        write: bool,
    ) -> None:
        self._store = store
        self._pair = pair.name
        self.side: Side = side
        self._needed = {*needed, *store.awaiting_echo(pair.name, side)}
        self._observe = observe
        self._mapping = pair
        self._write = write
        self._fingerprint = mapping_fingerprint(pair)
        self._hashes, self.digests = store.scan_index(pair.name, side)
        """``digests``: noted by earlier scans (and still valid), by key."""
        self._notes: list[tuple[str, str, str]] = []
        self.present: set[str] = set()
        """Every key the listing returned, kept or not."""
        self.skipped = 0
        """Records dropped without being mapped (their digest matched)."""
        self.unchanged = 0
        """Records mapped, found unchanged and dropped."""

    def digest(self, record: RemoteRecord) -> str:
        """The raw record, the mapping and its related records' links, in 128 bits."""
        related = resolved_related(self._mapping, self.side, record)
        return hashlib.blake2b(
            _serial((record.data, related)), digest_size=16, key=self._fingerprint
        ).hexdigest()

    def sift(self, batch: Iterable[RemoteRecord], keep: dict[str, tuple[RemoteRecord, Outcome]]) -> set[str]:
        """Put the records the cycle must plan with into ``keep`` (with their outcome); return
        their keys. The others are only counted as present."""
        kept: set[str] = set()
        for record in batch:
            key = record.key
            self.present.add(key)
            stored = self._hashes.get(key)
            if stored is not None and key not in self._needed:
                digest = self.digest(record)
                if self.digests.get(key) == digest:
                    self.skipped += 1
                    continue
                outcome = self._observe(record)
                if _unchanged(outcome, stored):
                    self.unchanged += 1
                    self.note(key, stored, digest)
                    continue
            else:
                outcome = self._observe(record)
            keep[key] = (record, outcome)
            kept.add(key)
        return kept

    def seen(
        self, keep: dict[str, tuple[RemoteRecord, Outcome]]
    ) -> Callable[[Sequence[RemoteRecord]], set[str]]:
        """The listing's ``seen`` callback: sifts each page, and tells the connector which
        records to keep in its listing (the others are dropped as soon as they are read)."""
        return lambda batch: self.sift(batch, keep)

    def note(self, key: str, stored: str, digest: str) -> None:
        """Remember that the raw record ``key`` with this digest maps to the link's hash ``stored``."""
        if not self._write:
            return
        self._notes.append((key, stored, digest))
        if len(self._notes) >= NOTE_BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the digests noted so far (the last ones when the listing ends)."""
        notes, self._notes = self._notes, []
        if notes:
            self._store.note_raw_digests(self._pair, self.side, notes)

    def linked_keys(self) -> Collection[str]:
        """Every key of this side that had a link when the scan started."""
        return self._hashes.keys()

    def summary(self) -> Mapping[str, Any]:
        return {"skipped": self.skipped, "unchanged": self.unchanged, "present": len(self.present)}


def _serial(value: Any) -> bytes:
    """The JSON-like value as bytes, fast: marshal format 0 writes values only (no references,
    no interning flags), so equal values give equal bytes; anything marshal refuses is printed.
    Either way a difference can only make a record be mapped again, never skipped wrongly."""
    try:
        return marshal.dumps(value, 0)
    except ValueError:
        return repr(value).encode()


def _unchanged(outcome: Outcome, stored: str) -> bool:
    return (
        isinstance(outcome, Observed)
        and outcome.hash == stored
        and outcome.included
        and not outcome.unresolved
    )
