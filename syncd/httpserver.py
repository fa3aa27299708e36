"""Serving an ASGI app with uvicorn from a background thread of this process.

The emulators (in tests and the demo) and the daemon's push endpoint both need a server that runs
beside other work, starts on a known address before the caller goes on, and stops cleanly. The
socket is bound here, before uvicorn starts, so port 0 yields a free port that is known at once
and "address already in use" surfaces as an OSError in the caller, not as a dead thread.

A server that faces clients it does not control (the push endpoint) also gets ``ConnectionLimits``.
uvicorn brings the keep-alive timeout; what it lacks is added to its h11 protocol here: a cap on
open connections (uvicorn's ``limit_concurrency`` only answers 503 once a request head has arrived,
and counts idle sockets against requests), and deadlines for the request head (a client that
connects and says nothing, or sends its headers a byte at a time, holds a socket for ever
otherwise) and for the body (a client that stops half-way through).
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Self

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ConnectionLimits:
    """How much of the server one client, or many, may hold, and for how long (seconds)."""

    max_connections: int
    header_timeout: float
    """From connecting (or the end of the previous response) to a complete request head."""
    body_timeout: float
    """From the request head to the end of the body."""
    keep_alive: float
    """An idle connection between requests is closed after this (uvicorn, whole seconds)."""
    on_cut: Callable[[str, str | None], None] | None = None
    """Told ``(reason, client host)`` for each connection cut by a limit, on the event loop."""


class _GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap and request-head and body deadlines."""

    limits: ClassVar[ConnectionLimits]

    _head_timer: asyncio.TimerHandle | None = None
    _body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._cut("too many connections")
            return
        self._arm_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head()
            self._follow()

    def _arm_head(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._cut, "header timeout")

    def _follow(self) -> None:
        """Move from the head deadline to the body deadline as the request arrives."""
        state = self.conn.their_state
        if state is h11.IDLE:
            return
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if state is h11.SEND_BODY:
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.limits.body_timeout, self._cut, "body timeout")
        elif self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _disarm(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None

    def _cut(self, reason: str) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        self.transport.close()
        if self.limits.on_cut is not None:
            self.limits.on_cut(reason, self.client[0] if self.client else None)


def _protocol_for(limits: ConnectionLimits) -> type[H11Protocol]:
    return type("GuardedH11Protocol", (_GuardedH11Protocol,), {"limits": limits})


def _bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (IPv4 or IPv6, whatever ``host`` resolves to)."""
    family, _, proto, _, address = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says it is TCP; with proto 0 every keep-alive request stalls ~40 ms
    # (Nagle against delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


class BackgroundServer:
    """An ASGI app served by uvicorn in a daemon thread; port 0 picks a free port.

    ``graceful_timeout_s`` bounds how long ``stop`` waits for open connections (None: uvicorn's
    default, wait for them all). ``limits`` (None: uvicorn's defaults) guard a public-facing server.
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "http",
        graceful_timeout_s: float | None = None,
        limits: ConnectionLimits | None = None,
    ) -> None:
        self.host = host.strip("[]")
        self.name = name
        self._sock = _bind(self.host, port)
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            log_config=None,  # uvicorn's own lines go through syncd.logs, not a handler of its own
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=None if graceful_timeout_s is None else round(graceful_timeout_s),
        )
        if limits is not None:
            config.http = _protocol_for(limits)
            config.timeout_keep_alive = max(1, math.ceil(limits.keep_alive))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.run_foreground, name=f"{name}:{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def run_foreground(self) -> None:
        """Serve in the calling thread until ``stop`` (or a signal uvicorn handles) ends it."""
        self._server.run(sockets=[self._sock])

    def start(self) -> Self:
        """Start the thread and return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} server on {self.base_url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop accepting, let running requests finish, and release the port. Idempotent."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=START_TIMEOUT_S + 5)
        self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
