"""A Planfix XML API emulator: ``POST /xml/`` plus the shared ``/_emulator/`` control API.

One ``PlanfixEmulator`` is one account with its own data, limits, faults and statistics; nothing
is kept at module level, so tests can run several side by side. A request passes, in this order:
statistics, the per-second rate gate, the daily quota, injected latency and faults, the account
and credentials, then the method. ``<silent>1</silent>`` is accepted at the root of any request
(XML_API_v1.md); a write carried out without it is counted in ``stats.notifications``, because
on the real service it notifies people and writes into the record's history. Every API error is
an XML ``<response status="error">`` with HTTP 200, as on the real service; only injected
HTTP-status faults use another status code.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncd.emulators.common import (
    DroppedConnection,
    FaultKind,
    Faults,
    Stats,
    apply_latency,
    apply_reply_delay,
    control_routes,
    serve_forever,
)
from syncd.emulators.planfix_auth import Credentials, authenticate, check_account, login
from syncd.emulators.planfix_context import MethodContext
from syncd.emulators.planfix_gate import OVER_RATE_MODES, OverRate, QuotaCounter, RateGate
from syncd.emulators.planfix_methods import METHODS, WRITE_METHODS
from syncd.emulators.planfix_model import PlanfixStore
from syncd.emulators.planfix_params import ApiError, flag, text
from syncd.emulators.planfix_render import (
    REPLY_SHAPES,
    ReplyShape,
    ReplyStyle,
    as_json,
    contact_element,
    envelope,
    error_envelope,
    task_element,
)
from syncd.emulators.planfix_seed import seed_store
from syncd.errors import ConfigError
from syncd.ratelimit import Clock, SystemClock

Element = etree._Element

XML_MEDIA_TYPE = "application/xml; charset=utf-8"
_MALFORMED_BODIES = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<response status="ok">'
    b'<tasks count="1" totalCount="1"><task><id>1',
    b"Internal Server Error: upstream closed",
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
)


@dataclass(frozen=True)
class PlanfixEmulatorConfig:
    credentials: Credentials = field(default_factory=Credentials)
    timezone: str = "Europe/Moscow"
    rate: float = 1.0
    """Requests per second per account; 0 = unlimited."""
    over_rate: OverRate = "reject"
    daily_quota: int = 20000
    """Requests per day; 0 = unlimited."""
    quota_refresh: float = 600.0
    sid_ttl: float = 3600.0
    update_resets: bool = True
    """task.update resets what it is not given (task.update.md). False is the explicit lenient mode."""
    reply_shape: ReplyShape = "random"
    random_seed: int = 0


@dataclass(frozen=True)
class _Parsed:
    method: str
    root: Element


def _parse_request(body: bytes) -> _Parsed | ApiError:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        return ApiError("0003", f"XML parse error: {exc}")
    if root.getroottree().docinfo.internalDTD is not None:
        return ApiError("0003", "XML parse error: DTDs are not accepted")
    if root.tag != "request":
        return ApiError("0003", f"XML parse error: root element is <{root.tag}>, expected <request>")
    method = (root.get("method") or "").strip()
    return _Parsed(method, root)


def _silent(root: Element) -> bool:
    """``<silent>`` at the request root: 1 means no notifications, no history entries."""
    value = text(root, "silent")
    if value is None or not value.strip():
        return False
    if value.strip().lower() not in ("0", "1", "true", "false"):
        raise ApiError("0015", f"silent: {value!r} is not a bool (0 or 1)")
    return bool(flag(value))


class PlanfixEmulator:
    """One emulated Planfix account (the ``EmulatedSystem`` the control API drives)."""

    def __init__(self, config: PlanfixEmulatorConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or PlanfixEmulatorConfig()
        self.clock: Clock = clock or SystemClock()
        self.zone = ZoneInfo(self.config.timezone)
        self.faults = Faults()
        self.stats = Stats()
        self.lock = asyncio.Lock()
        self._rng = random.Random(self.config.random_seed)
        self.store = PlanfixStore()
        self.rate_gate = RateGate(self.config.rate, self.config.over_rate, self.clock)
        self.quota = QuotaCounter(self.config.daily_quota, self.config.quota_refresh, self.zone, self.clock)

    # ------------------------------------------------------------ control API

    def reset(self) -> None:
        self.store = PlanfixStore()
        self.rate_gate = RateGate(self.config.rate, self.config.over_rate, self.clock)
        self.quota = QuotaCounter(self.config.daily_quota, self.config.quota_refresh, self.zone, self.clock)

    def seed(self, params: dict[str, Any]) -> dict[str, int]:
        unknown = set(params) - {"tasks", "contacts", "seed"}
        if unknown:
            raise ValueError(f"seed: unknown keys {sorted(unknown)}; allowed: contacts, seed, tasks")
        values = {
            key: params.get(key, default) for key, default in (("tasks", 0), ("contacts", 0), ("seed", 1))
        }
        for key, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"seed.{key}: expected a whole number")
        return seed_store(self.store, values["tasks"], values["contacts"], values["seed"], self.local_now())

    def records(self, kind: str) -> list[dict[str, Any]] | None:
        style = ReplyStyle()
        if kind == "tasks":
            tasks = sorted(self.store.tasks.values(), key=lambda t: t.id)
            return [as_json(task_element(t, self.store, style)) for t in tasks]
        if kind == "contacts":
            contacts = sorted(self.store.contacts.values(), key=lambda c: c.id)
            fields = ("lastUpdateDate",)
            return [as_json(contact_element(c, self.store, style, fields)) for c in contacts]
        return None

    def local_now(self) -> datetime:
        """Now as the account sees it: a naive local time in the emulator's zone."""
        return self.clock.now().astimezone(self.zone).replace(tzinfo=None)

    def build_app(self) -> Starlette:
        return Starlette(routes=[Route("/xml/", self.handle, methods=["POST"]), *control_routes(self)])

    # ------------------------------------------------------------ the API

    def _xml(self, body: bytes, status: int = 200) -> Response:
        headers = {}
        remaining = self.quota.header()
        if remaining is not None:
            headers["X-RateLimit-Remaining"] = remaining
        return Response(body, status_code=status, media_type=XML_MEDIA_TYPE, headers=headers)

    def _error(self, code: str, message: str) -> Response:
        return self._xml(error_envelope(code, message))

    def _fault_response(self, fault: FaultKind) -> Response:
        if fault == "drop":
            return DroppedConnection()
        if fault == "malformed":
            return self._xml(self._rng.choice(_MALFORMED_BODIES))
        if fault == "unauthorized":
            return self._error("0012", "token invalid (injected)")
        code = self.faults.error
        if isinstance(code, int):
            return Response(f"HTTP {code} (injected)".encode(), status_code=code, media_type="text/plain")
        message = "daily request limit exceeded (injected)" if code == "0007" else f"injected error {code}"
        return self._error(code, message)

    async def handle(self, request: Request) -> Response:
        parsed = _parse_request(await request.body())
        method = parsed.method if isinstance(parsed, _Parsed) and parsed.method else "invalid"
        async with self.lock:
            self.stats.count(method, write=method in WRITE_METHODS)
            wait = self.rate_gate.admit()
            if wait is None:
                # Undocumented on the real service (0007 is its *daily* limit): an HTTP 429 that a
                # client can only read as "slow down", never as "the day is used up".
                return Response(
                    f"more than {self.config.rate:g} requests per second".encode(),
                    status_code=429,
                    media_type="text/plain",
                    headers={"Retry-After": "1"},
                )
        if wait > 0:
            await asyncio.sleep(wait)
        async with self.lock:
            if not self.quota.take():
                return self._error("0007", "daily request quota exceeded; it resets at midnight")
            fault = self.faults.take(self._rng)
        await apply_latency(self.faults)
        if fault is not None:
            return self._fault_response(fault)
        async with self.lock:
            try:
                if isinstance(parsed, ApiError):
                    raise parsed
                response = self._xml(self._dispatch(parsed, request.headers.get("authorization")))
            except ApiError as api_error:
                response = self._error(api_error.code, api_error.message)
        await apply_reply_delay(self.faults)
        return response

    def _dispatch(self, parsed: _Parsed, authorization: str | None) -> bytes:
        creds = self.config.credentials
        check_account(creds, parsed.root)
        style = ReplyStyle.pick(self.config.reply_shape, self._rng)
        now = self.clock.monotonic()
        silent = _silent(parsed.root)
        if parsed.method == "auth.login":
            sid = login(creds, self.store, parsed.root, authorization, now, self.config.sid_ttl)
            sid_el = etree.Element("sid")
            sid_el.text = sid
            return envelope([sid_el], style)
        authenticate(creds, self.store, parsed.root, authorization, now)
        handler = METHODS.get(parsed.method)
        if handler is None:
            raise ApiError("0008", f"unknown method {parsed.method!r}")
        ctx = MethodContext(self.store, self.local_now(), style, self.config.update_resets)
        body = envelope(handler(ctx, parsed.root), style)
        if parsed.method in WRITE_METHODS and not silent:
            self.stats.notify()
        return body


def create_app(config: PlanfixEmulatorConfig | None = None, clock: Clock | None = None) -> Starlette:
    """A ready app for one new emulated account (for ``syncd demo`` and tests)."""
    return PlanfixEmulator(config, clock).build_app()


# ---------------------------------------------------------------- syncd emulate planfix


def add_options(parser: argparse.ArgumentParser) -> None:
    defaults = PlanfixEmulatorConfig()
    creds = defaults.credentials
    parser.add_argument("--port", type=int, default=8701, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="start with N sample tasks and N sample contacts"
    )
    parser.add_argument("--account", default=creds.account, help="account name (default %(default)s)")
    parser.add_argument("--api-key", default=creds.api_key, help="API key (default %(default)s)")
    parser.add_argument("--token", default=creds.token, help="API token (default %(default)s)")
    parser.add_argument("--login", default=creds.login, help="legacy auth.login user (default %(default)s)")
    parser.add_argument("--password", default=creds.password, help="legacy auth.login password")
    parser.add_argument("--timezone", default=defaults.timezone, help="zone of naive times (%(default)s)")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="requests/s, 0 = unlimited (1)")
    parser.add_argument(
        "--over-rate",
        choices=OVER_RATE_MODES,
        default=defaults.over_rate,
        help="above the rate: reject with HTTP 429, or delay (default reject)",
    )
    parser.add_argument(
        "--daily-quota",
        type=int,
        default=defaults.daily_quota,
        help="requests per day, 0 = unlimited (default 20000)",
    )
    parser.add_argument(
        "--quota-refresh",
        type=float,
        default=defaults.quota_refresh,
        help="seconds between X-RateLimit-Remaining refreshes (default 600)",
    )
    parser.add_argument(
        "--sid-ttl",
        type=float,
        default=defaults.sid_ttl,
        help="legacy session lifetime in seconds (default 3600)",
    )
    parser.add_argument(
        "--no-update-resets",
        action="store_true",
        help="lenient: task.update keeps what it is not given (the real one resets it, as documented)",
    )
    parser.add_argument(
        "--reply-shape",
        choices=REPLY_SHAPES,
        default=defaults.reply_shape,
        help="reply variants: plain, wild, or random per reply (default random)",
    )


def _config_from_args(args: argparse.Namespace) -> PlanfixEmulatorConfig:
    problems = []
    if not 0 <= args.port < 65536 or args.seed < 0:
        problems.append("--port must be 0..65535 and --seed >= 0")
    if args.rate < 0 or args.daily_quota < 0 or args.quota_refresh <= 0 or args.sid_ttl <= 0:
        problems.append("--rate and --daily-quota must be >= 0; --quota-refresh and --sid-ttl > 0")
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"--timezone: unknown time zone {args.timezone!r}")
    if problems:
        raise ConfigError("; ".join(problems))
    return PlanfixEmulatorConfig(
        credentials=Credentials(args.account, args.api_key, args.token, args.login, args.password),
        timezone=args.timezone,
        rate=args.rate,
        over_rate=cast(OverRate, args.over_rate),
        daily_quota=args.daily_quota,
        quota_refresh=args.quota_refresh,
        sid_ttl=args.sid_ttl,
        update_resets=not args.no_update_resets,
        reply_shape=cast(ReplyShape, args.reply_shape),
    )


def run_from_args(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the emulator in the foreground until interrupted."""
    config = _config_from_args(args)
    emulator = PlanfixEmulator(config)
    if args.seed:
        try:
            emulator.seed({"tasks": args.seed, "contacts": args.seed, "seed": 1})
        except ValueError as exc:
            raise ConfigError(f"--seed: {exc}") from None
    creds = config.credentials

    def announce(base_url: str) -> None:
        rate = "unlimited" if config.rate <= 0 else f"{config.rate:g} req/s ({config.over_rate})"
        print(f"Planfix emulator at {base_url}/xml/", file=out)
        print(f"  account {creds.account!r}, API key {creds.api_key!r}, token {creds.token!r}", file=out)
        print(f"  legacy auth.login: login {creds.login!r}, password {creds.password!r}", file=out)
        print(f"  time zone {config.timezone}, rate {rate}, daily quota {config.daily_quota}", file=out)
        print(f"  control API: {base_url}/_emulator/ (reset, seed, faults, stats, records)", file=out)
        out.flush()

    serve_forever(emulator.build_app(), args.port, announce)
    return 0
