"""The one exception tree of syncd.

Exceptions are grouped by what the caller does next, not by where they were raised::

    SyncdError                      base of everything syncd raises on purpose
    ├── ConfigError                 the admin must fix the config or a mapping file     (exit 2)
    │   └── MappingError            a mapping file is wrong (names the file and field)
    ├── StateError                  the state database cannot be used                   (exit 2)
    │   ├── StateLockedError        another syncd process writes to the same database
    │   └── StateCorruptError       the file is not a usable syncd database; never overwritten
    ├── RemoteError                 something a remote system said or did not say
    │   ├── AuthError               credentials rejected: stop, fix the secrets          (exit 3)
    │   ├── FatalRemoteError        account, plan or endpoint unusable: stop             (exit 3)
    │   ├── TransientError          retry later, with backoff; the cycle fails soft     (exit 3)
    │   │   ├── UnreachableError    connection refused, reset or timed out
    │   │   ├── ServerError         5xx, or "busy, try again" answers
    │   │   ├── ProtocolError       a reply we cannot parse (truncated, not XML/JSON)
    │   │   └── RateLimitedError    the remote said slow down (carries retry_after)
    │   │       └── QuotaExhaustedError  the daily quota (or our reserve of it) is used up
    │   └── RecordError             this record only: queue it as failed, go on         (exit 1)
    │       └── NotFoundError       the record does not exist (confirm before deleting)
    ├── GuardError                  the mass-delete guard stopped the run                (exit 4)
    └── PushRequestError            a request to the push endpoint was refused; answered to the
                                    sender as {"error": ...} with ``status``, never raised further

``exit_code`` on each class is the process exit code the CLI uses when that error ends a run.
Messages never contain secrets: callers pass identifiers and codes, never credentials.
"""

from __future__ import annotations


class SyncdError(Exception):
    """Base of every error syncd raises on purpose."""

    exit_code: int = 2


class ConfigError(SyncdError):
    """The configuration is wrong; the message names the key path and what to do."""

    exit_code = 2


class MappingError(ConfigError):
    """A mapping file is wrong; the message names the file and the field."""


class StateError(SyncdError):
    """The state database cannot be used."""

    exit_code = 2


class StateLockedError(StateError):
    """Another process holds the single-writer lock on the state database."""


class StateCorruptError(StateError):
    """The state file is not a usable syncd database. It is left untouched."""


class RemoteError(SyncdError):
    """A remote system refused, failed, or answered something we cannot use.

    ``system`` is ``"planfix"`` or ``"planningpme"``; ``code`` is the remote's own error code
    (Planfix's four-digit code, or the HTTP status for PlanningPME) when there is one.
    """

    exit_code = 3

    def __init__(self, message: str, *, system: str = "", code: str | None = None) -> None:
        prefix = f"{system}: " if system else ""
        suffix = f" (code {code})" if code else ""
        super().__init__(f"{prefix}{message}{suffix}")
        self.system = system
        self.code = code
        self.detail = message


class AuthError(RemoteError):
    """Credentials were rejected. Retrying will not help; the admin must fix the secrets."""


class FatalRemoteError(RemoteError):
    """The account, plan or endpoint cannot be used (wrong data centre, free plan, unknown account)."""


class TransientError(RemoteError):
    """A fault that may pass by itself: retry later with backoff."""


class UnreachableError(TransientError):
    """The remote could not be reached or did not answer in time.

    ``not_sent`` is True when the request certainly never reached the server (connection refused),
    so even a non-idempotent request may be retried.
    """

    def __init__(self, message: str, *, system: str = "", not_sent: bool = False) -> None:
        super().__init__(message, system=system)
        self.not_sent = not_sent


class ServerError(TransientError):
    """The remote failed (HTTP 5xx, or a busy/locked answer)."""


class ProtocolError(TransientError):
    """The reply could not be parsed: truncated, malformed, or of the wrong type."""


class RateLimitedError(TransientError):
    """The remote asked us to slow down. ``retry_after`` is in seconds when the remote said."""

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, system=system, code=code)
        self.retry_after = retry_after


class QuotaExhaustedError(RateLimitedError):
    """The daily quota, or the reserve syncd leaves for people's own scripts, is reached."""


class RecordError(RemoteError):
    """The remote refused this one record (invalid value, bad e-mail). Other records go on."""

    exit_code = 1


class NotFoundError(RecordError):
    """The record does not exist on the remote."""


class GuardError(SyncdError):
    """The mass-delete guard stopped the run before anything was deleted."""

    exit_code = 4


class PushRequestError(SyncdError):
    """A push request refused before anything was written; ``status`` is the HTTP status to answer.

    It never leaves the push endpoint: the sender gets the message as ``{"error": ...}``.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
