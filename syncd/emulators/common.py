"""What both emulators share: fault injection, request statistics, the control API, the server thread.

Each emulator is a Starlette app holding its own in-memory data. The control API under
``/_emulator/`` lets tests and benchmarks drive it from outside (reset, seed, faults, stats,
records) without counting against the emulated limits.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from syncd.errors import ConfigError
from syncd.httpserver import BackgroundServer

FaultKind = Literal["error", "drop", "malformed", "unauthorized"]


@dataclass
class Faults:
    """Faults to inject into the next data requests (never into control requests)."""

    fail_next: int = 0
    error: str | int = 503
    error_rate: float = 0.0
    latency_ms: float = 0.0
    reply_delay_ms: float = 0.0
    """Delay after the request was carried out, before the reply: a crash or timeout in this
    window leaves a write applied that the client never heard of."""
    drop_next: int = 0
    malformed_next: int = 0
    unauthorized_next: int = 0

    @classmethod
    def from_json(cls, body: Any) -> Faults:
        if not isinstance(body, dict):
            raise ValueError("faults: expected a JSON object")
        allowed = set(cls.__dataclass_fields__)
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"faults: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        faults = cls(**body)
        for name in ("fail_next", "drop_next", "malformed_next", "unauthorized_next"):
            value = getattr(faults, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"faults.{name}: expected a whole number >= 0")
        if not isinstance(faults.error_rate, int | float) or not 0 <= faults.error_rate <= 1:
            raise ValueError("faults.error_rate: expected a number from 0 to 1")
        for name in ("latency_ms", "reply_delay_ms"):
            value = getattr(faults, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"faults.{name}: expected a number >= 0")
        if not isinstance(faults.error, str | int) or isinstance(faults.error, bool):
            raise ValueError("faults.error: expected an error code string (e.g. '0007') or an HTTP status")
        return faults

    def take(self, rng: random.Random) -> FaultKind | None:
        """Consume and return the fault for the next request, if any."""
        if self.drop_next > 0:
            self.drop_next -= 1
            return "drop"
        if self.malformed_next > 0:
            self.malformed_next -= 1
            return "malformed"
        if self.unauthorized_next > 0:
            self.unauthorized_next -= 1
            return "unauthorized"
        if self.fail_next > 0:
            self.fail_next -= 1
            return "error"
        if self.error_rate > 0 and rng.random() < self.error_rate:
            return "error"
        return None


@dataclass
class Stats:
    """Requests counted by method, as ``GET /_emulator/stats`` reports them."""

    by_method: dict[str, int] = field(default_factory=dict)
    writes: int = 0
    notifications: int = 0
    """Writes carried out without ``<silent>1</silent>`` (Planfix); each notified people."""

    def count(self, method: str, *, write: bool) -> None:
        self.by_method[method] = self.by_method.get(method, 0) + 1
        if write:
            self.writes += 1

    def notify(self) -> None:
        self.notifications += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "total": sum(self.by_method.values()),
            "writes": self.writes,
            "notifications": self.notifications,
            "by_method": dict(self.by_method),
        }


class EmulatedSystem(Protocol):
    """What the control API needs from an emulator."""

    faults: Faults
    stats: Stats
    lock: asyncio.Lock

    def reset(self) -> None: ...
    def seed(self, params: dict[str, Any]) -> dict[str, int]: ...
    def records(self, kind: str) -> list[dict[str, Any]] | None: ...


def json_error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    return json.loads(raw)


def control_routes(system: EmulatedSystem) -> list[Route]:
    """The ``/_emulator/`` routes, identical for both emulators."""

    async def reset(request: Request) -> Response:
        async with system.lock:
            system.reset()
            system.faults = Faults()
            system.stats = Stats()
        return JSONResponse({"ok": True})

    async def seed(request: Request) -> Response:
        try:
            params = await _json_body(request)
            if not isinstance(params, dict):
                raise ValueError("seed: expected a JSON object")
            async with system.lock:
                created = system.seed(params)
        except (ValueError, TypeError) as exc:
            return json_error(str(exc))
        return JSONResponse({"ok": True, "created": created})

    async def set_faults(request: Request) -> Response:
        try:
            faults = Faults.from_json(await _json_body(request))
        except (ValueError, TypeError) as exc:
            return json_error(str(exc))
        system.faults = faults
        return JSONResponse({"ok": True})

    async def clear_faults(request: Request) -> Response:
        system.faults = Faults()
        return JSONResponse({"ok": True})

    async def stats(request: Request) -> Response:
        return JSONResponse(system.stats.as_json())

    async def reset_stats(request: Request) -> Response:
        system.stats = Stats()
        return JSONResponse({"ok": True})

    async def records(request: Request) -> Response:
        kind = request.path_params["kind"]
        async with system.lock:
            found = system.records(kind)
        if found is None:
            return json_error(f"unknown record kind {kind!r}", 404)
        return JSONResponse(found)

    return [
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/seed", seed, methods=["POST"]),
        Route("/_emulator/faults", set_faults, methods=["POST"]),
        Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/stats/reset", reset_stats, methods=["POST"]),
        Route("/_emulator/records/{kind}", records, methods=["GET"]),
    ]


class DroppedConnection(Response):
    """A response that announces a body and then stops: the client sees the connection drop."""

    def __init__(self) -> None:
        super().__init__(content=b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"4096"), (b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": b"partial", "more_body": True})
        # Returning here with the body incomplete makes the server close the connection.


async def apply_latency(faults: Faults) -> None:
    if faults.latency_ms > 0:
        await asyncio.sleep(faults.latency_ms / 1000.0)


async def apply_reply_delay(faults: Faults) -> None:
    if faults.reply_delay_ms > 0:
        await asyncio.sleep(faults.reply_delay_ms / 1000.0)


class EmulatorServer(BackgroundServer):
    """Serves an emulator on 127.0.0.1 in a background thread (port 0 picks a free port)."""

    def __init__(self, app: Starlette, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(app, host, port, name="emulator")


def serve_forever(app: Starlette, port: int, announce: Callable[[str], None]) -> None:
    """Run an emulator in the foreground (``syncd emulate``) until interrupted."""
    try:
        server = EmulatorServer(app, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    announce(server.base_url)
    server.run_foreground()


Handler = Callable[[Request], Awaitable[Response]]
