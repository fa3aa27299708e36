"""``python -m tests.soak --minutes N``: the daemon against faulty emulators, then a report.

The daemon runs in this process (``Daemon.serve`` in a thread, as ``syncd run`` runs it) with
short intervals; the chaos loop injects faults, outages and edits until the time is up. Then the
chaos stops, the daemon stops as on SIGTERM, a fault-free pair of full cycles runs (as the next
start would), and the report says how memory behaved, how many cycles ran and failed, and
whether both sides converged. Exit status 0 only when they did and nothing crashed.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import random
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

from syncd.cli.commands import run_once
from syncd.emulators.config import emulator_config
from syncd.emulators.planfix import PlanfixEmulatorConfig, create_app
from syncd.emulators.planningpme import EmulatorOptions, PlanningPmeEmulator
from syncd.logs import configure_logging
from syncd.runtime import build_pairs, build_remotes, load_mappings, open_store
from syncd.service.daemon import Daemon
from syncd.service.health import PairHealth
from syncd.service.systemd import Notifier
from syncd.settings import Settings, load_settings
from tests.soak.chaos import Chaos, ChaosStats, Restartable
from tests.soak.check import Memory, PairVerdict, check_pair, db_kib, peak_rss_mib, rss_mib

MAX_STEPS = 100_000
"""A hard bound on chaos steps whatever ``--minutes`` says."""
WARM_UP_S = 120.0


@dataclass
class SoakResult:
    minutes: float
    memory: Memory
    database: Memory
    """The state database's size on disk (KiB) over the chaos: flat once retention prunes."""
    health: dict[str, PairHealth]
    chaos: ChaosStats
    steps: int
    events: Counter[str]
    requests: dict[str, int]
    final_writes: list[int]
    verdicts: list[PairVerdict]
    log_path: str
    kept: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            all(v.converged for v in self.verdicts)
            and self.events["cycle.crashed"] == 0
            and self.events["daemon.fatal"] == 0
        )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=2.0, help="how long the chaos lasts (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random choice (default 1)")
    parser.add_argument(
        "--rate", type=float, default=20.0, help="Planfix requests/s, emulator and syncd (20)"
    )
    parser.add_argument("--every", type=int, default=5, help="seconds between task cycles (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (state, log)")
    parser.add_argument(
        "--keep-history",
        type=int,
        default=120,
        help="seconds of history the daemon keeps ([state] keep_history; default 120)",
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also list where memory grew most (slower)"
    )
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= 24 * 60 or args.rate <= 0 or args.every < 1 or args.keep_history < 60:
        parser.error("--minutes must be in (0, 1440], --rate > 0, --every >= 1, --keep-history >= 60")
    return args


def run(args: argparse.Namespace, out: TextIO) -> SoakResult:
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="syncd-soak-")
    base = Path(tmp)
    servers = {
        "planfix": Restartable(
            create_app(PlanfixEmulatorConfig(rate=args.rate, over_rate="reject", daily_quota=0)), "planfix"
        ),
        "planningpme": Restartable(PlanningPmeEmulator(EmulatorOptions(hourly_limit=0)).app, "planningpme"),
    }
    backoff_cap = 10
    config = base / "syncd.toml"
    config.write_text(
        emulator_config(
            servers["planfix"].base_url,
            servers["planningpme"].base_url,
            {
                "planfix": {"requests_per_second": args.rate},
                "sync": {
                    "max_delete": 1000,
                    "max_delete_percent": 100,
                    "max_attempts": 8,
                    "retry_backoff": "2s",
                    "retry_backoff_cap": f"{backoff_cap}s",
                },
                "schedule": {
                    "tasks_every": f"{args.every}s",
                    "contacts_every": f"{args.every * 2}s",
                    "full_scan_every": f"{max(60, args.every * 12)}s",
                    "jitter": 1,
                },
                "logging": {"level": "INFO", "format": "json"},
                "state": {"keep_history": f"{args.keep_history}s"},
            },
        )
    )
    log_path = base / "syncd.log"
    try:
        with httpx.Client(timeout=30) as http, log_path.open("w", encoding="utf-8") as log_file:
            configure_logging(json=True, level="INFO", stream=log_file)
            # Dropped connections are injected on purpose; uvicorn need not shout about each. A
            # filter, because every restarted server configures uvicorn's loggers afresh.
            logging.getLogger("uvicorn.error").addFilter(_not_injected_drops)
            settings = load_settings(config)
            person = build_remotes(settings, load_mappings(settings, base))
            chaos = Chaos(rng, http, servers, person)
            chaos.control("planfix", "POST", "seed", {"tasks": 30, "contacts": 20, "seed": args.seed})
            chaos.control(
                "planningpme", "POST", "seed", {"events": 12, "customers": 12, "seed": args.seed + 1}
            )
            with open_store(settings.state.path) as store:
                daemon = Daemon(settings, base, config, store, notifier=Notifier({}), env={})
                thread = threading.Thread(target=daemon.serve, kwargs={"tick_s": 0.5}, daemon=True)
                thread.start()
                warm_until = time.monotonic() + WARM_UP_S
                while any(h.cycles == 0 for h in daemon.health.values()) and time.monotonic() < warm_until:
                    time.sleep(0.2)
                if args.tracemalloc:
                    tracemalloc.start()
                start_rss, peak, steps, database = _chaos_loop(
                    daemon, chaos, args, rng, out, settings.state.path
                )
                chaos.calm()
                daemon.stop_event.set()
                thread.join(120)
                health = dict(daemon.health)
                gc.collect()
                end_rss = rss_mib()
                growth_sites = _growth_sites() if args.tracemalloc else []
            person.close()
            # Let per-record backoffs run out, then the fault-free pair of cycles.
            time.sleep(backoff_cap)
            final_writes = [_final_cycle(settings, base) for _ in range(2)]
            verdicts = _verdicts(settings, base)
            requests = {side: int(chaos.control(side, "GET", "stats")["total"]) for side in servers}
        memory = Memory(start_rss, end_rss, max(peak, end_rss))
        events = _count_events(log_path)
        result = SoakResult(
            args.minutes,
            memory,
            database,
            health,
            chaos.stats,
            steps,
            events,
            requests,
            final_writes,
            verdicts,
            str(log_path),
            args.keep,
        )
        result.notes.extend(growth_sites)
        result.notes.append(f"process peak RSS over the whole run (incl. start-up): {peak_rss_mib():.1f} MiB")
        return result
    finally:
        for server in servers.values():
            if not server.down:
                server.server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def _not_injected_drops(record: logging.LogRecord) -> bool:
    return "without completing response" not in record.getMessage()


def _chaos_loop(
    daemon: Daemon, chaos: Chaos, args: argparse.Namespace, rng: random.Random, out: TextIO, db: Path
) -> tuple[float, float, int, Memory]:
    """Chaos until the time is up; (RSS at the start, peak RSS seen, steps taken, the database's
    size at the start, the end and its largest)."""
    gc.collect()
    start_rss = peak = rss_mib()
    db_start = db_peak = db_kib(db)
    out.write(f"warmed up; RSS {start_rss:.1f} MiB; chaos for {args.minutes:g} min\n")
    deadline = time.monotonic() + args.minutes * 60
    next_report = time.monotonic() + 15
    steps = 0
    while time.monotonic() < deadline and steps < MAX_STEPS and not daemon.stop_event.is_set():
        chaos.step()
        steps += 1
        peak = max(peak, rss_mib())
        db_peak = max(db_peak, db_kib(db))
        if time.monotonic() >= next_report:
            next_report += 15
            out.write(
                f"  {_elapsed(deadline, args.minutes)}  RSS {rss_mib():.1f} MiB  "
                f"db {db_kib(db):.0f} KiB  {daemon.status_line()}\n"
            )
            out.flush()
        time.sleep(rng.uniform(0.3, 1.2))
    db_end = db_kib(db)
    return start_rss, peak, steps, Memory(db_start, db_end, max(db_peak, db_end))


def _growth_sites(top: int = 8) -> list[str]:
    """Where allocations still alive grew most since the chaos started (tracemalloc)."""
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = snapshot.statistics("lineno")[:top]
    return [f"{stat.size / 1024:8.1f} KiB in {stat.count} blocks at {stat.traceback[0]}" for stat in stats]


def _final_cycle(settings: Settings, base: Path) -> int:
    """One fault-free full cycle of every pair, as the next start would run it; its writes."""
    results = run_once(settings, base, full=True)
    return sum(1 for r in results if r.applied for op in r.applied.done if op.writes)


def _elapsed(deadline: float, minutes: float) -> str:
    done = minutes * 60 - max(0.0, deadline - time.monotonic())
    return f"[{done:6.0f}s]"


def _verdicts(settings: Settings, base: Path) -> list[PairVerdict]:
    specs = load_mappings(settings, base)
    remotes = build_remotes(settings, specs)
    try:
        with open_store(settings.state.path, readonly=True) as store:
            return [check_pair(pair, store) for pair in build_pairs(settings, specs, remotes, store)]
    finally:
        remotes.close()


def _count_events(path: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            try:
                counts[json.loads(line).get("event", "?")] += 1
            except json.JSONDecodeError:
                counts["(not json)"] += 1
    return counts


def report(result: SoakResult, out: TextIO) -> None:
    m = result.memory
    out.write(f"\nsoak: {result.minutes:g} min of chaos\n")
    out.write(f"memory (RSS, MiB): start {m.start:.1f}, end {m.end:.1f}, peak {m.peak:.1f}, ")
    out.write(f"growth {m.growth:+.1f}\n")
    d = result.database
    out.write(f"state database (file + WAL, KiB): start {d.start:.0f}, end {d.end:.0f}, max {d.peak:.0f}, ")
    out.write(f"growth {d.growth:+.0f}; {result.events['history.pruned']} pruning runs deleted rows\n")
    for note in result.notes:
        out.write(f"  ({note})\n")
    for name, h in result.health.items():
        out.write(f"cycles {name}: {h.cycles} run, {h.failed_cycles} failed softly (backed off, retried)\n")
    e = result.events
    out.write(
        "log: "
        + ", ".join(
            f"{name} {e[name]}"
            for name in (
                "cycle.done",
                "cycle.failed",
                "cycle.recovered",
                "record.failed",
                "intent.recovered",
                "planfix.rate_limited",
                "remote.retry",
                "cycle.crashed",
                "daemon.fatal",
            )
        )
        + "\n"
    )
    c = result.chaos
    out.write(
        f"chaos: {result.steps} steps: {sum(c.faults.values())} faults, {c.outages} outages, "
        f"{sum(c.edits.values())} edits "
        f"({c.edit_failures} edits failed under the faults)\n"
    )
    out.write(f"  edits: {dict(sorted(c.edits.items()))}\n")
    served = result.requests
    out.write(f"requests served: planfix {served['planfix']}, planningpme {served['planningpme']}\n")
    out.write(f"final fault-free cycles: writes {result.final_writes[0]}, then {result.final_writes[1]}\n")
    for v in result.verdicts:
        state = "converged" if v.converged else "NOT converged"
        out.write(
            f"{v.pair}: {state}; {v.links} links, {len(v.mismatched)} field mismatches, "
            f"{len(v.missing)} links without a record, {len(v.unlinked)} unlinked records, "
            f"{len(v.duplicates)} duplicates ({v.archived_twins} archived twins), "
            f"{v.parked} parked failures, {v.conflicts_waiting} conflicts waiting\n"
        )
        for problem in (v.mismatched + v.missing + v.unlinked + v.duplicates)[:10]:
            out.write(f"    - {problem}\n")
    if result.kept:
        out.write(f"state and log kept in {Path(result.log_path).parent}\n")
    out.write("RESULT: " + ("ok" if result.ok else "FAILED") + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = run(args, sys.stdout)
    report(result, sys.stdout)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
