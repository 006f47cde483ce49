"""Structured logging: JSON when not a TTY, the request id on every line, secrets filtered."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar
from typing import Any, TextIO, cast

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

request_id_var: ContextVar[str | None] = ContextVar("lifeos_request_id", default=None)

_SECRET_KEY = re.compile(r"(pass(word)?|secret|token|api[_-]?key|authorization|cookie)", re.I)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@/\s]+)(@)")
# Values that are secrets wherever they appear: our API tokens, bearer credentials, the
# usual shape of provider keys (sk-...), session cookies.
_SECRET_VALUES = [
    (re.compile(r"lifeos_[A-Za-z0-9_-]{16,}"), "lifeos_***"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1***"),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), "sk-***"),
    (re.compile(r"(lifeos_(?:session|csrf)=)[^;\s]+"), r"\1***"),
]
_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """A configured secret (a provider's API key, BoardGameGeek's token): hidden wherever it
    appears in a log line or a traceback."""
    if value and len(value) >= 6:
        _registered.add(value)


def new_request_id() -> str:
    return uuid.uuid4().hex


def redact(value: Any) -> Any:
    """Hide passwords inside URLs, tokens, keys and registered secrets in a string value."""
    if isinstance(value, str):
        value = _URL_PASSWORD.sub(r"\1***\3", value)
        for pattern, mask in _SECRET_VALUES:
            value = pattern.sub(mask, value)
        for secret in _registered:
            value = value.replace(secret, "***")
    return value


def _filter_secrets(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    for key in list(event):
        if _SECRET_KEY.search(key):
            event[key] = "***"
        else:
            event[key] = redact(event[key])
    return event


def _add_request_id(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    rid = request_id_var.get()
    if rid and "request_id" not in event:
        event["request_id"] = rid
    return event


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is now (test runners and servers swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", json: bool | None = None) -> None:
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_request_id,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _filter_secrets,  # after the traceback is text: it is filtered too
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # PrintLogger only writes and flushes; its stubs ask for a whole TextIO.
        logger_factory=structlog.PrintLoggerFactory(file=cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
