"""Who may call the emulated API: token auth (HTTP Basic) or a legacy ``auth.login`` session.

Legacy mode (ПланФикс_API__Авторизация_по_логину_и_паролю.md): *every* request, ``auth.login``
included, carries HTTP Basic ``base64(apiKey + ":")`` — the API key with an empty password — and,
after the login, ``<sid>`` in the body. A wrong login or password is error 1001.

Secrets are compared in constant time, as a real server should, and never echoed in replies.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass

from lxml import etree

from syncd.emulators.planfix_model import PlanfixStore
from syncd.emulators.planfix_params import ApiError, text

Element = etree._Element


@dataclass(frozen=True)
class Credentials:
    account: str = "demo"
    api_key: str = "demo-key"
    token: str = "demo-token"  # noqa: S105 - the emulator's documented demo credentials
    login: str = "demo"
    password: str = "demo"  # noqa: S105 - the emulator's documented demo credentials


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _basic(header: str | None) -> tuple[str, str]:
    if not header:
        raise ApiError("0012", "token missing: send HTTP Basic auth base64(apiKey:token)")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise ApiError("0012", "token missing: only HTTP Basic auth is accepted")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError("0012", "token invalid: Basic credentials are not base64(apiKey:token)") from None
    key, sep, token = decoded.partition(":")
    if not sep:
        raise ApiError("0012", "token invalid: Basic credentials are not apiKey:token")
    return key, token


def check_account(creds: Credentials, request: Element) -> None:
    account = (text(request, "account") or "").strip()
    if not account or not _same(account, creds.account):
        raise ApiError("0004", f"unknown account {account!r}")


def _legacy_key(creds: Credentials, header: str | None) -> None:
    """The Basic header every legacy call needs: the API key, with an empty password."""
    if not header:
        raise ApiError("0001", "API key missing: legacy calls need HTTP Basic base64(apiKey + ':')")
    key, token = _basic(header)
    if not _same(key, creds.api_key):
        raise ApiError("0001", "wrong API key")
    if token:
        raise ApiError("0012", "token invalid: with <sid> the Basic password must be empty (apiKey:)")


def authenticate(
    creds: Credentials, store: PlanfixStore, request: Element, header: str | None, now: float
) -> None:
    """Raise the error the real service gives for missing, wrong or expired credentials."""
    sid = text(request, "sid")
    if sid is not None:
        _legacy_key(creds, header)
        expiry = store.sessions.get(sid.strip())
        if expiry is None or expiry <= now:
            store.sessions.pop(sid.strip(), None)
            raise ApiError("0005", "session expired: call auth.login again")
        return
    key, token = _basic(header)
    if not _same(key, creds.api_key):
        raise ApiError("0001", "wrong API key")
    if not _same(token, creds.token):
        raise ApiError("0012", "token invalid")


def login(
    creds: Credentials, store: PlanfixStore, request: Element, header: str | None, now: float, ttl: float
) -> str:
    """``auth.login``: a new session id valid for ``ttl`` seconds."""
    _legacy_key(creds, header)
    user = text(request, "login") or ""
    password = text(request, "password") or ""
    if not (_same(user, creds.login) and _same(password, creds.password)):
        raise ApiError("1001", "wrong login or password")
    sid = secrets.token_hex(16)
    store.sessions[sid] = now + ttl
    return sid
