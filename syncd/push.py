"""The push endpoint: Planfix's "Planfix API" mailing integration, served by the daemon.

Planfix pushes mailing-list and contact changes here (see docs/planfix-push-endpoint.md). It is a
second, near-real-time channel for contacts beside polling, so it must never lose an acknowledged
push and never let a bad or forged one write anything. The order of work says how:

1. transport checks (size, content type, JSON) — they reveal nothing, so they come first;
2. ``authToken`` in constant time — before any lookup that could tell whether a list exists;
3. the whole action is validated (``push_protocol``) before the first write;
4. the writes, ending with the change durably queued in the state database (``push_apply``);
5. only then the success reply and ``on_change`` (the daemon brings the contact cycle forward).

Store calls block, so they run off the event loop, on one thread of the app's own: pushes are
written one at a time in arrival order (SQLite takes one writer anyway), and the endpoint holds a
single database connection however many requests are waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import structlog
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from state.errors import StateFileError
from state.store import Store
from syncd.errors import ConfigError, PushRequestError
from syncd.httpserver import BackgroundServer
from syncd.push_apply import Outcome, PushApplier
from syncd.push_protocol import (
    ACTIONS,
    PushAction,
    check_content_type,
    check_token,
    parse_action,
    parse_envelope,
)
from syncd.settings import PushSettings

__all__ = ["PushServer", "create_push_app", "parse_listen"]

log = structlog.get_logger(__name__)

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
GRACEFUL_STOP_S = 5.0


def json_reply(body: dict[str, object], status: int = 200) -> JSONResponse:
    """Every reply, success or not, is a JSON object in UTF-8, as the protocol requires."""
    return JSONResponse(body, status_code=status, media_type="application/json; charset=utf-8")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes.

    A declared Content-Length over the limit is refused unread; a chunked body is counted as it
    arrives, so no more than ``limit`` bytes (plus one network chunk) are ever held in memory.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise PushRequestError(400, "Content-Length: not a number of bytes")
        if int(declared) > limit:
            raise PushRequestError(413, f"request body: over {limit} bytes (push.max_body_bytes)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PushRequestError(413, f"request body: over {limit} bytes (push.max_body_bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def create_push_app(
    store: Store,
    settings: PushSettings,
    on_change: Callable[[str], None],
    now: Callable[[], datetime],
) -> Starlette:
    """The ASGI app answering pushes on any path (so admins may use e.g. ``/planfix``).

    ``on_change(contact_id)`` is called once per contact whose change was newly queued, after it
    was committed; a failing callback is logged and does not undo or fail the push.
    """
    if settings.token is None or not settings.token.get_secret_value():
        raise ConfigError("push.token is not set; the push endpoint refuses to run without it")
    token = settings.token.get_secret_value().encode("utf-8")
    applier = PushApplier(store, settings, now)
    store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="push-store")

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
            log.warning("push.rejected", status=405, error="not a POST", method=request.method, **where)
            return json_reply({"error": f"method {request.method} not allowed; send a POST"}, 405)
        action_name: str | None = None
        try:
            check_content_type(request.headers.get("content-type"))
            envelope = parse_envelope(await read_body(request, settings.max_body_bytes))
            check_token(envelope, token)
            named = envelope.get("action")
            action_name = named if named in ACTIONS else "(unknown)"
            action = parse_action(envelope, max_contacts=settings.max_contacts)
            outcome = await asyncio.get_running_loop().run_in_executor(store_thread, apply, action)
        except PushRequestError as exc:
            log.warning("push.rejected", status=exc.status, error=exc.message, action=action_name, **where)
            return json_reply({"error": exc.message}, exc.status)
        except ClientDisconnect:
            log.warning("push.rejected", status=400, error="client went away mid-request", **where)
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

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=ALL_METHODS)])


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
    """

    def __init__(self, app: ASGIApp, listen: str) -> None:
        host, port = parse_listen(listen)
        try:
            super().__init__(app, host, port, name="push", graceful_timeout_s=GRACEFUL_STOP_S)
        except OSError as exc:
            raise ConfigError(f"push.listen: cannot listen on {listen!r}: {exc.strerror or exc}") from None
