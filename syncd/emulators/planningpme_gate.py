"""Who may call the PlanningPME emulator, and how often: bearer tokens and the per-app-key limits.

Time comes from the emulator's injectable clock, so tests expire tokens and free rate windows by
moving a fake clock instead of sleeping. The windows are the same exact sliding logs the client
side uses (``syncd.ratelimit.SlidingWindow``), here applied per application key.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from syncd.ratelimit import SlidingWindow


@dataclass(frozen=True)
class Issued:
    username: str
    expires_at: float


@dataclass
class TokenBook:
    """Bearer tokens handed out by ``/token``; each expires ``ttl`` seconds after issue."""

    ttl: float
    _tokens: dict[str, Issued] = field(default_factory=dict)

    def issue(self, username: str, now: float) -> str:
        self._tokens = {t: i for t, i in self._tokens.items() if i.expires_at > now}
        token = secrets.token_urlsafe(48)
        self._tokens[token] = Issued(username, now + self.ttl)
        return token

    def user(self, token: str, now: float) -> str | None:
        issued = self._tokens.get(token)
        if issued is None or issued.expires_at <= now:
            return None
        return issued.username

    def revoke(self, token: str) -> None:
        self._tokens.pop(token, None)


@dataclass(frozen=True)
class Admission:
    """The answer of ``RateGate.admit``: allowed, or the seconds to wait (``Retry-After``)."""

    allowed: bool
    retry_after: int = 0


class RateGate:
    """``hourly_limit`` requests per sliding hour and ``per_second`` per second, per app key.

    Refused requests do not count, so a client that honours ``Retry-After`` gets through.
    0 disables a limit.
    """

    def __init__(self, hourly_limit: int, per_second: float, clock: Callable[[], float]) -> None:
        self.hourly_limit = hourly_limit
        self.per_second = per_second
        self._clock = clock
        self._windows: dict[str, list[SlidingWindow]] = {}

    def reset(self) -> None:
        self._windows = {}

    def _for(self, app_key: str) -> list[SlidingWindow]:
        windows = self._windows.get(app_key)
        if windows is None:
            windows = []
            if self.hourly_limit > 0:
                windows.append(SlidingWindow(self.hourly_limit, 3600.0))
            if self.per_second > 0:
                limit, span = (
                    (round(self.per_second), 1.0) if self.per_second >= 1 else (1, 1 / self.per_second)
                )
                windows.append(SlidingWindow(max(1, limit), span))
            self._windows[app_key] = windows
        return windows

    def admit(self, app_key: str) -> Admission:
        now = self._clock()
        windows = self._for(app_key)
        wait = max((w.wait_time(now) for w in windows), default=0.0)
        if wait > 0:
            return Admission(False, retry_after=max(1, math.ceil(wait)))
        for window in windows:
            window.record(now)
        return Admission(True)
