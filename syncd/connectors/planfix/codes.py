"""Planfix error codes and HTTP statuses → the syncd exception tree (planfix-xml-api.md, error table).

The grouping follows what the caller does next: fix the credentials (``AuthError``), stop
(``FatalRemoteError``), retry later (``TransientError`` subclasses), or skip this record
(``RecordError``). Codes this table does not know keep their code in a ``RecordError``, so one
odd reply fails one record, not the whole run, and the code is visible in the failure queue.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from syncd.errors import (
    AuthError,
    FatalRemoteError,
    NotFoundError,
    ProtocolError,
    RateLimitedError,
    RecordError,
    RemoteError,
    ServerError,
)

SYSTEM = "planfix"
DATA_CENTRES: Final = (
    "https://api.planfix.com/xml/",
    "https://api-sg.planfix.com/xml/",
    "https://api-us.planfix.com/xml/",
)
SESSION_EXPIRED: Final = "0005"
RATE_LIMITED: Final = "0007"
REQUEST_BUG_CODES: Final = frozenset({"0003", "0009", "0021"})
"""Codes that mean syncd built a wrong request: the request shape is logged (never its values)."""

_AUTH: Final = MappingProxyType(
    {
        "0001": "the API key was rejected: check planfix.api_key",
        "0005": "the session expired",
        "0012": "the token is missing or invalid: check planfix.token",
    }
)
_FATAL: Final = MappingProxyType(
    {
        "0004": "unknown account: check planfix.account",
        "0006": "wrong request signature",
        "0008": "unknown API method",
        "0022": "this Planfix plan has no API access (free account)",
        "0024": (
            "wrong data centre for this account: set planfix.url to your account's endpoint, one of "
            + ", ".join(DATA_CENTRES)
        ),
    }
)
_NOT_FOUND: Final = frozenset({"0101", "3001", "8002"})
_RECORD: Final = MappingProxyType(
    {
        "0003": "Planfix could not parse the request",
        "0009": "a required parameter is missing",
        "0015": "invalid parameter value",
        "0021": "too many objects requested in one call",
        "8010": "invalid e-mail address",
    }
)
_QUOTA_WORDS: Final = ("day", "daily", "quota", "сут", "днев", "ден")


def is_quota_message(message: str, remaining_header: str | None) -> bool:
    """Whether a 0007 is the daily quota rather than the per-second rate.

    The code is the same for both; the message (or a remaining quota of 0) tells them apart.
    """
    lowered = message.lower()
    return any(word in lowered for word in _QUOTA_WORDS) or (remaining_header or "").strip() == "0"


def error_for_code(code: str, message: str, *, method: str) -> RemoteError:
    """The exception for an error reply (0007 is handled by the client, which owns the limiter)."""
    said = f": {message}" if message else ""
    if code in _AUTH:
        return AuthError(f"{method}: {_AUTH[code]}{said}", system=SYSTEM, code=code)
    if code in _FATAL:
        return FatalRemoteError(f"{method}: {_FATAL[code]}{said}", system=SYSTEM, code=code)
    if code in _NOT_FOUND:
        return NotFoundError(f"{method}: object does not exist{said}", system=SYSTEM, code=code)
    if code == "3014":
        return ServerError(
            f"{method}: the task is being edited by someone else{said}", system=SYSTEM, code=code
        )
    if code == RATE_LIMITED:
        return RateLimitedError(f"{method}: request limit exceeded{said}", system=SYSTEM, code=code)
    if code in _RECORD:
        return RecordError(f"{method}: {_RECORD[code]}{said}", system=SYSTEM, code=code)
    return RecordError(f"{method}: unknown Planfix error{said}", system=SYSTEM, code=code)


def error_for_status(
    status: int, url: str, *, method: str, retry_after: float | None, location: str | None = None
) -> RemoteError:
    """The exception for a reply whose HTTP status is not 200 (Planfix itself always answers 200)."""
    if 300 <= status < 400:
        where = f" to {location}" if location else ""
        return FatalRemoteError(
            f"{method}: HTTP {status} redirect{where}: set planfix.url to the exact endpoint", system=SYSTEM
        )
    if status in (401, 403):
        return AuthError(f"{method}: HTTP {status}: credentials rejected", system=SYSTEM)
    if status == 404:
        return FatalRemoteError(f"{method}: HTTP 404 at {url}: check planfix.url", system=SYSTEM)
    if status == 429:
        return RateLimitedError(f"{method}: HTTP 429", system=SYSTEM, retry_after=retry_after or 1.0)
    if status >= 500:
        return ServerError(f"{method}: HTTP {status} from Planfix", system=SYSTEM)
    return ProtocolError(f"{method}: unexpected HTTP status {status}", system=SYSTEM)
