"""Logging for ``livesvc serve``: the config's level and format, applied once and on reload."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from livesvc.config import LoggingConfig
from livesvc.logs import configure_logging

__all__ = ["apply_logging"]

# Libraries that are chatty at INFO about things the daemon already logs itself.
_QUIET = {"hypercorn.error": logging.WARNING, "hypercorn.access": logging.WARNING}


def apply_logging(config: LoggingConfig, *, stream: TextIO | None = None) -> None:
    """Configure structlog (and the stdlib bridge) from ``[logging]``.

    ``format = "auto"`` is console rendering on a TTY and JSON lines otherwise.
    """
    json = {"auto": None, "json": True, "console": False}[config.format]
    configure_logging(config.level, json=json, stream=stream or sys.stderr)
    for name, level in _QUIET.items():
        logging.getLogger(name).setLevel(level)
    # trio-websocket logs every frame at DEBUG; keep it at the daemon's level or above.
    logging.getLogger("trio-websocket").setLevel(
        max(logging.INFO, logging.getLevelName(config.level.upper()))
    )
