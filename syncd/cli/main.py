"""The ``syncd`` command line: parses arguments, turns errors into messages and exit codes.

Exit codes: 0 ok, 1 some records failed, 2 usage/config/state error, 3 a remote system unreachable
or auth failed, 4 the mass-delete guard stopped the run, 70 a bug in syncd (its traceback is printed
with every secret masked). A user mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Protocol, TextIO

from syncd.cli.onboarding.options import add_options as add_init_options
from syncd.errors import SyncdError
from syncd.logs import redact
from syncd.terminal import printable

INTERNAL_ERROR_EXIT = 70
"""EX_SOFTWARE (sysexits.h): syncd itself failed; every error syncd expects has an exit code of its own."""

EMULATORS = ("planfix", "planningpme")


class EmulatorModule(Protocol):
    def add_options(self, parser: argparse.ArgumentParser) -> None: ...
    def run_from_args(self, args: argparse.Namespace, out: TextIO) -> int: ...


def _emulator_module(name: str) -> EmulatorModule:
    module: EmulatorModule = importlib.import_module(f"syncd.emulators.{name}")
    return module


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="path of syncd.toml (default: $SYNCD_CONFIG)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncd", description="Keeps Planfix and PlanningPME in step, both ways."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the daemon, or one cycle with --once")
    _add_config(run)
    run.add_argument("--once", action="store_true", help="run one cycle of every mapping, then exit")
    run.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    run.add_argument("--report", choices=("text", "json", "html"), default="text", help="report format")
    run.add_argument("--output", "-o", help="write the report to this file instead of stdout")
    run.add_argument("--force-delete", action="store_true", help="override the mass-delete guard")
    run.add_argument("--full", action="store_true", help="read everything, not only recent changes")

    status = sub.add_parser("status", help="links, last cycles, failures, conflicts waiting")
    _add_config(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")

    retry = sub.add_parser("retry", help="retry parked records now (after you fixed them)")
    _add_config(retry)
    retry.add_argument("--pair", help="only this mapping (e.g. tasks)")
    retry.add_argument("keys", nargs="*", metavar="KEY", help="only these record keys (either side)")

    check = sub.add_parser("check", help="validate config and mappings, test credentials")
    _add_config(check)
    check.add_argument("--offline", action="store_true", help="do not contact the remote systems")
    check.add_argument("--json", action="store_true", help="print the checks as JSON, for scripts")

    init = sub.add_parser("init", help="write a starter syncd.toml and mappings from both accounts")
    add_init_options(init)

    demo = sub.add_parser("demo", help="run against built-in emulators with sample data and show the result")
    demo.add_argument("--seconds", type=float, default=20.0, help="how long the daemon runs")
    demo.add_argument("--output", "-o", help="where to write the HTML report")

    emulate = sub.add_parser("emulate", help="serve an emulator of a remote system on 127.0.0.1")
    systems = emulate.add_subparsers(dest="system", metavar="SYSTEM", required=True)
    for name in EMULATORS:
        p = systems.add_parser(name, help=f"the {name} emulator")
        _emulator_module(name).add_options(p)
    return parser


def _normalise_short_forms(argv: list[str]) -> list[str]:
    """``syncd --once`` and ``syncd --dry-run`` mean ``syncd run --once [--dry-run]``."""
    if argv and argv[0] in ("--once", "--dry-run"):
        rest = argv
        if "--once" not in rest:
            rest = ["--once", *rest]
        return ["run", *rest]
    return argv


def _dispatch(args: argparse.Namespace, out: TextIO) -> int:
    command: str | None = args.command
    if command == "emulate":
        return _emulator_module(args.system).run_from_args(args, out)
    from syncd.cli import commands  # here, not at the top: `syncd --help` imports nothing heavy

    handlers: dict[str, Callable[[argparse.Namespace, TextIO], int]] = commands.HANDLERS
    handler = handlers.get(command or "")
    if handler is None:
        print(f"syncd: '{command}' is not available in this build", file=sys.stderr)
        return 2
    return handler(args, out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    args_list = _normalise_short_forms(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    if not args_list:
        parser.print_help(stream)
        return 2
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.dry_run if hasattr(args, "dry_run") else False:
        args.once = True
    try:
        return _dispatch(args, stream)
    except SyncdError as exc:
        # Remote errors quote what the remote said: no secret, and no escape sequence of theirs.
        print(printable(f"syncd: error: {redact(exc)}", newlines=True), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, not a user's mistake: say so, masked like every other output
        trace = "".join(traceback.format_exception(exc))
        print(
            printable(f"syncd: internal error (please report it):\n{redact(trace)}", newlines=True),
            file=sys.stderr,
        )
        return INTERNAL_ERROR_EXIT
