"""Serving an ASGI app with uvicorn from a background thread of this process.

The emulators (in tests and the demo) and the daemon's push endpoint both need a server that runs
beside other work, starts on a known address before the caller goes on, and stops cleanly. The
socket is bound here, before uvicorn starts, so port 0 yields a free port that is known at once
and "address already in use" surfaces as an OSError in the caller, not as a dead thread.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Self

import uvicorn
from starlette.types import ASGIApp

START_TIMEOUT_S = 10.0


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
    default, wait for them all).
    """

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        name: str = "http",
        graceful_timeout_s: float | None = None,
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
