"""The store's hourly purge: expired tokens, and closed sessions past their keep time.

One definition for the single-process daemon and the master of workers (only
one process of a daemon purges: the workers leave it to their master).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from livesvc.logs import get_logger

__all__ = ["PURGE_INTERVAL", "purge_periodically"]

log = get_logger(__name__)

PURGE_INTERVAL = 3600.0


async def purge_periodically(
    store: Any,
    *,
    keep_closed_seconds: Callable[[], float],
    wall_clock: Callable[[], float],
    every: float = PURGE_INTERVAL,
) -> None:
    """Purge every ``every`` seconds until cancelled (the keep time is read each time: SIGHUP)."""
    while True:
        await trio.sleep(every)
        tokens, sessions = await store.purge(
            now=wall_clock(), keep_closed_seconds=keep_closed_seconds()
        )
        if tokens or sessions:
            log.info("store.purged", tokens=tokens, sessions=sessions)
