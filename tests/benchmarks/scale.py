"""Table 4: local cost at scale — what one tasks cycle costs this machine, without HTTP, for N
linked task/event pairs with 1 % of them changed (half in Planfix, half in PlanningPME).

Per size, one subprocess fills a state database (N task links, N/2 contact links: every task's
client is a linked contact), then one subprocess per mode measures, so each mode's peak RSS
(``VmHWM``) is its own. Native records are made from a few hundred templates through the default
mapping, so mapping them back gives exactly the stored values. Steps, as the cycle runs them:

- load: the links the cycle needs (``LinkSet``): after an incremental listing only those of the
  listed records and their markers; after a full scan also every linked key and, per side, the
  hashes and raw digests the scan compares records with (``FullScan``);
- map: ``Pair.observe`` of every listed record (canonical values, hash, marker, match key), the
  task's client resolved through the contact links (``LinkResolverFromStore``, cold: its first
  use in the process reads the contact keys); in a full scan, ``FullScan.sift`` of every page
  instead (a raw digest per record; only records whose digest changed are mapped, only changed
  ones are kept);
- plan: ``planner.plan``.

Modes: ``incremental`` — the scheduled cycle, only the changed records were listed; ``full`` —
the daily full scan, every record of both systems streamed page by page (100 a page, as the
connectors read them), the digests noted by the previous scan in the database; ``full, first`` —
the same scan with no digest noted yet (the first full scan after the upgrade that added them):
every record is mapped, unchanged ones are still dropped at once.
"""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from mappings.engine import Mapper, MappingContext, canonical_hash
from mappings.loading import load_mapping
from state.rows import LinkRow
from state.store import Store
from syncd.connectors.base import RemoteRecord
from syncd.engine.links import LinkResolverFromStore, LinkSet
from syncd.engine.pairs import Pair
from syncd.engine.planner import SIDES, Observed, PlanInput, Side, SideView, other, plan
from syncd.engine.scan import FullScan
from tests.benchmarks.tables import Table

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = 500
PAIR = "tasks"
CONTACTS = "contacts"
BATCH = 50_000
PAGE = 100
NOW = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sizes:
    """Which sizes run, which of them also run the full-scan mode, and the first full scan."""

    records: tuple[int, ...]
    full: tuple[int, ...]
    first: tuple[int, ...] = ()


FULL = Sizes((10_000, 100_000, 300_000, 1_000_000), (10_000, 100_000, 300_000, 1_000_000), (100_000,))
QUICK = Sizes((10_000, 100_000), (10_000, 100_000))


# -- records -------------------------------------------------------------------------------------

_TITLES = (
    "Замена фильтра кондиционера",
    "Boiler inspection",
    "Revisión de caldera",
    "Quarterly maintenance & safety check",
    "Ремонт кассы — ТЦ «Галерея»",
)
_HTML = (
    "<p>Клиент просит <b>перезвонить</b> за час до визита.</p>",
    "<p>Bring the spare parts:</p><ul><li>filter&nbsp;F7</li><li>gasket 3/4&quot;</li></ul>",
    "",
    "<div>Код домофона: <i>45#</i><br/>Собака во дворе!</div>",
)


def _template(i: int) -> dict[str, Any]:
    day = datetime(2026, 11, 1) + timedelta(days=i % 60)
    timed = i % 4 != 0
    return {
        "id": "0",
        "general": "0",
        "title": f"{_TITLES[i % len(_TITLES)]} {i}",
        "description": _HTML[i % len(_HTML)],
        "importance": "AVERAGE",
        "status": str((1, 2, 3, 5)[i % 4]),
        "owner": {"id": "1", "name": "Иван Петров"},
        "client": None,
        "project": None,
        "startDate": day.strftime("%d-%m-%Y"),
        "startTime": f"{9 + i % 8:02d}:{(i % 4) * 15:02d}" if timed else None,
        "endDate": day.strftime("%d-%m-%Y"),
        "endTime": "18:00" if timed else None,
        "workers": [{"id": str(1 + i % 5), "name": "Worker"}],
        "customData": {"102": "site"},
    }


def _client(i: int, n: int) -> tuple[str, str]:
    """The Planfix contact id and PlanningPME customer key of task ``i``'s client."""
    c = i % max(1, n // 2)
    return str(500_000 + c), str(1 + c)


class Records:
    """Task ``i``: its link and its native record on each side, made the same way every time."""

    def __init__(self, n: int, resolver: Any) -> None:
        self.n = n
        spec = load_mapping("default:tasks", ROOT)
        ctx = MappingContext(ZoneInfo("Europe/Moscow"), ZoneInfo("Europe/Madrid"), resolver)
        self.pair = Pair(PAIR, Mapper(spec, ctx), {})
        fields = [f.name for f in spec.fields]
        self.templates = []
        for t in range(TEMPLATES):
            pf = _template(t)
            canonical = self.pair.mapper.canonical("planfix", pf)
            pme = self.pair.mapper.payload("planningpme", canonical, [f for f in fields if f != "client"])
            pme.update({"remark": "", "place": "", "project": None, "status": None})
            self.templates.append((pf, pme, canonical))

    def keys(self, i: int) -> tuple[str, str]:
        return str(2_000_000 + i), str(1 + i)

    def link(self, i: int) -> LinkRow:
        pf_key, pme_key = self.keys(i)
        canonical = {
            **self.templates[i % TEMPLATES][2],
            "title": self._title(i),
            "client": _client(i, self.n)[0],
        }
        digest = canonical_hash(canonical)
        return LinkRow(PAIR, pf_key, pme_key, canonical, digest, digest, NOW, NOW)

    def _title(self, i: int) -> str:
        return f"{self.templates[i % TEMPLATES][2]['title']} #{i}"

    def native(self, side: Side, i: int, *, edited: bool = True) -> RemoteRecord:
        """The record as listed now (``edited``: 1 % changed since the last scan) or as it was."""
        pf_t, pme_t, _ = self.templates[i % TEMPLATES]
        pf_key, pme_key = self.keys(i)
        pf_client, pme_client = _client(i, self.n)
        title = self._title(i)
        if edited and i % 100 == 0 and (side == "planfix") == ((i // 100) % 2 == 0):
            title = f"{title} (edited in {side})"
        if side == "planfix":
            data = {**pf_t, "id": pf_key, "general": str(i), "title": title}
            data["client"] = {"id": pf_client, "name": "Client"}
            return RemoteRecord(pf_key, data)
        customers = [{"key": int(pme_client), "label": "Client"}]
        data = {
            **pme_t,
            "key": i + 1,
            "label": title,
            "customers": customers,
            "fields": {"PLANFIX_ID": pf_key},
        }
        return RemoteRecord(pme_key, data)

    def listed(self, full: bool) -> dict[Side, list[RemoteRecord]]:
        """What the listings hold: every record, or the changed ones (1 %, half per side)."""
        if full:
            return {side: [self.native(side, i) for i in range(self.n)] for side in SIDES}
        changed = range(0, self.n, 100)
        return {
            "planfix": [self.native("planfix", i) for i in changed if (i // 100) % 2 == 0],
            "planningpme": [self.native("planningpme", i) for i in changed if (i // 100) % 2 == 1],
        }


# -- the two subprocesses -----------------------------------------------------------------------


def fill(n: int, path: Path) -> None:
    """A state database holding the N task links and N/2 contact links."""
    records = Records(n, None)
    with Store.open(path) as store:
        for start in range(0, n, BATCH):
            store.upsert_links_batch(records.link(i) for i in range(start, min(n, start + BATCH)))
        for start in range(0, max(1, n // 2), BATCH):
            rows = (
                LinkRow(CONTACTS, str(500_000 + c), str(1 + c), {"last_name": f"C{c}"}, "h", "h", NOW, NOW)
                for c in range(start, min(n // 2, start + BATCH))
            )
            store.upsert_links_batch(rows)
        sample = records.link(1)
    with Store.open(path) as store:
        resolver = LinkResolverFromStore(store, {"contact": CONTACTS, "customer": CONTACTS})
        check = Records(n, resolver)
        for side in SIDES:
            key = sample.planfix_key if side == "planfix" else sample.planningpme_key
            got = check.pair.observe(side, check.native(side, 1))
            assert got.hash == sample.planfix_hash, f"{side} record {key} does not map back to its link"
        # What the previous full scan noted: each record's raw digest, as it was then.
        for side in SIDES:
            scan = FullScan(store, check.pair, side, needed=(), observe=lambda r: r.key, write=True)
            for i in range(n):
                record = check.native(side, i, edited=False)
                scan.note(record.key, check.link(i).planfix_hash, scan.digest(record))
            scan.flush()


def _timed(action: Callable[[], Any]) -> tuple[Any, float]:
    """The value and the CPU seconds it took: the work is local and single-threaded, and CPU
    time does not count what other processes on a shared machine take meanwhile."""
    gc.collect()
    started = time.process_time()
    value = action()
    return value, time.process_time() - started


def _peak_mb() -> float:
    """Peak RSS of this process since it started (``VmHWM``; ``ru_maxrss`` would count the
    parent's memory at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed_plan(
    records: Records, links: LinkSet, observed: dict[Side, dict[str, Observed]]
) -> tuple[Any, float]:
    """The plan and its CPU seconds: the last step, the same after an incremental read and a full
    scan (only ``plan`` is timed; the link states are made before)."""
    data = PlanInput(
        rules=records.pair.rules,
        links=links.states(),
        planfix=SideView("planfix", observed["planfix"]),
        planningpme=SideView("planningpme", observed["planningpme"]),
    )
    return _timed(lambda: plan(data))


def measure(n: int, mode: str, path: Path) -> dict[str, Any]:
    if mode != "incremental":
        return _measure_full(n, first=mode == "full, first", path=path)
    with Store.open(path, readonly=True) as store:
        resolver = LinkResolverFromStore(store, {"contact": CONTACTS, "customer": CONTACTS})
        records = Records(n, resolver)
        listed = records.listed(False)
        gc.collect()
        base_mb = _peak_mb()

        def load() -> LinkSet:
            links = LinkSet(store, PAIR, everything=False)
            for side in SIDES:
                links.want(side, (r.key for r in listed[side]))
                markers = (records.pair.mapper.marker(side, r.data) for r in listed[side])
                links.want(other(side), (m for m in markers if m))
            return links

        links, load_s = _timed(load)

        def observe() -> dict[Side, dict[str, Observed]]:
            return {side: {r.key: records.pair.observe(side, r) for r in listed[side]} for side in SIDES}

        observed, map_s = _timed(observe)
        result, plan_s = _timed_plan(records, links, observed)
    return _row(
        n, "incremental", sum(len(v) for v in listed.values()), links, result, base_mb, load_s, map_s, plan_s
    )


def _measure_full(n: int, *, first: bool, path: Path) -> dict[str, Any]:
    """The daily full scan as the cycle runs it: pages stream through ``FullScan.sift``, which
    keeps only what the plan needs; the pages themselves are made outside the timed part (in
    the daemon the connector parses them while the next page waits for the rate limit)."""
    with Store.open(path, readonly=True) as store:
        resolver = LinkResolverFromStore(store, {"contact": CONTACTS, "customer": CONTACTS})
        records = Records(n, resolver)
        gc.collect()
        base_mb = _peak_mb()

        def observe(side: Side) -> Any:
            return lambda record: records.pair.observe(side, record)

        def start() -> dict[Side, FullScan]:
            return {
                side: FullScan(store, records.pair, side, needed=(), observe=observe(side), write=False)
                for side in SIDES
            }

        scans, load_s = _timed(start)
        if first:
            for scan in scans.values():
                scan.digests = {}
        kept: dict[Side, dict[str, Any]] = {side: {} for side in SIDES}
        map_s = 0.0
        gc.collect()
        for side in SIDES:
            for begin in range(0, n, PAGE):
                page = [records.native(side, i) for i in range(begin, min(n, begin + PAGE))]
                started = time.process_time()
                scans[side].sift(page, kept[side])
                map_s += time.process_time() - started

        def load() -> LinkSet:
            links = LinkSet(
                store, PAIR, everything=True, linked={side: scans[side].linked_keys() for side in SIDES}
            )
            for side in SIDES:
                assert not links.missing_from(side, scans[side].present), "a linked record looks deleted"
                links.want(side, kept[side])
                markers = (records.pair.mapper.marker(side, r.data) for r, _ in kept[side].values())
                links.want(other(side), (m for m in markers if m))
            return links

        links, links_s = _timed(load)
        observed = {side: {k: o for k, (_, o) in kept[side].items()} for side in SIDES}
        result, plan_s = _timed_plan(records, links, observed)
    mode = "full, first" if first else "full"
    return _row(n, mode, 2 * n, links, result, base_mb, load_s + links_s, map_s, plan_s)


def _row(
    n: int,
    mode: str,
    listed: int,
    links: LinkSet,
    result: Any,
    base_mb: float,
    load_s: float,
    map_s: float,
    plan_s: float,
) -> dict[str, Any]:
    updates = result.count("update")
    expected = sum(1 for i in range(0, n, 100))
    assert updates == expected, f"expected one update per changed record ({expected}), planned {updates}"
    return {
        "records": n,
        "mode": mode,
        "listed": listed,
        "links_loaded": len(links.states()),
        "load_s": load_s,
        "map_s": map_s,
        "plan_s": plan_s,
        "inputs_mb": round(base_mb, 1),
        "peak_rss_mb": round(_peak_mb(), 1),
    }


# -- the table (in the parent) --------------------------------------------------------------------


def _run(args: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.scale", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or ["failed"])[-1])
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _modes(sizes: Sizes, n: int) -> list[str]:
    return [
        "incremental",
        *(["full"] if n in sizes.full else []),
        *(["full, first"] if n in sizes.first else []),
    ]


def runs(sizes: Sizes) -> Iterator[tuple[int, str]]:
    for n in sizes.records:
        for mode in _modes(sizes, n):
            yield n, mode


def table(sizes: Sizes, progress: Callable[[str], None]) -> Table:
    t = Table(
        "scale",
        "4. Local cost at scale (one tasks cycle without HTTP: load links + map + plan)",
        ["records", "mode", "listed", "links loaded", "load s", "map s", "plan s", "total s", "peak RSS MB"],
        goal="100,000 records, 1 % changed: map + plan < 2 s and < 300 MB; full scan <= 5 s and "
        "<= 300 MB; growth linear or better",
    )
    with tempfile.TemporaryDirectory(prefix="syncd-bench-scale-") as tmp:
        for n in sizes.records:
            path = Path(tmp) / f"state-{n}.db"
            progress(f"scale: filling a state database with {n:,} task links")
            try:
                _run(["fill", str(n), str(path)])
            except RuntimeError as exc:
                t.notes.append(f"{n:,}: could not fill the database: {exc}")
                continue
            for mode in _modes(sizes, n):
                progress(f"scale: {n:,} linked records, {mode}")
                try:
                    r = json.loads(_run(["measure", str(n), mode, str(path)]))
                except RuntimeError as exc:
                    t.notes.append(f"{n:,} {mode}: failed: {exc}")
                    continue
                t.add(
                    r["records"],
                    mode,
                    r["listed"],
                    r["links_loaded"],
                    round(r["load_s"], 3),
                    round(r["map_s"], 3),
                    round(r["plan_s"], 3),
                    round(r["load_s"] + r["map_s"] + r["plan_s"], 3),
                    r["peak_rss_mb"],
                )
            path.unlink(missing_ok=True)
    t.notes += [
        "records = linked task/event pairs (and half as many linked contacts, every task's client "
        "among them), 1 % changed, half in each system; each row is a process of its own",
        "incremental = the scheduled cycle: only the changed records were listed, so only their "
        "links are loaded; full = the daily full scan: every record of both systems streamed page "
        "by page, each compared by its raw digest with what the previous scan noted, only the "
        "changed ones mapped and kept; full, first = the first full scan after the upgrade that "
        "added the digests: every record mapped, the unchanged ones dropped at once",
        "times are CPU seconds of the measuring process (the work is local and single-threaded; "
        "CPU time leaves out what other processes on the machine take meanwhile)",
        "map includes the first (cold) read of the contact keys for resolving clients; peak RSS "
        "includes the native records the cycle holds and Python itself (about 70 MB)",
    ]
    return t


def _main(argv: list[str]) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    if argv[0] == "fill":
        fill(int(argv[1]), Path(argv[2]))
        return 0
    print(json.dumps(measure(int(argv[1]), argv[2], Path(argv[3]))))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
