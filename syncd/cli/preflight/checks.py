"""``syncd check``: a read-only pre-flight of the configured accounts, one result per check.

Each check says what it found, and when it fails, how to fix it; the command exits 0 only when
every check passes. Nothing here writes: the probes list one record, read reference data, and
send filters that match nothing. A check that cannot run because an earlier one failed (no
credentials, no point asking for statuses) is not run and not reported as passed.

The lines are masked (``redact``) here and made printable where they are printed (``commands``),
since a detail may quote what a server answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field

from syncd.errors import AuthError, NotFoundError, ProtocolError, RemoteError, UnreachableError
from syncd.logs import redact

PROBLEM_EXIT = RemoteError.exit_code
"""The exit code of a pre-flight with a problem: the one of a remote failure."""


@dataclass(frozen=True)
class Check:
    """One line of the pre-flight: what was checked, whether it passed, what was seen, the fix."""

    check: str
    ok: bool
    detail: str
    fix: str = ""


def passed(checks: Iterable[Check]) -> bool:
    return all(c.ok for c in checks)


def as_json(checks: Sequence[Check]) -> str:
    """For scripts: a list of ``{check, ok, detail, fix}``, secrets masked."""
    return json.dumps(
        [{k: redact(v) if isinstance(v, str) else v for k, v in asdict(c).items()} for c in checks],
        ensure_ascii=False,
        indent=2,
    )


def as_lines(checks: Sequence[Check]) -> list[str]:
    """For people: ``ok      name: detail`` or ``problem name: detail`` and a ``fix:`` line under it."""
    lines: list[str] = []
    for c in checks:
        lines.append(redact(f"{'ok' if c.ok else 'problem':<8}{c.check}: {c.detail}"))
        if not c.ok and c.fix:
            lines.append(redact(f"{'':<8}fix: {c.fix}"))
    return lines


CREDENTIALS_FIX = {
    "planfix": "check planfix.account, planfix.api_key and planfix.token (or login and password)",
    "planningpme": "check planningpme.brand, planningpme.app_key and planningpme.username/password"
    " (or assertion)",
}
URL_FIX = {
    "planfix": "check planfix.url: it must be the XML API address of the account's data centre"
    " (e.g. https://api.planfix.com/xml/ or https://api.planfix.ru/xml/)",
    "planningpme": "check planningpme.url and planningpme.brand: the account's API host and brand",
}


def fix_for(system: str, exc: RemoteError) -> str:
    """The usual cure for a failure of this kind; the detail says the rest."""
    if isinstance(exc, AuthError):
        return CREDENTIALS_FIX[system]
    if isinstance(exc, UnreachableError | NotFoundError) or exc.code == "404" or "HTTP 404" in exc.detail:
        return URL_FIX[system]
    if isinstance(exc, ProtocolError):
        return (
            f"the reply is not the shape syncd reads: check {system}.url points at the API itself;"
            " for PlanningPME, the [planningpme] *_path settings"
            if system == "planningpme"
            else f"the reply is not the shape syncd reads: check {system}.url points at the XML API"
        )
    return f"see the detail; retry later if {system} is busy or down"


@dataclass(frozen=True)
class Finding:
    """What a probe returns when the account answered and the answer shows a problem."""

    detail: str
    fix: str


@dataclass
class Preflight:
    """Collects results; ``attempt`` turns a remote failure into a problem line instead of an exit."""

    checks: list[Check] = field(default_factory=list)

    def add(self, check: str, ok: bool, detail: str, fix: str = "") -> bool:
        self.checks.append(Check(check, ok, detail, "" if ok else fix))
        return ok

    def attempt(
        self, system: str, check: str, probe: Callable[[], str | Finding], fix: str | None = None
    ) -> bool:
        """Run ``probe``, which returns its detail or a ``Finding``; a ``RemoteError`` is a problem too:
        ``fix`` when the server understood the request and refused it, else the usual one."""
        try:
            detail = probe()
        except RemoteError as exc:
            usual = isinstance(exc, AuthError | UnreachableError) or fix is None
            return self.add(check, False, redact(exc), fix_for(system, exc) if usual else str(fix))
        if isinstance(detail, Finding):
            return self.add(check, False, detail.detail, detail.fix)
        return self.add(check, True, detail)
