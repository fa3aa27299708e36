"""The PlanningPME emulator: a real HTTP server speaking the REST API described in planningpme-api.md.

``syncd emulate planningpme --port N`` serves ``http://127.0.0.1:N/{brand}/``. Every data request
passes the same checks in the same order, as the real API would apply them: brand, ``X-APPKEY``,
the per-app-key rate limit (429 + ``Retry-After``), injected faults, the bearer token, then the
handler under the instance's lock. The checks before the handler never await, so they are atomic
on the event loop. Faults hit ``/{brand}/api/`` calls only, never ``/token``, so a fault always lands
on the data call a test aimed it at; they are taken before the handler runs, so a faulted write
never changes data. The ``/_emulator/`` control API is the shared one from ``common``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncd.emulators.common import (
    Faults,
    Stats,
    apply_latency,
    apply_reply_delay,
    control_routes,
    serve_forever,
)
from syncd.emulators.planningpme_description import DESCRIPTION_PATH, api_description
from syncd.emulators.planningpme_gate import RateGate, TokenBook
from syncd.emulators.planningpme_http import (
    BAD_APPKEY,
    DENIED,
    NO_RESOURCE,
    Call,
    bearer,
    fault_response,
    form_body,
    invalid_grant,
    json_body,
    message,
    no_content,
    ok,
    too_many,
)
from syncd.emulators.planningpme_model import CUSTOMER_RULES, EVENT_RULES, WriteDefaults, as_int_key
from syncd.emulators.planningpme_query import (
    PAGE_SIZE_MAX,
    PageRequest,
    page_of,
    parse_event_filter,
    parse_paging,
    parse_sort_info,
    sort_items,
)
from syncd.emulators.planningpme_reference import LOOKUPS, config_document
from syncd.emulators.planningpme_seed import seed_store
from syncd.emulators.planningpme_store import Entity, PlanningPmeStore
from syncd.emulators.planningpme_style import (
    HISTORY_SHAPES,
    REPLY_DATES,
    HistoryShape,
    ReplyDates,
    ReplyStyle,
)
from syncd.errors import ConfigError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
HISTORY_PROPS = ("op", "entity", "key", "label", "start", "end", "user", "date")


@dataclass(frozen=True)
class EmulatorOptions:
    brand: str = "demo"
    app_key: str = "demo-appkey"
    username: str = "demo"
    password: str = "demo"  # noqa: S105 - the documented demo credential of the emulator
    assertion: str = "demo-assertion"
    timezone: str = "Europe/Madrid"
    token_ttl: float = 28800.0
    hourly_limit: int = 2000
    """Requests per sliding hour per app key; 0 = unlimited."""
    rate: float = 0.0
    """Requests per second per app key (for benchmarks); 0 = off."""
    history: bool = True
    """Serve ``GET /api/history``; False answers 404 there, like an account without it."""
    history_days: float = 30.0
    history_shape: HistoryShape = "today"
    """``today`` (``{"entity": "do", "op": …}``), ``enum`` (``{"type": "Assignment", "op": …}``, the
    ``HistoryType`` names of ``/api/config``) or ``none`` (404, like ``history=False``)."""
    reply_dates: ReplyDates = "local"
    """Date-times in replies: ``local`` (naive), ``offset`` (``+01:00``) or ``utc`` (``Z``)."""
    numeric_enums: bool = False
    """Enums as numbers in replies and in ``/api/config`` (an older API version); writes accept
    names or numbers either way."""
    defaults: WriteDefaults = field(default_factory=WriteDefaults)
    """What the emulator fills in or normalises on a write, as PlanningPME does (assumptions)."""
    config_zone: bool = False
    """``/api/config`` names the account's time zone (``timeZone``), which ``syncd check`` compares."""
    api_description: bool = True
    """Serve a Swagger description at ``/{brand}/swagger/docs/v1`` (``syncd check`` reads it)."""
    api_description_omit: tuple[str, ...] = ()
    """Record properties the description leaves out (to test what ``syncd check`` reports)."""


Handler = Callable[[Call], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


class PlanningPmeEmulator:
    """One emulated PlanningPME account; all its state lives on the instance."""

    def __init__(
        self,
        options: EmulatorOptions | None = None,
        *,
        clock: Callable[[], float] = time.time,
        fault_seed: int = 0,
    ) -> None:
        self.options = options or EmulatorOptions()
        self.zone = ZoneInfo(self.options.timezone)
        self.faults = Faults()
        self.stats = Stats()
        self.lock = asyncio.Lock()
        self._clock = clock
        self._rng = random.Random(fault_seed)
        self.store = PlanningPmeStore(
            self.zone, clock, self.options.history_days * 86400.0, self.options.defaults
        )
        self.tokens = TokenBook(self.options.token_ttl)
        self.gate = RateGate(self.options.hourly_limit, self.options.rate, clock)
        self.style = ReplyStyle(
            self.zone, self.options.reply_dates, self.options.numeric_enums, self.options.history_shape
        )
        self.app = Starlette(routes=[*control_routes(self), *self._routes()])

    # The control API's view (EmulatedSystem) ---------------------------------------------------

    def reset(self) -> None:
        """Empty events, customers and history, and the rate windows; issued tokens stay valid."""
        self.store.reset()
        self.gate.reset()

    def seed(self, params: dict[str, Any]) -> dict[str, int]:
        return seed_store(self.store, params)

    def records(self, kind: str) -> list[dict[str, Any]] | None:
        entities: dict[str, Entity] = {"events": "do", "customers": "customer"}
        entity = entities.get(kind)
        return None if entity is None else [self.style.record(entity, r) for r in self.store.all(entity)]

    # The request pipeline ---------------------------------------------------------------------

    def _admit(self, request: Request) -> Response | None:
        brand = request.path_params.get("brand", "")
        if brand.lower() != self.options.brand.lower():
            return message(404, f"Unknown brand {brand!r}.")
        app_key = request.headers.get("x-appkey", "")
        if app_key != self.options.app_key:
            return message(401, BAD_APPKEY)
        admission = self.gate.admit(app_key)
        return None if admission.allowed else too_many(admission.retry_after)

    def _api(self, template: str, handler: Handler, *, write: bool = False) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            self.stats.count(template, write=write)
            refused = self._admit(request)
            if refused is not None:
                return refused
            await apply_latency(self.faults)
            token = bearer(request)
            fault = self.faults.take(self._rng)
            if fault is not None:
                if fault == "unauthorized":
                    self.tokens.revoke(token)
                return fault_response(fault, self.faults.error)
            user = self.tokens.user(token, self._clock())
            if user is None:
                return message(401, DENIED)
            try:
                body = await json_body(request) if request.method in ("POST", "PUT") else None
                call = Call(user, dict(request.query_params), body, request.path_params.get("key"))
                async with self.lock:
                    response = handler(call)
                await apply_reply_delay(self.faults)
                return response
            except ValueError as exc:
                return message(400, str(exc))
            except LookupError as exc:
                return message(404, str(exc.args[0]) if exc.args else NO_RESOURCE)

        return endpoint

    async def _token(self, request: Request) -> Response:
        self.stats.count("POST /token", write=False)
        refused = self._admit(request)
        if refused is not None:
            return refused
        form = await form_body(request)
        grant = form.get("grant_type", "")
        opts = self.options
        if grant == "password":
            if form.get("username") != opts.username or form.get("password") != opts.password:
                return invalid_grant("The user name or password is incorrect.")
            username = opts.username
        elif grant == JWT_BEARER:
            if form.get("assertion") != opts.assertion:
                return invalid_grant("The account token (assertion) is not valid.")
            username = opts.username
        else:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        async with self.lock:
            token = self.tokens.issue(username, self._clock())
        return ok(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(opts.token_ttl),
                "username": username,
            }
        )

    async def _unknown(self, request: Request) -> Response:
        self.stats.count(f"{request.method} /api/{{unknown}}", write=False)
        return message(404, NO_RESOURCE)

    # Handlers ---------------------------------------------------------------------------------

    def _page(
        self, call: Call, items: Sequence[Mapping[str, Any]], known: Iterable[str], entity: str = ""
    ) -> Response:
        ordered = sort_items(items, parse_sort_info(call.query.get("sortInfo")), known)
        page = page_of(ordered, parse_paging(call.query, PAGE_SIZE_MAX))
        if entity:
            page["items"] = [self.style.record(entity, item) for item in page["items"]]
        return ok(page)

    def _key(self, call: Call) -> int:
        try:
            return as_int_key(call.key, "key")
        except ValueError:
            raise LookupError(f"no record with key {call.key!r}") from None

    def _entity_routes(self, entity: Entity, path: str) -> list[Route]:
        store = self.store

        style = self.style

        def get_one(call: Call) -> Response:
            return ok(style.record(entity, store.get(entity, self._key(call))))

        def create(call: Call) -> Response:
            return ok(style.record(entity, store.create(entity, call.body, call.user)), 201)

        def update(call: Call) -> Response:
            return ok(style.record(entity, store.update(entity, self._key(call), call.body, call.user)))

        def delete(call: Call) -> Response:
            store.delete(entity, self._key(call), call.user)
            return no_content()

        base = f"/{{brand}}/api/{path}"
        return [
            Route(base, self._api(f"POST /api/{path}", create, write=True), methods=["POST"]),
            Route(f"{base}/{{key}}", self._api(f"GET /api/{path}/{{key}}", get_one), methods=["GET"]),
            Route(
                f"{base}/{{key}}",
                self._api(f"PUT /api/{path}/{{key}}", update, write=True),
                methods=["PUT"],
            ),
            Route(
                f"{base}/{{key}}",
                self._api(f"DELETE /api/{path}/{{key}}", delete, write=True),
                methods=["DELETE"],
            ),
        ]

    def _routes(self) -> list[Route]:
        store = self.store
        event_props = ("key", "fields", *EVENT_RULES)
        customer_props = ("key", "fields", *CUSTOMER_RULES)

        def events(call: Call) -> Response:
            return self._page(call, store.all("do"), event_props, "do")

        def events_filtered(call: Call) -> Response:
            found = store.events(parse_event_filter(call.body, self.zone))
            return self._page(call, found, event_props, "do")

        def customers(call: Call) -> Response:
            return self._page(call, store.customers(call.query.get("name")), customer_props, "customer")

        def history(call: Call) -> Response:
            if not self.options.history or self.options.history_shape == "none":
                raise LookupError(NO_RESOURCE)
            entries = store.history_since(call.query.get("since"))
            paging = parse_paging(call.query, PAGE_SIZE_MAX)
            page = page_of(entries, paging if paging.size is not None else PageRequest())
            page["items"] = [self.style.history(entry) for entry in page["items"]]
            return ok(page)

        def config(call: Call) -> Response:
            zone = self.options.timezone if self.options.config_zone else None
            return ok(config_document(self.options.numeric_enums, zone))

        routes = [
            Route("/{brand}/token", self._token, methods=["POST"]),
            Route("/{brand}/api/do/list", self._api("POST /api/do/list", events_filtered), methods=["POST"]),
            Route("/{brand}/api/do", self._api("GET /api/do", events), methods=["GET"]),
            *self._entity_routes("do", "do"),
            Route("/{brand}/api/customer", self._api("GET /api/customer", customers), methods=["GET"]),
            *self._entity_routes("customer", "customer"),
            Route("/{brand}/api/history", self._api("GET /api/history", history), methods=["GET"]),
            Route("/{brand}/api/config", self._api("GET /api/config", config), methods=["GET"]),
        ]
        for name, items in LOOKUPS.items():
            listing = [item.as_json() for item in items]

            def lookup_list(call: Call, listing: list[dict[str, Any]] = listing) -> Response:
                return self._page(call, listing, {p for item in listing for p in item})

            def lookup_one(call: Call, listing: list[dict[str, Any]] = listing, name: str = name) -> Response:
                found = next((item for item in listing if item["key"] == call.key), None)
                if found is None:
                    raise LookupError(f"no {name} with key {call.key!r}")
                return ok(found)

            routes.append(Route(f"/{{brand}}/api/{name}", self._api(f"GET /api/{name}", lookup_list)))
            routes.append(
                Route(f"/{{brand}}/api/{name}/{{key}}", self._api(f"GET /api/{name}/{{key}}", lookup_one))
            )
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        schemas = {"Do": event_props, "Customer": customer_props}

        def description(call: Call) -> Response:
            if not self.options.api_description:
                raise LookupError(NO_RESOURCE)
            return ok(api_description(routes, schemas, self.options.api_description_omit))

        routes.append(
            Route(f"/{{brand}}/{DESCRIPTION_PATH}", self._api(f"GET /{DESCRIPTION_PATH}", description))
        )
        routes.append(Route("/{brand}/api/{rest:path}", self._unknown, methods=methods))
        return routes


# Command line -------------------------------------------------------------------------------------


def _non_negative(kind: type[int] | type[float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < 0:
            raise argparse.ArgumentTypeError("must be >= 0")
        return value

    return parse


def add_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``syncd emulate planningpme``."""
    d = EmulatorOptions()
    parser.add_argument("--port", type=int, default=8702, help="TCP port on 127.0.0.1 (0 = any free port)")
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="start with N sample customers and N sample events"
    )
    parser.add_argument("--brand", default=d.brand, help=f"brand in the URL (default {d.brand})")
    parser.add_argument("--app-key", default=d.app_key, help=f"X-APPKEY (default {d.app_key})")
    parser.add_argument("--username", default=d.username, help=f"password-grant user (default {d.username})")
    parser.add_argument("--password", default=d.password, help="password-grant password")
    parser.add_argument("--assertion", default=d.assertion, help="jwt-bearer assertion accepted")
    parser.add_argument("--timezone", default=d.timezone, help=f"account time zone (default {d.timezone})")
    parser.add_argument(
        "--token-ttl", type=_non_negative(float), default=d.token_ttl, help="bearer token lifetime, seconds"
    )
    parser.add_argument(
        "--hourly-limit",
        type=_non_negative(int),
        default=d.hourly_limit,
        help="requests per hour per app key, then 429 (0 = unlimited)",
    )
    parser.add_argument(
        "--rate", type=_non_negative(float), default=d.rate, help="requests per second per app key (0 = off)"
    )
    parser.add_argument(
        "--history-days", type=_non_negative(float), default=d.history_days, help="history kept, days"
    )
    parser.add_argument("--no-history", action="store_true", help="answer 404 on /api/history")
    parser.add_argument(
        "--history-shape",
        choices=HISTORY_SHAPES,
        default=d.history_shape,
        help="history entries: today ({entity, op}), enum ({type: Assignment|Customer, op}), "
        "none (404); default %(default)s",
    )
    parser.add_argument(
        "--reply-dates",
        choices=REPLY_DATES,
        default=d.reply_dates,
        help="date-times in replies: local (naive), offset (+01:00) or utc (Z); default %(default)s",
    )
    parser.add_argument(
        "--numeric-enums",
        action="store_true",
        help="enums as numbers in replies and /api/config (an older API version)",
    )
    parser.add_argument(
        "--no-api-description",
        action="store_true",
        help="serve no Swagger description at /{brand}/swagger/docs/v1 (syncd check then says so)",
    )


def options_from_args(args: argparse.Namespace) -> EmulatorOptions:
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"--timezone: unknown time zone {args.timezone!r}; use e.g. Europe/Madrid"
        ) from None
    return EmulatorOptions(
        brand=args.brand,
        app_key=args.app_key,
        username=args.username,
        password=args.password,
        assertion=args.assertion,
        timezone=args.timezone,
        token_ttl=float(args.token_ttl),
        hourly_limit=int(args.hourly_limit),
        rate=float(args.rate),
        history=not args.no_history,
        history_days=float(args.history_days),
        history_shape=args.history_shape,
        reply_dates=args.reply_dates,
        numeric_enums=bool(args.numeric_enums),
        api_description=not args.no_api_description,
    )


def run_from_args(args: argparse.Namespace, out: TextIO) -> int:
    """Serve in the foreground until interrupted (``syncd emulate planningpme``)."""
    options = options_from_args(args)
    if not 0 <= args.port <= 65535 or args.seed < 0:
        raise ConfigError("--port must be 0..65535 and --seed >= 0")
    emulator = PlanningPmeEmulator(options)
    if args.seed:
        emulator.seed({"customers": args.seed, "events": args.seed, "seed": 1})

    def announce(base_url: str) -> None:
        limit = options.hourly_limit or "unlimited"
        print(f"PlanningPME emulator listening on {base_url}/{options.brand}/", file=out)
        print(f"  X-APPKEY: {options.app_key}", file=out)
        print(f"  token: user {options.username!r} / password {options.password!r}", file=out)
        print(f"         or assertion {options.assertion!r} (jwt-bearer grant)", file=out)
        print(f"  time zone {options.timezone}, token TTL {options.token_ttl:g} s, {limit} req/h", file=out)
        enums = "numbers" if options.numeric_enums else "names"
        history = "none" if not options.history else options.history_shape
        print(f"  history {history}, reply dates {options.reply_dates}, enums as {enums}", file=out)
        print(f"  control API: {base_url}/_emulator/  (Ctrl-C stops)", file=out)
        out.flush()

    serve_forever(emulator.app, args.port, announce)
    return 0
