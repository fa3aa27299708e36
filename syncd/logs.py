"""Logging set-up, done once at start-up; everything else calls ``structlog.get_logger()``.

JSON lines go to journald (stdout is not a terminal); a readable console format is used on a
terminal. A redaction processor runs last before rendering, so no secret reaches any output:
values of secret-looking keys are masked, every configured secret value is masked wherever it
appears inside any string of the event, and so is the user info of any URL (``scheme://user:pass@``).

The standard library loggers of uvicorn and asyncio are routed through the same renderer and the
same redactor, so the journal holds JSON lines only and their text is masked like ours.

Text that leaves the process by another way than the log (the CLI's error line, ``syncd check``,
``syncd retry``, the systemd STATUS line, ``last_error`` in the state database, the reports) goes
through ``redact``: the one function that knows what to mask, using the redactor configured here.
A reload refreshes the values to mask with ``remember_secrets``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, TextIO
from urllib.parse import quote

import structlog

REDACTED = "***"

MIN_SECRET_CHARS = 4
"""Shorter values (or line parts of a multi-line secret) are not masked: they would blank out
ordinary words everywhere, and are no secret worth the name."""

STDLIB_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "asyncio")
"""Third-party loggers whose lines must join the structured log (uvicorn's own, asyncio's)."""

_SECRET_KEY_PATTERN = re.compile(
    r"(pass(word)?|secret|token|api_?key|app_?key|authorization|assertion|credential|auth_?token|sid)$",
    re.IGNORECASE,
)

# A URL's user info (``scheme://user:pass@host``). The scheme may only start where no scheme
# character precedes it, and its run is possessive, so the scan stays linear on hostile text; the
# user info runs to the last ``@`` before the path, so a raw ``@`` inside a password is covered.
_URL_USERINFO = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]*+://)[^\s/?#]*@")

# Newlines and other control characters: an output path may drop or replace them (sd_notify turns
# a newline into a space), so each part of a secret between them is masked on its own too.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def mask_url_userinfo(text: str) -> str:
    """``https://user:pass@host/x`` → ``https://***@host/x``, anywhere in ``text``."""
    if "://" not in text or "@" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def _variants(secret: str) -> set[str]:
    """The forms in which ``secret`` may show up in text: whole, each line part, percent-encoded,
    and escaped inside a JSON string (text masked after it was rendered as JSON)."""
    found = {secret, quote(secret, safe=""), json.dumps(secret, ensure_ascii=False)[1:-1]}
    found.update(_CONTROL.split(secret))
    return {v for v in found if len(v) >= MIN_SECRET_CHARS}


class Redactor:
    """A structlog processor that masks secrets in an event dict (recursively).

    The values to mask can grow while the process runs (``add``, on reload); the list is swapped
    whole, so a thread masking text meanwhile sees either the old list or the new one.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Mask these values too (the earlier ones stay masked: old text may still be around)."""
        known = set(self._secrets)
        for secret in secrets:
            if secret:
                known |= _variants(secret)
        # Longest first so a secret that contains another (or its own line part) is masked whole.
        self._secrets = tuple(sorted(known, key=len, reverse=True))

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        return {key: self._clean(key, value) for key, value in event.items()}

    def scrub(self, text: str) -> str:
        """Mask every known secret value, and any URL's user info, inside ``text``."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return mask_url_userinfo(text)

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


def active_redactor() -> Redactor:
    """The redactor ``configure_logging`` installed (structlog's configuration holds it, so the
    process has one list of secrets without a global of ours); before that, one that masks URL
    user info only."""
    for processor in structlog.get_config().get("processors", ()):
        if isinstance(processor, Redactor):
            return processor
    return Redactor()


def redact(value: object) -> str:
    """``str(value)`` with every secret masked: for text that leaves the process by any path."""
    return active_redactor().scrub(str(value))


def redact_strings(value: Any) -> Any:
    """``value`` with ``redact`` applied to every string inside it (for reports built as data)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_strings(v) for v in value]
    return value


def remember_secrets(secrets: Iterable[str]) -> None:
    """Mask these values from now on too (a reload read new credentials)."""
    active_redactor().add(secrets)


class _StructuredHandler(logging.Handler):
    """Writes a stdlib record, rendered by structlog, under structlog's own lock for ``out``, so a
    uvicorn line and a syncd line written at the same moment never interleave."""

    def __init__(self, out: TextIO, level: int) -> None:
        super().__init__(level)
        self._out = out
        self._printer = structlog.PrintLogger(file=out)

    def emit(self, record: logging.LogRecord) -> None:
        if self._out.closed:
            return  # the stream was closed (a finished test's capture): the line has nowhere to go
        try:
            self._printer.msg(self.format(record))
        except Exception:
            self.handleError(record)


def _route_stdlib_loggers(formatter: logging.Formatter, out: TextIO, level: int) -> None:
    for name in STDLIB_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        handler = _StructuredHandler(out, level)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        logger.propagate = False


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
    numeric_level = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    foreign = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )
    _route_stdlib_loggers(foreign, out, numeric_level)
    return redactor
