"""Structured logging: configure structlog once, at the program's entry point.

Every log event is a dotted name with key-values (``session.resumed``,
``child.restarting``), never an f-string. JSON lines by default, console
rendering on a TTY. Context (``session_id``, ``actor``) is bound with
:func:`structlog.contextvars.bound_contextvars` before tasks are spawned, so
the tasks inherit it.

Example::

    from livesvc.logs import configure_logging, get_logger

    configure_logging(level="info")
    log = get_logger(__name__)
    log.info("emulator.listening", url="wss://127.0.0.1:8443")
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import msgspec
import structlog

_encoder = msgspec.json.Encoder(enc_hook=repr)

# Keys whose values are secrets wherever they appear in an event.
SECRET_KEYS = frozenset(
    {
        "api_key",
        "key",
        "token",
        "access_token",
        "authorization",
        "x-goog-api-key",
        "password",
        "secret",
    }
)
_QUERY_SECRET = re.compile(r"([?&](?:key|access_token|token)=)[^&\s]+", re.IGNORECASE)


def redact_text(text: str) -> str:
    """Redact credential query parameters inside a URL or message.

    >>> redact_text("wss://h/ws?key=abc&x=1")
    'wss://h/ws?key=<redacted>&x=1'
    """
    return _QUERY_SECRET.sub(r"\1<redacted>", text)


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for k, v in list(event.items()):
        if k.lower() in SECRET_KEYS and v is not None:
            event[k] = "<redacted>"
        elif isinstance(v, str) and "=" in v:
            event[k] = redact_text(v)
    return event


def _dumps(obj: Any, default: Any = None) -> bytes:
    # JSONRenderer passes default=; msgspec wants enc_hook, hence this adapter.
    return _encoder.encode(obj)


def configure_logging(
    level: str | int = "info", *, json: bool | None = None, stream: TextIO | None = None
) -> None:
    """Configure structlog (and bridge stdlib logging, e.g. trio-websocket) once.

    ``json=None`` picks console rendering when ``stream`` is a TTY, JSON otherwise.
    """
    stream = stream or sys.stderr
    numeric = level if isinstance(level, int) else logging.getLevelNamesMapping()[level.upper()]
    use_json = json if json is not None else not stream.isatty()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: Any
    if use_json:
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
        final: list[Any] = [structlog.processors.dict_tracebacks, renderer]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
        final = [renderer]
    structlog.configure(
        processors=[*shared, *final],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=stream)
        if not use_json
        else _BytesToTextLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # stdlib loggers (trio-websocket, hypercorn) come out through the same pipeline.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer() if use_json else renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO))


class _BytesToTextLoggerFactory:
    """A logger factory writing msgspec's bytes output as text lines to a stream."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, *args: Any) -> _TextLineLogger:
        return _TextLineLogger(self._stream)


class _TextLineLogger:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def msg(self, message: bytes | str) -> None:
        text = message.decode() if isinstance(message, bytes) else message
        self._stream.write(text + "\n")
        self._stream.flush()

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """Return a lazy structlog logger (``name`` is recorded as ``module``).

    Lazy: a module-level logger picks up :func:`configure_logging` called later.
    """
    if name is not None:
        initial.setdefault("module", name)
    return structlog.get_logger(**initial)
