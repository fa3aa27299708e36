"""The HTTP edge of the PlanningPME emulator: replies, error bodies, injected faults, body parsing.

Kept apart from the routes so the request pipeline reads as a list of checks, and so the error
shapes (``{"message": ...}``; ``{"error": "invalid_grant"}`` from ``/token``) live in one place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from syncd.emulators.common import DroppedConnection, FaultKind

DENIED = "Authorization has been denied for this request."
BAD_APPKEY = "Missing or invalid application key: send it in the X-APPKEY header."
NO_RESOURCE = "No HTTP resource was found that matches the request URI."
MALFORMED_BODY = b'{"totalItems": 3, "items": [{"key": 1, "label": "Revisi\xc3\xb3n de cal'
"""What a ``malformed`` fault sends: JSON cut off in the middle of a string."""


@dataclass(frozen=True)
class Call:
    """A data request that passed every check: who calls, and what they sent."""

    user: str
    query: Mapping[str, str]
    body: Any
    key: str | None


def message(status: int, text: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"message": text}, status_code=status, headers=dict(headers or {}))


def ok(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)


def too_many(retry_after: int) -> JSONResponse:
    return message(
        429,
        f"Rate limit exceeded for this application key; retry after {retry_after} s.",
        {"Retry-After": str(retry_after)},
    )


def fault_response(kind: FaultKind, error: str | int) -> Response:
    """The reply for an injected fault (``unauthorized`` is handled by the caller: it revokes)."""
    if kind == "drop":
        return DroppedConnection()
    if kind == "malformed":
        return Response(MALFORMED_BODY, status_code=200, media_type="application/json")
    if kind == "unauthorized":
        return message(401, DENIED)
    status = error if isinstance(error, int) and 400 <= error <= 599 else 500
    headers = {"Retry-After": "1"} if status in (429, 503) else None
    return message(status, f"Emulated fault (HTTP {status}, {error!r}).", headers)


def bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def json_body(request: Request) -> Any:
    """The JSON body, or None when there is none; a ValueError (→ 400) when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"the request body is not valid JSON: {exc}") from None


async def form_body(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (``/token``), last value wins."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    return {name: values[-1] for name, values in parse_qs(raw, keep_blank_values=True).items()}


def invalid_grant(description: str) -> JSONResponse:
    return JSONResponse({"error": "invalid_grant", "error_description": description}, status_code=400)
