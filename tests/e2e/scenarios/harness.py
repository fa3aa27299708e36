"""What the scenarios need beyond the shared ``world``: reading what each system and the state hold,
other mapping settings, the CLI, and a tap on the wire that lets a test act at a chosen moment of a
cycle (inject a fault through the control API before a given page, or edit a record between the
read and the apply).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import structlog

from state.store import Store
from syncd.cli.main import main
from syncd.engine.cycle import Cycle, CycleResult
from syncd.engine.planner import Side
from syncd.runtime import build_pairs, build_remotes, cycle_options, load_mappings, open_store, utc_now
from tests.e2e.conftest import World

DEFAULTS = Path(__file__).resolve().parents[3] / "mappings" / "defaults"

# -- what each system holds (the emulators' control API) -----------------------------------------


def custom(record: dict[str, Any], field_id: str) -> str:
    """A Planfix custom value of a task or contact as the control API shows it ("" when unset)."""
    for item in record.get("customData") or []:
        if str(item["field"]["id"]) == field_id:
            return str(item.get("value") or "")
    return ""


def planfix(world: World, kind: str) -> dict[str, dict[str, Any]]:
    """Planfix ``tasks`` or ``contacts`` by id."""
    return {str(r["id"]): r for r in world.records(kind)}


def planningpme(world: World, kind: str) -> dict[str, dict[str, Any]]:
    """PlanningPME ``events`` or ``customers`` by key (as a string, like RemoteRecord.key)."""
    return {str(r["key"]): r for r in world.records(kind)}


def no_writes(world: World) -> bool:
    return world.writes() == {"planfix": 0, "planningpme": 0}


# -- the state database ------------------------------------------------------------------------


def state_path(world: World) -> Path:
    return world.settings.state.path


@contextmanager
def state(world: World) -> Iterator[Store]:
    """The state as `syncd status` sees it: read-only, beside no running writer."""
    with open_store(state_path(world), readonly=True) as store:
        yield store


def links(world: World, pair: str) -> dict[str, str]:
    """Planfix key → PlanningPME key of every link of ``pair``."""
    with state(world) as store:
        return {link.planfix_key: link.planningpme_key for link in store.links(pair)}


# -- configuration -----------------------------------------------------------------------------


def use_mappings(world: World, **overrides: dict[str, str]) -> None:
    """Run with copies of the default mappings whose top-level settings are changed, e.g.
    ``use_mappings(world, tasks={"conflict": '"manual"'})`` (values are TOML literals)."""
    names = []
    for name in ("contacts", "tasks"):
        text = (DEFAULTS / f"{name}.toml").read_text(encoding="utf-8")
        for key, value in overrides.get(name, {}).items():
            text, found = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
            if not found:
                text = text.replace("\n[[fields]]", f"\n{key} = {value}\n\n[[fields]]", 1)
        path = world.config_path.parent / f"{name}-scenario.toml"
        path.write_text(text, encoding="utf-8")
        names.append(path.name)
    set_sync(world, mappings=repr(names).replace("'", '"'))


def set_sync(world: World, **values: str) -> None:
    """Set keys of the config's ``[sync]`` section (values are TOML literals)."""
    text = world.config_path.read_text(encoding="utf-8")
    for key, value in values.items():
        text, found = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
        if not found:
            text = text.replace("[sync]\n", f"[sync]\n{key} = {value}\n", 1)
    world.config_path.write_text(text, encoding="utf-8")


# -- the command line ------------------------------------------------------------------------


def cli(world: World, *args: str) -> tuple[int, str]:
    """``syncd <args> --config <world's config>`` in this process: (exit code, what it printed)."""
    code, out, _ = cli_with_errors(world, *args)
    return code, out


def cli_with_errors(world: World, *args: str) -> tuple[int, str, str]:
    """Like ``cli``, with what went to stderr. The CLI configures logging for the process; the
    configuration before the call is put back, so no later log line goes to a stale stream."""
    out, err = StringIO(), StringIO()
    logging_before = structlog.get_config()
    try:
        with redirect_stderr(err):
            code = main([*args, "--config", str(world.config_path)], out=out)
    finally:
        structlog.configure(**logging_before)
    return code, out.getvalue(), err.getvalue()


# -- a tap on the wire -------------------------------------------------------------------------

Match = Callable[[httpx.Request], bool]


@dataclass
class _Rule:
    match: Match
    action: Callable[[], None]


@dataclass
class Tap(httpx.BaseTransport):
    """Forwards every request to the emulator; just before a request a rule matches, runs the
    rule's action once (e.g. a control-API fault for exactly that request, or a person's edit)."""

    rules: list[_Rule] = field(default_factory=list)
    inner: httpx.HTTPTransport = field(default_factory=httpx.HTTPTransport)
    seen: list[str] = field(default_factory=list)

    def before(self, match: Match, action: Callable[[], None]) -> None:
        self.rules.append(_Rule(match, action))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(describe(request))
        for rule in list(self.rules):
            if rule.match(request):
                self.rules.remove(rule)
                rule.action()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def describe(request: httpx.Request) -> str:
    """``contact.getList`` (Planfix) or ``GET /api/customer`` (PlanningPME), for matching and logs."""
    if request.url.path.endswith("/xml/"):
        root = ElementTree.fromstring(request.content)
        return root.get("method", "")
    path = re.sub(r"^/[^/]+/api/", "/api/", request.url.path)
    return f"{request.method} {path}"


def planfix_call(method: str, page: int | None = None) -> Match:
    """Matches a Planfix API call (and, for lists, one page of it)."""

    def match(request: httpx.Request) -> bool:
        if not request.url.path.endswith("/xml/") or describe(request) != method:
            return False
        if page is None:
            return True
        found = ElementTree.fromstring(request.content).findtext("pageCurrent")
        return found is not None and int(found) == page

    return match


def planningpme_call(call: str, page: int | None = None) -> Match:
    """Matches a PlanningPME call such as ``GET /api/customer`` or ``PUT /api/do/3`` (page from 0)."""

    def match(request: httpx.Request) -> bool:
        if request.url.path.endswith("/xml/") or describe(request) != call:
            return False
        return page is None or request.url.params.get("pageIndex") == str(page)

    return match


def sync_through(
    world: World, taps: dict[Side, Tap], *, dry_run: bool = False, force_delete: bool = False
) -> list[CycleResult]:
    """``world.sync()`` with the connectors' HTTP going through ``taps`` (what ``run_once`` does)."""
    settings = world.settings
    base = world.config_path.parent
    specs = load_mappings(settings, base)
    remotes = build_remotes(settings, specs, transports=dict(taps))
    options = cycle_options(settings, dry_run=dry_run, force_delete=force_delete, full=False)
    try:
        with open_store(settings.state.path, readonly=dry_run) as store:
            return [
                Cycle(store, pair, options, utc_now).run()
                for pair in build_pairs(settings, specs, remotes, store)
            ]
    finally:
        remotes.close()


def fault(world: World, side: Side, **faults: Any) -> Callable[[], None]:
    """An action that sets faults through that emulator's control API."""

    def act() -> None:
        (world.pf if side == "planfix" else world.pme)("POST", "faults", faults)

    return act
