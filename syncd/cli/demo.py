"""``syncd demo``: the daemon against both built-in emulators, with sample data, for a first look.

It needs no credentials, no network and no configuration: both emulators run on free loopback
ports, a throw-away config and state live in a temporary directory, and the run ends with a
summary table and a self-contained HTML report. The report is kept in a new private directory
(mode 0700) unless ``--output`` names a file: a fixed name in the shared temp directory could be a
link another user planted, or a file they read.
"""

from __future__ import annotations

import io
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import httpx

from state.store import Store
from syncd.cli.report import render_html, write_report
from syncd.emulators.common import EmulatorServer
from syncd.emulators.config import emulator_config
from syncd.emulators.planfix import PlanfixEmulatorConfig, create_app
from syncd.emulators.planningpme import EmulatorOptions, PlanningPmeEmulator
from syncd.logs import configure_logging
from syncd.runtime import open_store
from syncd.service.daemon import Daemon
from syncd.settings import load_settings

PLANFIX_RATE = 10.0
"""Requests per second the demo's Planfix emulator allows (the real one allows 1)."""


def _control(http: httpx.Client, server: EmulatorServer, path: str, body: Any = None) -> Any:
    response = (
        http.post(f"{server.base_url}/_emulator/{path}", json=body)
        if body is not None
        else http.get(f"{server.base_url}/_emulator/{path}")
    )
    response.raise_for_status()
    return response.json()


def _edit_both_sides(daemon: Daemon, out: TextIO) -> None:
    """A person edits a task in Planfix and, meanwhile, the same event differently in PlanningPME,
    and edits another task's description: the next cycles merge what they can and decide the
    conflict by the mapping's rule."""
    pair = daemon.pairs.get("tasks")
    if pair is None:
        return
    links = daemon.store.links("tasks")
    if len(links) < 2:
        return
    first, second = links[0], links[1]
    planfix, pme = pair.connectors["planfix"], pair.connectors["planningpme"]
    planfix.update(first.planfix_key, {"title": "Проверка котла — срочно (edited in Planfix)"})
    pme.update(first.planningpme_key, {"label": "Revisión de caldera (edited in PlanningPME)"})
    pme.update(
        second.planningpme_key, {"description": "Llamar al cliente antes de ir.\nCódigo de acceso 4711."}
    )
    out.write(
        f"  · edited task {first.planfix_key} in Planfix and its event {first.planningpme_key} "
        f"in PlanningPME (a conflict), and event {second.planningpme_key}'s description\n"
    )


def _summary(store: Store) -> list[tuple[str, str, str, int]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for row in store.audit_log(limit=100_000):
        counts[(row.pair, row.operation, row.side or "-")] += 1
    return [(pair, op, side, n) for (pair, op, side), n in sorted(counts.items())]


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  " + "  ".join("-" * w for w in widths)

    def fmt(row: tuple[str, ...]) -> str:
        return "  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))

    return "\n".join([fmt(header), line, *(fmt(r) for r in rows)])


def run_demo(out: TextIO, seconds: float = 20.0, output: str | None = None) -> int:
    warnings = io.StringIO()
    configure_logging(json=True, level="WARNING", stream=warnings)
    every = max(2, int(seconds // 6))
    with tempfile.TemporaryDirectory(prefix="syncd-demo-") as tmp, httpx.Client(timeout=30) as http:
        base = Path(tmp)
        pf = EmulatorServer(create_app(PlanfixEmulatorConfig(rate=PLANFIX_RATE))).start()
        pme = EmulatorServer(PlanningPmeEmulator(EmulatorOptions()).app).start()
        try:
            out.write(f"Planfix emulator     {pf.base_url}/xml/   (limit {PLANFIX_RATE:g} requests/s)\n")
            out.write(f"PlanningPME emulator {pme.base_url}/demo/  (limit 2000 requests/hour)\n")
            _control(http, pf, "seed", {"tasks": 16, "contacts": 10, "seed": 7})
            _control(http, pme, "seed", {"events": 6, "customers": 5, "seed": 8})
            _overlap_customers(http, pf, pme, base)
            config = base / "syncd.toml"
            config.write_text(
                emulator_config(
                    pf.base_url,
                    pme.base_url,
                    {
                        "planfix": {"requests_per_second": PLANFIX_RATE},
                        "schedule": {
                            "tasks_every": f"{every}s",
                            "contacts_every": f"{every}s",
                            "full_scan_every": f"{every * 4}s",
                            "jitter": 0,
                        },
                        "logging": {"level": "WARNING"},
                    },
                )
            )
            settings = load_settings(config)
            out.write(f"Sample data seeded; syncd runs for {seconds:g}s with cycles every {every}s.\n\n")
            with open_store(settings.state.path) as store:
                daemon = Daemon(settings, base, config, store)
                thread = threading.Thread(target=daemon.serve, kwargs={"tick_s": 0.2}, daemon=True)
                thread.start()
                _watch(daemon, seconds, out)
                daemon.stop_event.set()
                thread.join(timeout=60)
                if daemon.fatal is not None:
                    out.write(f"\nsyncd stopped: {daemon.fatal}\n")
                    return daemon.fatal.exit_code
                rows = _summary(store)
                stats_pf, stats_pme = _control(http, pf, "stats"), _control(http, pme, "stats")
                conflicts = store.pending_conflicts()
                report = [r for r in daemon.results if r.plan.operations]
            out.write("\nWhat syncd did (from the audit log):\n")
            out.write(
                _table(
                    [(a, b, c, str(n)) for a, b, c, n in rows],
                    ("mapping", "operation", "written to", "count"),
                )
            )
            out.write("\n\nRequests used:\n")
            out.write(
                _table(
                    [
                        (
                            "Planfix",
                            str(stats_pf["total"]),
                            str(stats_pf["writes"]),
                            f"{PLANFIX_RATE:g}/s, 20000/day",
                        ),
                        ("PlanningPME", str(stats_pme["total"]), str(stats_pme["writes"]), "2000/hour"),
                    ],
                    ("system", "requests", "writes", "limit"),
                )
            )
            out.write(f"\n\nConflicts waiting for a person: {len(conflicts)}\n")
            target = Path(output) if output else report_path()
            write_report(target, render_html(report))
            out.write(f"HTML report of the cycles that changed something: {target}\n")
            logged = warnings.getvalue().count("\n")
            if logged:
                out.write(f"({logged} warnings were logged; run `syncd run` yourself to see logs live)\n")
        finally:
            pf.stop()
            pme.stop()
    return 0


def report_path() -> Path:
    """Where the report goes without ``--output``: a directory of its own, readable by us only."""
    return Path(tempfile.mkdtemp(prefix="syncd-demo-report-")) / "syncd-demo-report.html"


def _overlap_customers(http: httpx.Client, pf: EmulatorServer, pme: EmulatorServer, base: Path) -> None:
    """Three customers that already exist on both sides (same e-mail): the first sync links them."""
    contacts = [
        c
        for c in _control(http, pf, "records/contacts")
        if c.get("email") and str(c.get("isCompany")) in ("0", "False", "false")
    ][:3]
    token = http.post(
        f"{pme.base_url}/demo/token",
        data={"grant_type": "password", "username": "demo", "password": "demo"},
        headers={"X-APPKEY": "demo-appkey"},
    ).json()["access_token"]
    headers = {"X-APPKEY": "demo-appkey", "Authorization": f"Bearer {token}"}
    for contact in contacts:
        http.post(
            f"{pme.base_url}/demo/api/customer",
            headers=headers,
            json={
                "type": "Individual",
                "firstName": contact.get("name", ""),
                "lastName": contact.get("lastName", ""),
                "email": contact["email"],
            },
        ).raise_for_status()


def _watch(daemon: Daemon, seconds: float, out: TextIO) -> None:
    start = time.monotonic()
    edited = False
    last = ""
    while (elapsed := time.monotonic() - start) < seconds and not daemon.stop_event.is_set():
        line = daemon.status_line()
        if line != last:
            out.write(f"  [{elapsed:5.1f}s] {line}\n")
            last = line
        if not edited and elapsed > seconds * 0.4 and daemon.store.links("tasks"):
            _edit_both_sides(daemon, out)
            edited = True
        time.sleep(0.25)
