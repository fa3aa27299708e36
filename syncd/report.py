"""Renders what a run planned or did, as text (terminal), JSON (scripts) or one HTML file (people).

The JSON report is a stable interface (``"schema": "syncd.report/1"``); its fields are documented
in the README. The HTML report is a single self-contained file: no scripts, no external assets.
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

from syncd.cycle import CycleResult, summarise
from syncd.errors import ConfigError
from syncd.logs import redact_strings
from syncd.planner import Operation
from syncd.terminal import printable, printable_json

SCHEMA = "syncd.report/1"


def _op_json(op: Operation, status: str, error: str | None = None) -> dict[str, Any]:
    return {
        "operation": op.kind,
        "target": op.target,
        "planfix_key": op.planfix_key,
        "planningpme_key": op.planningpme_key,
        "fields": [{"field": c.field, "old": c.old, "new": c.new} for c in op.changes],
        "conflicts": [{"field": c.field, "planfix": c.old, "planningpme": c.new} for c in op.conflicts],
        "reason": op.reason,
        "rule": op.rule,
        "status": status,
        "error": error,
    }


def _operations(result: CycleResult) -> list[dict[str, Any]]:
    if result.applied is None:
        status = "blocked" if result.guard else "planned"
        return [_op_json(op, status) for op in result.plan.operations]
    rows = [_op_json(op, "done") for op in result.applied.done]
    rows += [_op_json(op, "failed", err) for op, err in result.applied.failed]
    rows += [_op_json(op, "skipped", why) for op, why in result.applied.skipped]
    return rows


def to_json_dict(results: Sequence[CycleResult], generated_at: datetime | None = None) -> dict[str, Any]:
    when = generated_at or datetime.now(UTC)
    report = {
        "schema": SCHEMA,
        "generated_at": when.isoformat(),
        "dry_run": any(r.dry_run for r in results),
        "pairs": [
            {
                "pair": r.pair,
                "started_at": r.started_at.isoformat(),
                "summary": summarise(r),
                "recovered": r.recovered,
                "guard": r.guard,
                "operations": _operations(r),
            }
            for r in results
        ],
    }
    # Errors carry remote and exception text: every string is masked before any renderer sees it.
    masked: dict[str, Any] = redact_strings(report)
    return masked


def render_json(results: Sequence[CycleResult]) -> str:
    return printable_json(json.dumps(to_json_dict(results), ensure_ascii=False, indent=2, default=str))


def _value(value: Any) -> str:
    if value is None:
        return "∅"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _who(row: dict[str, Any]) -> str:
    parts = []
    if row["planfix_key"]:
        parts.append(f"planfix {row['planfix_key']}")
    if row["planningpme_key"]:
        parts.append(f"planningpme {row['planningpme_key']}")
    return " ↔ ".join(parts)


def render_text(results: Sequence[CycleResult]) -> str:
    data = to_json_dict(results)
    lines: list[str] = []
    heading = "DRY RUN — nothing was written" if data["dry_run"] else "Run"
    lines.append(heading)
    for pair in data["pairs"]:
        summary = pair["summary"]
        ops = summary["operations"]
        counts = ", ".join(f"{k} {v}" for k, v in sorted(ops.items())) or "nothing to do"
        lines.append("")
        lines.append(f"[{pair['pair']}] {counts}; failed {summary['failed']}")
        lines.append("  requests: " + ", ".join(f"{side} {n}" for side, n in summary["requests"].items()))
        for note in pair["recovered"]:
            lines.append(f"  recovered: {note}")
        if pair["guard"]:
            lines.append(f"  STOPPED by the mass-delete guard: {pair['guard']}")
        for row in pair["operations"]:
            target = f" on {row['target']}" if row["target"] else ""
            status = "" if row["status"] in ("planned", "done") else f" [{row['status']}]"
            lines.append(f"  {row['operation']}{target}: {_who(row)}{status}")
            lines.append(f"      reason: {row['reason']}  (rule: {row['rule']})")
            for change in row["fields"]:
                lines.append(f"      {change['field']}: {_value(change['old'])} → {_value(change['new'])}")
            for c in row["conflicts"]:
                pf_value, pme_value = _value(c["planfix"]), _value(c["planningpme"])
                lines.append(f"      {c['field']}: planfix {pf_value} ≠ planningpme {pme_value}")
            if row["error"]:
                lines.append(f"      error: {row['error']}")
    # Line by line: a newline inside a remote value must not start a line of its own.
    return "\n".join(printable(line) for line in lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}.failed{background:#fde8e8}.skipped,.blocked{background:#fff6dd}
.conflict{background:#eef3ff}code{font-size:.95em}.muted{color:#777}
"""


def render_html(results: Sequence[CycleResult]) -> str:
    data = to_json_dict(results)
    esc = html.escape
    out: list[str] = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>syncd report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>syncd {'dry-run ' if data['dry_run'] else ''}report</h1>",
        f"<p class='muted'>Generated {esc(data['generated_at'])}"
        + (" — <strong>nothing was written</strong>" if data["dry_run"] else "")
        + "</p>",
    ]
    for pair in data["pairs"]:
        summary = pair["summary"]
        out.append(f"<h2>{esc(pair['pair'])}</h2>")
        counts = (
            ", ".join(f"{esc(k)}: {v}" for k, v in sorted(summary["operations"].items())) or "nothing to do"
        )
        out.append(f"<p>{counts}; failed: {summary['failed']}; requests: ")
        out.append(", ".join(f"{esc(s)} {n}" for s, n in summary["requests"].items()) + "</p>")
        if pair["guard"]:
            guard = esc(pair["guard"])
            out.append(f"<p class='blocked'><strong>Stopped by the mass-delete guard:</strong> {guard}</p>")
        if not pair["operations"]:
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
                f"<code>{esc(c['field'])}</code>: {esc(_value(c['old']))} → {esc(_value(c['new']))}"
                for c in row["fields"]
            ) + "<br>".join(
                f"<code>{esc(c['field'])}</code>: planfix {esc(_value(c['planfix']))} ≠ "
                f"planningpme {esc(_value(c['planningpme']))}"
                for c in row["conflicts"]
            )
            target = f" on {esc(row['target'])}" if row["target"] else ""
            status = esc(row["status"]) + (f": {esc(row['error'])}" if row["error"] else "")
            out.append(
                f"<tr class='{cls}'><td>{esc(row['operation'])}{target}</td><td>{esc(_who(row))}</td>"
                f"<td>{fields}</td><td>{esc(row['reason'])}</td><td>{esc(row['rule'])}</td><td>{status}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


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
