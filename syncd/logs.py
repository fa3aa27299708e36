"""Logging set-up, done once at start-up; everything else calls ``structlog.get_logger()``.

JSON lines go to journald (stdout is not a terminal); a readable console format is used on a
terminal. A redaction processor runs last before rendering, so no secret reaches any output:
values of secret-looking keys are masked, and every configured secret value is masked wherever
it appears inside any string of the event.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "***"

_SECRET_KEY_PATTERN = re.compile(
    r"(pass(word)?|secret|token|api_?key|app_?key|authorization|assertion|credential|auth_?token|sid)$",
    re.IGNORECASE,
)


class Redactor:
    """A structlog processor that masks secrets in an event dict (recursively)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first so a secret that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        return {key: self._clean(key, value) for key, value in event.items()}

    def scrub(self, text: str) -> str:
        """Mask every known secret value inside ``text``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def _clean(self, key: str, value: Any) -> Any:
        if isinstance(key, str) and _SECRET_KEY_PATTERN.search(key) and value not in (None, ""):
            return REDACTED
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, Mapping):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple | set):
            return [self._clean("", v) for v in value]
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        return value


def configure_logging(
    *,
    secrets: Iterable[str] = (),
    json: bool | None = None,
    level: str = "INFO",
    stream: TextIO | None = None,
) -> Redactor:
    """Configure structlog for the process. ``json=None`` picks JSON when ``stream`` is not a tty."""
    out = stream if stream is not None else sys.stdout
    use_json = (not out.isatty()) if json is None else json
    redactor = Redactor(secrets)
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    return redactor
