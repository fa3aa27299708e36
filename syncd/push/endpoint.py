"""The push endpoint: Planfix's "Planfix API" mailing integration, served by the daemon.

Planfix pushes mailing-list and contact changes here (see docs/planfix-push-endpoint.md). It is a
second, near-real-time channel for contacts beside polling, so it must never lose an acknowledged
push and never let a bad or forged one write anything. The order of work says how:

1. transport checks (size, content type, JSON) — they reveal nothing, so they come first;
2. ``authToken`` in constant time — before any lookup that could tell whether a list exists;
3. the whole action is validated (``protocol``) before the first write;
4. the writes, ending with the change durably queued in the state database (``apply``);
5. only then the success reply and ``on_change`` (the daemon brings the contact cycle forward).

Store calls block, so they run off the event loop, on one thread of the app's own: pushes are
written one at a time in arrival order (SQLite takes one writer anyway), and the endpoint holds a
single database connection however many requests are waiting. A large body is parsed on a worker
thread too, so one big ``importContacts`` does not stall every other connection.

The endpoint may face the internet (behind a proxy), so it holds under abuse: open connections and
requests in flight are capped (more requests wait for a slot, briefly), a request must deliver its
head and its body in bounded time (see ``ConnectionLimits``), a refusal that leaves a body unread
closes the connection, and refusals are logged at most ``REJECTED_LOGS_PER_MINUTE`` times a minute
per reason, with a count of the rest.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio.to_thread
import structlog
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from state.errors import StateFileError
from state.store import Store
from syncd.errors import ConfigError, PushRequestError
from syncd.httpserver import BackgroundServer, ConnectionLimits
from syncd.push.apply import Outcome, PushApplier
from syncd.push.protocol import (
    ACTIONS,
    PushAction,
    check_content_type,
    check_token,
    parse_action,
    parse_envelope,
)
from syncd.settings import PushSettings

__all__ = ["PushServer", "RejectionLog", "create_push_app", "parse_listen", "push_limits"]

log = structlog.get_logger(__name__)

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
GRACEFUL_STOP_S = 5.0
PARSE_INLINE_MAX_BYTES = 64 * 1024
"""Bodies up to this size are parsed on the event loop; larger ones on a worker thread."""
REJECTED_LOGS_PER_MINUTE = 10
"""``push.rejected`` lines per reason and minute; a flood of bad requests must not flood the journal."""
BODY_CUT_GRACE_S = 1.0
"""The connection is cut this long after ``push.body_timeout``, so the app's 408 reply goes first."""

_T = TypeVar("_T")


class RejectionLog:
    """``push.rejected`` lines, at most ``per_minute`` per reason; the rest are counted, and the
    count is logged (``push.rejected_suppressed``) with the first request after that minute."""

    def __init__(self, now: Callable[[], datetime], per_minute: int = REJECTED_LOGS_PER_MINUTE) -> None:
        self._now = now
        self._per_minute = per_minute
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[datetime, int]] = {}
        """reason → (start of its minute, rejections seen in it)"""

    def rejected(self, reason: str, **fields: Any) -> None:
        self.tick()
        with self._lock:
            start, seen = self._windows.setdefault(reason, (self._now(), 0))
            self._windows[reason] = (start, seen + 1)
        if seen < self._per_minute:
            log.warning("push.rejected", reason=reason, **fields)

    def tick(self) -> None:
        """Close the minutes that are over, logging how many lines each one held back."""
        now = self._now()
        with self._lock:
            over = {r: w for r, w in self._windows.items() if now - w[0] >= timedelta(minutes=1)}
            for reason in over:
                del self._windows[reason]
        for reason, (_, seen) in sorted(over.items()):
            if seen > self._per_minute:
                log.warning(
                    "push.rejected_suppressed",
                    reason=reason,
                    suppressed=seen - self._per_minute,
                    per_minute=self._per_minute,
                )

    def cut(self, reason: str, client: str | None) -> None:
        """A connection closed by a limit (``ConnectionLimits.on_cut``)."""
        self.rejected(reason, client=client)


def json_reply(body: dict[str, object], status: int = 200) -> JSONResponse:
    """Every reply, success or not, is a JSON object in UTF-8, as the protocol requires.

    A refusal closes the connection: its body may be unread, and a client that was refused has
    no claim on a kept-alive socket.
    """
    headers = {"connection": "close"} if status >= 400 else None
    return JSONResponse(
        body, status_code=status, media_type="application/json; charset=utf-8", headers=headers
    )


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes or to arrive too slowly.

    A declared Content-Length over the limit is refused unread; a chunked body is counted as it
    arrives, so no more than ``limit`` bytes (plus one network chunk) are ever held in memory.
    The whole body must arrive within ``timeout`` seconds (a client trickling it in holds a
    request slot and a buffer).
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise PushRequestError(400, "Content-Length: not a number of bytes")
        if int(declared) > limit:
            raise PushRequestError(413, f"request body: over {limit} bytes (push.max_body_bytes)")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PushRequestError(413, f"request body: over {limit} bytes (push.max_body_bytes)")
                chunks.append(chunk)
    except TimeoutError:
        raise PushRequestError(
            408, f"request body: not complete within {timeout:g}s (push.body_timeout)"
        ) from None
    return b"".join(chunks)


async def off_loop_if_large(size: int, work: Callable[[], _T]) -> _T:
    """``work()``, on a worker thread when the body is large enough to stall the event loop."""
    if size <= PARSE_INLINE_MAX_BYTES:
        return work()
    return await anyio.to_thread.run_sync(work)


def create_push_app(
    store: Store,
    settings: PushSettings,
    on_change: Callable[[str], None],
    now: Callable[[], datetime],
) -> Starlette:
    """The ASGI app answering pushes on any path (so admins may use e.g. ``/planfix``).

    ``on_change(contact_id)`` is called once per contact whose change was newly queued, after it
    was committed; a failing callback is logged and does not undo or fail the push. The app's
    ``RejectionLog`` is ``app.state.rejections`` (``push_limits`` hands it to the server).
    """
    if settings.token is None or not settings.token.get_secret_value():
        raise ConfigError("push.token is not set; the push endpoint refuses to run without it")
    token = settings.token.get_secret_value().encode("utf-8")
    applier = PushApplier(store, settings, now)
    store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="push-store")
    rejections = RejectionLog(now)
    slots = asyncio.Semaphore(settings.max_requests)

    def apply(action: PushAction) -> Outcome:
        outcome = applier.apply(action)
        for contact_id in dict.fromkeys(outcome.queued):
            try:
                on_change(contact_id)
            except Exception as exc:
                log.warning("push.on_change_failed", contact_id=contact_id, error=str(exc))
        return outcome

    async def endpoint(request: Request) -> Response:
        client = request.client.host if request.client else None
        where = {"path": request.url.path, "client": client}
        if request.method != "POST":
            rejections.rejected("405", status=405, error="not a POST", method=request.method, **where)
            return json_reply({"error": f"method {request.method} not allowed; send a POST"}, 405)
        try:
            # Beyond max_requests a request waits for a slot (a burst from Planfix is served in
            # turn), but not for longer than a client may take to send its headers.
            async with asyncio.timeout(settings.header_timeout):
                await slots.acquire()
        except TimeoutError:
            error = f"too many requests at once (push.max_requests = {settings.max_requests}); send again"
            rejections.rejected("503", status=503, error=error, **where)
            reply = json_reply({"error": error}, 503)
            reply.headers["retry-after"] = "1"
            return reply
        try:
            return await handle(request, where)
        finally:
            slots.release()

    async def handle(request: Request, where: dict[str, Any]) -> Response:
        rejections.tick()
        action_name: str | None = None
        try:
            check_content_type(request.headers.get("content-type"))
            raw = await read_body(request, settings.max_body_bytes, settings.body_timeout)
            envelope = await off_loop_if_large(len(raw), lambda: parse_envelope(raw))
            check_token(envelope, token)
            named = envelope.get("action")
            action_name = named if named in ACTIONS else "(unknown)"
            action = await off_loop_if_large(
                len(raw), lambda: parse_action(envelope, max_contacts=settings.max_contacts)
            )
            outcome = await asyncio.get_running_loop().run_in_executor(store_thread, apply, action)
        except PushRequestError as exc:
            rejections.rejected(
                str(exc.status), status=exc.status, error=exc.message, action=action_name, **where
            )
            return json_reply({"error": exc.message}, exc.status)
        except ClientDisconnect:
            rejections.rejected("disconnect", status=400, error="client went away mid-request", **where)
            return json_reply({"error": "request body incomplete"}, 400)
        except StateFileError as exc:
            log.error("push.failed", status=503, error=str(exc), action=action_name, **where)
            return json_reply({"error": "state database unavailable; send the request again later"}, 503)
        except Exception:
            log.exception("push.failed", status=500, action=action_name, **where)
            return json_reply({"error": "internal error; the change may not be stored, send again"}, 500)
        log.info(
            "push.request",
            status=200,
            action=action_name,
            list_id=outcome.list_id,
            list_name=outcome.list_name,
            feeds_planningpme=outcome.feeds_planningpme,
            contacts=outcome.contacts,
            memberships_changed=outcome.memberships_changed,
            queued=len(outcome.queued),
            **where,
        )
        return json_reply(outcome.reply)

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=ALL_METHODS)])
    app.state.rejections = rejections
    return app


def push_limits(settings: PushSettings, app: Starlette) -> ConnectionLimits:
    """The server-side limits of ``[push]``; cut connections are logged through the app's log."""
    rejections: RejectionLog = app.state.rejections
    return ConnectionLimits(
        max_connections=settings.max_connections,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout + BODY_CUT_GRACE_S,
        keep_alive=settings.keep_alive,
        on_cut=rejections.cut,
    )


def parse_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8088`` for IPv6) as a host and a port; port 0 picks a free one."""
    host, sep, port = listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"push.listen: {listen!r} is not HOST:PORT, e.g. '127.0.0.1:8088'")
    return host, int(port)


class PushServer(BackgroundServer):
    """The push app served by uvicorn in a background thread of the daemon on ``listen``.

    Binding happens here, so a port in use is a ConfigError naming ``push.listen`` at start-up.
    ``stop`` lets requests in flight finish (up to a few seconds): what was acknowledged is stored.
    ``limits`` come from ``push_limits`` (None only for tests that do not need them).
    """

    def __init__(self, app: ASGIApp, listen: str, limits: ConnectionLimits | None = None) -> None:
        host, port = parse_listen(listen)
        try:
            super().__init__(app, host, port, name="push", graceful_timeout_s=GRACEFUL_STOP_S, limits=limits)
        except OSError as exc:
            raise ConfigError(f"push.listen: cannot listen on {listen!r}: {exc.strerror or exc}") from None
