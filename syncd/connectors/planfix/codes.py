"""Planfix error codes and HTTP statuses → the syncd exception tree (planfix-xml-api.md, error table).

Codes and their handling: planfix-xml-api.md (error table and corrections), object codes from
``Коды_ошибок_XML_API_v1.md``. The grouping follows what the caller does next: fix the credentials
(``AuthError``), stop
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
    QuotaExhaustedError,
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
DAILY_LIMIT: Final = "0007"
"""The daily request limit ("maximum daily request limit exceeded"): wait for the day to turn."""
REQUEST_BUG_CODES: Final = frozenset({"0003", "0009", "0021"})
"""Codes that mean syncd built a wrong request: the request shape is logged (never its values)."""

_AUTH: Final = MappingProxyType(
    {
        "0001": "the API key was rejected: check planfix.api_key",
        "0005": "the session expired",
        "0012": "the token is missing or invalid: check planfix.token",
        "1001": "wrong login or password: check planfix.login and planfix.password",
    }
)
_FATAL: Final = MappingProxyType(
    {
        "0002": "the API application is blocked: ask the Planfix account's administrator",
        "0004": "unknown account: check planfix.account",
        "0006": "wrong request signature",
        "0008": "unknown API method",
        "0010": "the Planfix account is frozen: syncd can do nothing until it is active again",
        "0013": "the API user is not defined: check the user the token or login belongs to",
        "0014": "the API user is inactive: reactivate that user or use another one's token",
        "0020": "this action is not allowed for the API user: check that user's rights",
        "0022": "this Planfix plan has no API access (free account)",
        "0023": "this function is not available in the account's Planfix plan",
        "0024": (
            "wrong data centre for this account: set planfix.url to your account's endpoint, one of "
            + ", ".join(DATA_CENTRES)
        ),
    }
)
_TRANSIENT: Final = MappingProxyType(
    {
        "0011": "Planfix is updating its software; syncd tries again later",
        "3014": "the task is being edited by someone else (a scenario or another API call)",
    }
)
_NOT_FOUND: Final = frozenset({"0101", "3001", "8002"})
_RECORD: Final = MappingProxyType(
    {
        "0003": "Planfix could not parse the request",
        "0009": "a required parameter is missing",
        "0015": "invalid parameter value",
        "0021": "too many objects requested in one call",
        "0104": "the API user has no access to this record: give that user access to it",
        "0105": "the API user has no right to edit this record: give that user the right",
        "8010": "invalid e-mail address",
    }
)


def error_for_code(code: str, message: str, *, method: str) -> RemoteError:
    """The exception for an error reply (0007 is handled by the client, which owns the limiter)."""
    said = f": {message}" if message else ""
    if code in _AUTH:
        return AuthError(f"{method}: {_AUTH[code]}{said}", system=SYSTEM, code=code)
    if code in _FATAL:
        return FatalRemoteError(f"{method}: {_FATAL[code]}{said}", system=SYSTEM, code=code)
    if code in _NOT_FOUND:
        return NotFoundError(f"{method}: object does not exist{said}", system=SYSTEM, code=code)
    if code in _TRANSIENT:
        return ServerError(f"{method}: {_TRANSIENT[code]}{said}", system=SYSTEM, code=code)
    if code == DAILY_LIMIT:
        return QuotaExhaustedError(
            f"{method}: the daily request limit is used up{said}", system=SYSTEM, code=code
        )
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
