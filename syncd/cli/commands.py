"""The CLI's commands: ``run`` (daemon, ``--once``, ``--dry-run``), ``status``, ``check``, ``demo``."""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import structlog

from state.files import user_name
from state.store import Store
from syncd.cli.preflight.checks import PROBLEM_EXIT, Preflight, as_json, as_lines, passed
from syncd.cli.preflight.run import run_preflight
from syncd.cli.report import RENDERERS, write_report
from syncd.engine.cycle import PAUSED_OUTCOME, Cycle, CycleResult
from syncd.engine.foresight import ForeseenLinks
from syncd.errors import StateError
from syncd.logs import configure_logging, redact
from syncd.runtime import build_pairs, build_remotes, cycle_options, load_mappings, open_store, utc_now
from syncd.settings import Settings, load_settings, resolve_config_path
from syncd.terminal import printable, printable_json

log = structlog.get_logger(__name__)


def _load(args: argparse.Namespace) -> tuple[Settings, Path]:
    path = resolve_config_path(getattr(args, "config", None))
    settings = load_settings(path)
    fmt = settings.logging.format
    configure_logging(
        secrets=settings.secret_values(),
        json=None if fmt == "auto" else fmt == "json",
        level=settings.logging.level,
        stream=sys.stderr,
    )
    return settings, path.resolve().parent


def refuse_root_on_service_state(settings: Settings, args: argparse.Namespace) -> None:
    """A writer run by root in a state directory another user owns is refused before it opens anything.

    Root would leave files there the service cannot open (the service stops), and anything that user
    planted there (a link, a file) would be acted on with root's rights. The message says how to run
    the same command as the directory's owner.
    """
    if os.geteuid() != 0:
        return
    directory = settings.state.path.parent
    try:
        owner = directory.stat().st_uid
    except OSError:
        return  # opening the store names the missing directory
    if owner == 0:
        return
    try:
        name = pwd.getpwuid(owner).pw_name
    except KeyError:
        name = f"#{owner}"  # sudo's spelling of a uid without a name (a stopped DynamicUser)
    config = resolve_config_path(getattr(args, "config", None)).resolve()
    command = shlex.join(["syncd", args.command, "--config", str(config)])
    raise StateError(
        f"syncd {args.command} writes to the state database, and runs as root in {directory}, which "
        f"belongs to {user_name(owner)}: root's files there would lock the service out, and links "
        "planted there would be followed with root's rights. Run it as that user instead: "
        f"sudo -u {shlex.quote(name)} {command} … (or runuser -u {shlex.quote(name)} -- {command} …); "
        "for the shipped systemd units see README, Troubleshooting."
    )


@contextmanager
def state_for_run(settings: Settings, dry_run: bool) -> Iterator[Store]:
    """The state store. A dry run opens it read-only, and a missing file stays missing: the run
    plans against an empty state in a throw-away directory instead."""
    path = settings.state.path
    if dry_run and not path.exists():
        with (
            tempfile.TemporaryDirectory(prefix="syncd-dry-run-") as tmp,
            open_store(Path(tmp) / "empty.db") as store,
        ):
            yield store
        return
    with open_store(path, readonly=dry_run) as store:
        yield store


def run_once(
    settings: Settings,
    base_dir: Path,
    *,
    dry_run: bool = False,
    force_delete: bool = False,
    full: bool = False,
    now: Callable[..., object] | None = None,
) -> list[CycleResult]:
    """One cycle of every configured mapping, contacts first."""
    specs = load_mappings(settings, base_dir)
    remotes = build_remotes(settings, specs)
    options = cycle_options(settings, dry_run=dry_run, force_delete=force_delete, full=full)
    results: list[CycleResult] = []
    try:
        with state_for_run(settings, dry_run) as store:
            for pair in build_pairs(settings, specs, remotes, store, dry_run=dry_run):
                result = Cycle(store, pair, options, utc_now).run()
                results.append(result)
                if isinstance(pair.mapper.ctx.links, ForeseenLinks):
                    pair.mapper.ctx.links.foresee(result.plan)
                log.info(
                    "cycle.done",
                    pair=pair.name,
                    dry_run=dry_run,
                    operations=len(result.plan.operations),
                    failed=result.failed,
                )
    finally:
        remotes.close()
    return results


def _exit_code(results: list[CycleResult]) -> int:
    if any(r.guard for r in results):
        return 4
    return 1 if any(r.failed for r in results) else 0


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    settings, base_dir = _load(args)
    if not args.dry_run:
        refuse_root_on_service_state(settings, args)
    if not args.once:
        from syncd.service.daemon import run_daemon

        return run_daemon(settings, base_dir, args)
    results = run_once(
        settings, base_dir, dry_run=args.dry_run, force_delete=args.force_delete, full=args.full
    )
    text = RENDERERS[args.report](results)
    if args.output:
        write_report(Path(args.output), text)
        print(printable(f"report written to {args.output}"), file=out)
    else:
        out.write(text)
    return _exit_code(results)


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    settings, _ = _load(args)
    if not settings.state.path.exists():
        print(f"no state database yet at {settings.state.path}: syncd has not run", file=out)
        return 0
    with open_store(settings.state.path, readonly=True) as store:
        data = store.status_summary()
    data = {"paused": paused_pairs(data, datetime.now(UTC)), **data}
    if args.json:
        out.write(printable_json(redact(json.dumps(data, ensure_ascii=False, indent=2, default=str))) + "\n")
        return 0
    out.write(redact(render_status(data)))
    return 0


def paused_pairs(summary: Mapping[str, Any], now: datetime) -> dict[str, str]:
    """Pairs whose newest cycle was stopped by a used-up quota that has not turned yet, and why."""
    paused: dict[str, str] = {}
    newest: dict[str, Mapping[str, Any]] = {}
    for cycle in summary.get("last_cycles", []):
        newest.setdefault(str(cycle.get("pair")), cycle)
    for pair, cycle in newest.items():
        details = cycle.get("summary") or {}
        resumes = details.get("resumes_at") if cycle.get("outcome") == PAUSED_OUTCOME else None
        if resumes and datetime.fromisoformat(resumes) > now:
            paused[pair] = f"no {details.get('system')} request until {resumes}: {details.get('error')}"
    return paused


def render_status(data: dict[str, object]) -> str:
    """One line per item; failures and conflicts hold remote text, so each line is made printable."""
    lines = []
    for key, value in data.items():
        if isinstance(value, list):
            lines.append(f"{key}: {len(value)}")
            lines.extend(f"  - {json.dumps(item, ensure_ascii=False, default=str)}" for item in value)
        elif isinstance(value, dict):
            lines.append(f"{key}:" if value else f"{key}: none")
            lines.extend(f"  {k}: {v}" for k, v in value.items())
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(printable(line) for line in lines) + "\n"


def cmd_retry(args: argparse.Namespace, out: TextIO) -> int:
    """Parked records wait for a person; once fixed, this makes them due at the next cycle."""
    settings, _ = _load(args)
    refuse_root_on_service_state(settings, args)
    if not settings.state.path.exists():
        print(f"no state database yet at {settings.state.path}: nothing to retry", file=out)
        return 0
    wanted = set(args.keys)
    count = 0
    with open_store(settings.state.path) as store:
        for failure in store.failures(args.pair):
            if wanted and failure.key not in wanted:
                continue
            if failure.parked and store.unpark(failure.pair, failure.side, failure.key):
                count += 1
                why = redact(failure.last_error)
                print(
                    printable(f"{failure.pair} {failure.side} {failure.key}: will be retried ({why})"),
                    file=out,
                )
    print(f"{count} parked record(s) released for retry", file=out)
    return 0


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """The read-only pre-flight (``syncd.cli.preflight.checks``): exit 0 only when every check passes."""
    settings, base_dir = _load(args)
    specs = load_mappings(settings, base_dir)
    pre = Preflight()
    pre.add("config", True, f"{len(specs)} mappings: {', '.join(s.name for s in specs)}")
    if not args.offline:
        run_preflight(pre, settings, specs)
    if getattr(args, "json", False):
        print(printable_json(as_json(pre.checks)), file=out)
    else:
        for line in as_lines(pre.checks):
            print(printable(line), file=out)
    return 0 if passed(pre.checks) else PROBLEM_EXIT


def cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    from syncd.cli.onboarding.run import run_init

    return run_init(args, out)


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from syncd.cli.demo import run_demo

    return run_demo(out, seconds=args.seconds, output=args.output)


HANDLERS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "run": cmd_run,
    "status": cmd_status,
    "check": cmd_check,
    "retry": cmd_retry,
    "demo": cmd_demo,
    "init": cmd_init,
}
