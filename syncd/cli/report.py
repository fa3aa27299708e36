"""Renders what a run planned or did, as text (terminal), JSON (scripts) or one HTML file (people).

The JSON report is a stable interface (``"schema": "syncd.cli.report/1"``); its fields are documented
in the README, and a new version only adds keys. The HTML report is a single self-contained file:
no scripts, no external assets; it opens with a summary per pair and direction, because the first
question of its reader is "did anything fail or wait for me", not "what happened to planfix 503".
Text and HTML show records by name and values in words (``syncd.engine.readable``); JSON keeps the values
as the mapping holds them, which scripts compare.
Reports hold personal data (names, e-mails, phone numbers), so a report file is its owner's only.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import stat
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncd.engine.cycle import CycleResult, summarise
from syncd.engine.planner import FieldChange, Operation
from syncd.engine.readable import EMPTY, Readable
from syncd.errors import ConfigError
from syncd.logs import redact_strings
from syncd.terminal import printable, printable_json

SCHEMA = "syncd.cli.report/1"

DIRECTIONS: tuple[tuple[str | None, str], ...] = (
    ("planningpme", "Planfix → PlanningPME"),
    ("planfix", "PlanningPME → Planfix"),
    (None, "state only"),
)
"""Summary rows: an operation's target side, and how a person names that direction."""
COLUMNS = ("create", "update", "delete", "link", "other", "conflicts waiting", "failed", "skipped")
_COLUMN_OF = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "archive": "delete",
    "link": "link",
    "unlink": "link",
    "conflict": "conflicts waiting",
}


def _op_json(
    op: Operation, status: str, readable: Readable, error: str | None = None, *, shown: bool = False
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "operation": op.kind,
        "target": op.target,
        "planfix_key": op.planfix_key,
        "planningpme_key": op.planningpme_key,
        "label": readable.label(op),
        "fields": [{"field": c.field, "old": c.old, "new": c.new} for c in op.changes],
        "conflicts": [{"field": c.field, "planfix": c.old, "planningpme": c.new} for c in op.conflicts],
        "reason": op.reason,
        "rule": op.rule,
        "status": status,
        "error": error,
    }
    if shown:
        # For the people's renderers only: the same values in words (``syncd.engine.readable``), made
        # here so they are masked with everything else before a renderer sees them.
        # A field empty before and after (a create's unset phone) says nothing and is left out.
        def words(changes: Sequence[FieldChange]) -> list[list[str]]:
            return [
                [c.field, readable.value(c.field, c.old), readable.value(c.field, c.new)] for c in changes
            ]

        row["shown"] = {
            "fields": [f for f in words(op.changes) if f[1:] != [EMPTY, EMPTY]],
            "conflicts": words(op.conflicts),
        }
    return row


def _operations(result: CycleResult, shown: bool) -> list[dict[str, Any]]:
    readable = result.readable
    if result.applied is None:
        status = "blocked" if result.guard else "planned"
        return [_op_json(op, status, readable, shown=shown) for op in result.plan.operations]
    rows = [_op_json(op, "done", readable, shown=shown) for op in result.applied.done]
    rows += [_op_json(op, "failed", readable, err, shown=shown) for op, err in result.applied.failed]
    rows += [_op_json(op, "skipped", readable, why, shown=shown) for op, why in result.applied.skipped]
    return rows


def _report(results: Sequence[CycleResult], when: datetime, *, shown: bool) -> dict[str, Any]:
    pairs = []
    for r in results:
        pair: dict[str, Any] = {
            "pair": r.pair,
            "started_at": r.started_at.isoformat(),
            "summary": summarise(r),
            "recovered": r.recovered,
            "guard": r.guard,
            "operations": _operations(r, shown),
        }
        if shown:
            pair["time_zone"] = r.readable.zone_name
            pair["unmappable"] = [{"side": s, "key": k, "error": e} for s, k, e in r.unmappable]
        pairs.append(pair)
    report = {
        "schema": SCHEMA,
        "generated_at": when.isoformat(),
        "dry_run": any(r.dry_run for r in results),
        "pairs": pairs,
    }
    # Errors carry remote and exception text: every string is masked before any renderer sees it.
    masked: dict[str, Any] = redact_strings(report)
    return masked


def to_json_dict(results: Sequence[CycleResult], generated_at: datetime | None = None) -> dict[str, Any]:
    return _report(results, generated_at or datetime.now(UTC), shown=False)


def render_json(results: Sequence[CycleResult]) -> str:
    return printable_json(json.dumps(to_json_dict(results), ensure_ascii=False, indent=2, default=str))


def _for_people(results: Sequence[CycleResult]) -> dict[str, Any]:
    return _report(results, datetime.now(UTC), shown=True)


def _keys(row: dict[str, Any]) -> str:
    parts = []
    if row["planfix_key"]:
        parts.append(f"planfix {row['planfix_key']}")
    if row["planningpme_key"]:
        parts.append(f"planningpme {row['planningpme_key']}")
    return " ↔ ".join(parts)


def _who(row: dict[str, Any]) -> str:
    return f"{_keys(row)} “{row['label']}”" if row["label"] else _keys(row)


def directions(pair: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:
    """Counts per direction (``DIRECTIONS``) and column (``COLUMNS``) of one pair of a people's
    report; a record the mapping could not translate counts as failed towards the other side."""
    counts: dict[str | None, dict[str, int]] = {target: dict.fromkeys(COLUMNS, 0) for target, _ in DIRECTIONS}
    for row in pair["operations"]:
        column = row["status"] if row["status"] in ("failed", "skipped") else None
        counts[row["target"]][column or _COLUMN_OF.get(row["operation"], "other")] += 1
    for bad in pair["unmappable"]:
        counts["planfix" if bad["side"] == "planningpme" else "planningpme"]["failed"] += 1
    return [(name, counts[target]) for target, name in DIRECTIONS if any(counts[target].values())]


def render_text(results: Sequence[CycleResult]) -> str:
    data = _for_people(results)
    lines: list[str] = []
    heading = "DRY RUN — nothing was written" if data["dry_run"] else "Run"
    lines.append(heading)
    for pair in data["pairs"]:
        summary = pair["summary"]
        ops = summary["operations"]
        counts = ", ".join(f"{k} {v}" for k, v in sorted(ops.items())) or "nothing to do"
        lines.append("")
        lines.append(f"[{pair['pair']}] {counts}; failed {summary['failed']}")
        for name, column in directions(pair):
            lines.append(f"  {name}: " + ", ".join(f"{k} {n}" for k, n in column.items() if n))
        lines.append("  requests: " + ", ".join(f"{side} {n}" for side, n in summary["requests"].items()))
        lines.append(f"  times in {pair['time_zone']}")
        for note in pair["recovered"]:
            lines.append(f"  recovered: {note}")
        if pair["guard"]:
            lines.append(f"  STOPPED by the mass-delete guard: {pair['guard']}")
        for row in pair["operations"]:
            target = f" on {row['target']}" if row["target"] else ""
            status = "" if row["status"] in ("planned", "done") else f" [{row['status']}]"
            lines.append(f"  {row['operation']}{target}: {_who(row)}{status}")
            lines.append(f"      reason: {row['reason']}  (rule: {row['rule']})")
            for name, old, new in row["shown"]["fields"]:
                lines.append(f"      {name}: {old} → {new}")
            for name, pf_value, pme_value in row["shown"]["conflicts"]:
                lines.append(f"      {name}: planfix {pf_value} ≠ planningpme {pme_value}")
            if row["error"]:
                lines.append(f"      error: {row['error']}")
        for bad in pair["unmappable"]:
            lines.append(f"  cannot map {bad['side']} {bad['key']} [failed]")
            lines.append(f"      error: {bad['error']}")
    # Line by line: a newline inside a remote value must not start a line of its own.
    return "\n".join(printable(line) for line in lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}.failed{background:#fde8e8}.skipped,.blocked{background:#fff6dd}
.conflict{background:#eef3ff}code{font-size:.95em}.muted{color:#777}
table.summary{width:auto}table.summary td.n{text-align:right;font-variant-numeric:tabular-nums}
td.zero{color:#bbb}td.alert{background:#fde8e8;font-weight:bold}td.wait{background:#eef3ff;font-weight:bold}
.label{font-weight:600}
"""


_ALERTS = {"failed": "alert", "conflicts waiting": "wait"}
"""Summary cells a person must look at when they are not zero."""


def _summary_table(pairs: list[dict[str, Any]]) -> list[str]:
    """The page's first table: what each pair did (or would do) in each direction."""
    esc = html.escape
    head = "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
    out = ["<h2>Summary</h2>", f"<table class='summary'><tr><th>pair</th><th>direction</th>{head}</tr>"]
    for pair in pairs:
        rows = directions(pair)
        if not rows:
            out.append(
                f"<tr><td>{esc(pair['pair'])}</td><td colspan='{len(COLUMNS) + 1}' class='muted'>"
                "nothing to do</td></tr>"
            )
        for name, counts in rows:
            cells = []
            for column, n in counts.items():
                cls = "zero" if not n else _ALERTS.get(column, "")
                cells.append(f"<td class='n {cls}'>{n}</td>")
            out.append(f"<tr><td>{esc(pair['pair'])}</td><td>{esc(name)}</td>{''.join(cells)}</tr>")
        if pair["guard"]:
            out.append(
                f"<tr><td>{esc(pair['pair'])}</td><td colspan='{len(COLUMNS) + 1}' class='alert'>"
                "stopped by the mass-delete guard: nothing was written</td></tr>"
            )
    out.append("</table>")
    return out


def render_html(results: Sequence[CycleResult]) -> str:
    data = _for_people(results)
    esc = html.escape
    out: list[str] = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>syncd report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>syncd {'dry-run ' if data['dry_run'] else ''}report</h1>",
        f"<p class='muted'>Generated {esc(data['generated_at'])}"
        + (" — <strong>nothing was written</strong>" if data["dry_run"] else "")
        + "</p>",
        *_summary_table(data["pairs"]),
    ]
    for pair in data["pairs"]:
        summary = pair["summary"]
        out.append(f"<h2>{esc(pair['pair'])}</h2>")
        counts = (
            ", ".join(f"{esc(k)}: {v}" for k, v in sorted(summary["operations"].items())) or "nothing to do"
        )
        out.append(f"<p>{counts}; failed: {summary['failed']}; requests: ")
        out.append(", ".join(f"{esc(s)} {n}" for s, n in summary["requests"].items()))
        out.append(f"; times in {esc(pair['time_zone'])}</p>")
        for note in pair["recovered"]:
            out.append(f"<p>Recovered: {esc(note)}</p>")
        if pair["guard"]:
            guard = esc(pair["guard"])
            out.append(f"<p class='blocked'><strong>Stopped by the mass-delete guard:</strong> {guard}</p>")
        if not pair["operations"] and not pair["unmappable"]:
            continue
        out.append(
            "<table><tr><th>operation</th><th>record</th><th>fields (old → new)</th>"
            "<th>reason</th><th>rule</th><th>status</th></tr>"
        )
        for row in pair["operations"]:
            cls = row["status"] if row["status"] in ("failed", "skipped", "blocked") else ""
            if row["operation"] == "conflict":
                cls = "conflict"
            fields = "<br>".join(
                [
                    f"<code>{esc(name)}</code>: {esc(old)} → {esc(new)}"
                    for name, old, new in row["shown"]["fields"]
                ]
                + [
                    f"<code>{esc(name)}</code>: planfix {esc(pf)} ≠ planningpme {esc(pme)}"
                    for name, pf, pme in row["shown"]["conflicts"]
                ]
            )
            target = f" on {esc(row['target'])}" if row["target"] else ""
            status = esc(row["status"]) + (f": {esc(row['error'])}" if row["error"] else "")
            label = f"<span class='label'>{esc(row['label'])}</span><br>" if row["label"] else ""
            out.append(
                f"<tr class='{cls}'><td>{esc(row['operation'])}{target}</td>"
                f"<td>{label}<span class='muted'>{esc(_keys(row))}</span></td>"
                f"<td>{fields}</td><td>{esc(row['reason'])}</td><td>{esc(row['rule'])}</td><td>{status}</td></tr>"
            )
        for bad in pair["unmappable"]:
            out.append(
                "<tr class='failed'><td>cannot map</td>"
                f"<td class='muted'>{esc(bad['side'])} {esc(bad['key'])}</td><td></td><td></td><td></td>"
                f"<td>failed: {esc(bad['error'])}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>")
    # Remote text may hold control characters: escaped for HTML they would still reach the file.
    return printable("\n".join(out), newlines=True)


RENDERERS = {"text": render_text, "json": render_json, "html": render_html}


def write_report(path: Path, text: str, *, option: str = "--output") -> None:
    """Write a report file readable by its owner only (mode 0600, whatever the umask).

    The text goes to a new private file beside ``path``, which is then renamed over it: a reader
    never sees half a report, an existing file's wider mode is not kept, and a link at ``path`` is
    refused rather than written through (root writing a report must not overwrite what it points at).
    Failures are ConfigErrors naming ``option`` and the path.
    """
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot write the report: {exc.strerror}") from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise ConfigError(f"{option} {path}: is a symbolic link; give the path of the file itself")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{option} {path}: is not a regular file; leave out {option} to print the report")
    try:
        fd, staging = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot write the report: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(staging).replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(staging).unlink()
        if isinstance(exc, OSError):
            raise ConfigError(f"{option} {path}: cannot write the report: {exc.strerror}") from None
        raise
