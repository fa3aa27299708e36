"""After the soak: did both sides converge, and how did memory behave.

Convergence is judged the way an admin would: every linked pair holds equal values in every
two-way mapped field, every record that takes part on one side has its counterpart, and no
record exists twice (a marker seen on two live records of one side). Records parked in the failure
queue or waiting for a person (manual conflicts) are counted separately: they are reported, not
hidden.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field
from pathlib import Path

from state.store import Store
from syncd.engine.pairs import Pair
from syncd.engine.planner import SIDES


@dataclass
class PairVerdict:
    pair: str
    links: int = 0
    mismatched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unlinked: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    parked: int = 0
    archived_twins: int = 0
    """Archived records that share a marker with a live one (see ``check_pair``)."""
    conflicts_waiting: int = 0

    @property
    def converged(self) -> bool:
        return not (self.mismatched or self.missing or self.unlinked or self.duplicates)


def check_pair(pair: Pair, store: Store) -> PairVerdict:
    verdict = PairVerdict(pair.name)
    records = {
        side: {r.key: r for r in pair.connectors[side].list_changed(None, full=True).records}
        for side in SIDES
    }
    two_way = [f.name for f in pair.mapper.spec.fields if f.direction == "both"]
    links = store.links(pair.name)
    verdict.links = len(links)
    linked = {side: set[str]() for side in SIDES}
    for link in links:
        pf, pme = records["planfix"].get(link.planfix_key), records["planningpme"].get(link.planningpme_key)
        linked["planfix"].add(link.planfix_key)
        linked["planningpme"].add(link.planningpme_key)
        if pf is None or pme is None:
            verdict.missing.append(f"{link.planfix_key}<->{link.planningpme_key}")
            continue
        left = pair.mapper.canonical("planfix", pf.data)
        right = pair.mapper.canonical("planningpme", pme.data)
        # A value one system filled in by itself (a default status) is held on that side and not
        # copied (property 17): the sides may differ there until a person sets the field.
        held = {name for values in link.echo.get("held", {}).values() for name in values}
        for name in two_way:
            if name not in held and left.get(name) != right.get(name):
                pair_keys = f"{link.planfix_key}<->{link.planningpme_key}"
                verdict.mismatched.append(f"{pair_keys} {name}: {left.get(name)!r} != {right.get(name)!r}")
    failing = {(f.side, f.key) for f in store.failures(pair.name)}
    verdict.parked = sum(1 for f in store.failures(pair.name) if f.parked)
    tombstones = store.tombstones(pair.name)
    for side in SIDES:
        markers: dict[str, list[str]] = {}
        retired: dict[str, list[str]] = {}
        for key, record in records[side].items():
            taking_part = pair.mapper.included(side, record.data) and not pair.mapper.is_archived(
                side, record.data
            )
            if (marker := pair.mapper.marker(side, record.data)) is not None:
                (markers if taking_part else retired).setdefault(marker, []).append(key)
            if (
                taking_part
                and key not in linked[side]
                and (side, key) not in failing
                and (side, key) not in tombstones
            ):
                verdict.unlinked.append(f"{side} {key}")
        verdict.duplicates += [
            f"{side} records {keys} all carry marker {m}" for m, keys in markers.items() if len(keys) > 1
        ]
        # An archived record (a canceled Planfix task) keeps its marker when "modification wins
        # over deletion" makes a new one for the edited counterpart: not a duplicate, but counted.
        verdict.archived_twins += sum(len(keys) for m, keys in retired.items() if m in markers)
    verdict.conflicts_waiting = len(store.pending_conflicts(pair.name))
    return verdict


@dataclass
class Memory:
    """Resident memory of this process in MiB, from the end of the warm-up to the daemon's stop.
    The emulators live in the same process and keep every record created meanwhile, so some
    growth comes from them alone."""

    start: float
    end: float
    peak: float

    @property
    def growth(self) -> float:
        return self.end - self.start


def db_kib(path: Path) -> float:
    """The state database on disk: the file and its write-ahead log (pruned rows free pages that
    later rows reuse, so with retention working this stops growing)."""
    sizes = (p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
    return sum(sizes) / 1024


def rss_mib() -> float:
    """Current resident set size, from /proc (Linux) — no extra dependency."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
