"""``make bench``: run every benchmark, print the five tables, save them as JSON.

    python -m tests.benchmarks [--quick] [--output bench-results.json] [--only api,scale]
                               [--companies 0.2]

Everything runs on this machine: syncd in this process, both emulators on 127.0.0.1 in processes
of their own, the scale runs in subprocesses (one per size, so their memory peaks do not mix).
Nothing here asserts a timing; the goals are printed beside the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from tests.benchmarks import api, quota, scale
from tests.benchmarks.tables import Table
from tests.benchmarks.world import world

ROOT = Path(__file__).resolve().parents[2]


def _quiet() -> None:
    """Warnings from syncd (a retried 429, say) would break the tables apart: keep errors only."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data and sizes (about a minute)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json", help="JSON file to write")
    parser.add_argument(
        "--only", default="api,scale", help="comma-separated parts to run: api (tables 1-3, 5), scale (4)"
    )
    parser.add_argument(
        "--companies",
        type=_share,
        default=quota.COMPANY_SHARE,
        help="share of companies among the Planfix contacts in table 5 (0 to 1; default 0.2)",
    )
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    _quiet()
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    tables: list[Table] = []
    if "api" in parts:
        with world() as w:
            measured = api.measure(w, api.QUICK if args.quick else api.FULL, progress)
        with world() as w:
            api.measure_wall(w, measured, progress)
        tables += [api.requests_table(measured), api.naive_table(measured), api.wall_table(measured)]
    if "scale" in parts:
        tables.append(scale.table(scale.QUICK if args.quick else scale.FULL, progress))
    if "api" in parts:
        tables.append(quota.table(measured, args.companies))
    elapsed = time.perf_counter() - started
    for table in sorted(tables, key=lambda t: t.title):
        print()
        print(table.render())
    document: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "seconds": round(elapsed, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "tables": {t.key: t.as_json() for t in tables},
    }
    args.output.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nall tables in {elapsed:.0f} s; JSON written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
