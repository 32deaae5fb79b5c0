"""Child definitions shared by the daemon's tree and the master's: one way to build each.

Both trees are a ``service`` supervisor of the same shape (``store``, then the
``emulator`` when embedded, then what serves, then ``admin`` and the config
watcher); the children that both run are defined once here, each taking the
narrow part of its owner it needs.

Example::

    ChildSpec(id="emulator", start=functools.partial(emulator_child, daemon), shutdown=5.0)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import trio

from livesvc.config import Config
from livesvc.daemon._embedded import embedded_emulator_config
from livesvc.daemon._purge import purge_periodically
from livesvc.logs import get_logger
from supervisors import ChildContext

if TYPE_CHECKING:
    from livesvc.emulator import Emulator

__all__ = ["EmulatorHost", "emulator_child", "store_upkeep"]

log = get_logger(__name__)


class EmulatorHost(Protocol):
    """What the embedded emulator's child reads and sets on its owner."""

    @property
    def config(self) -> Config: ...

    @property
    def emulator_key(self) -> str: ...

    emulator: Emulator | None


async def emulator_child(
    host: EmulatorHost, ctx: ChildContext, *, task_status: trio.TaskStatus[None]
) -> None:
    """The embedded emulator (``[upstream] backend = "emulator"``), sessions under state_dir."""
    from livesvc.emulator import run_emulator  # the emulator loads only when embedded

    # A restarted emulator keeps its port, so upstream reconnects find it again.
    port = host.emulator.port if host.emulator is not None else host.config.upstream.emulator.port
    config = embedded_emulator_config(host.config, api_key=host.emulator_key, port=port)
    async with trio.open_nursery() as nursery:
        host.emulator = await nursery.start(run_emulator, config)
        log.info("daemon.emulator_embedded", url=host.emulator.url)
        task_status.started()
        await ctx.wait_stop_requested()
        nursery.cancel_scope.cancel()


async def store_upkeep(
    nursery: trio.Nursery,
    store: Any,
    *,
    config: Callable[[], Config],
    wall_clock: Callable[[], float],
    mark_orphans: bool = True,
) -> None:
    """Once per daemon (its only process, or the master): orphans marked, then the purge.

    ``mark_orphans=False`` in a fleet: a session is detached only by its own node
    (another node's may be serving).
    """
    if mark_orphans:
        orphans = await store.mark_orphans_detached(now=wall_clock())
        if orphans:
            log.info("store.sessions_restorable", sessions=orphans)
    nursery.start_soon(
        functools.partial(
            purge_periodically,
            store,
            keep_closed_seconds=lambda: config().store.keep_closed_sessions_seconds,
            wall_clock=wall_clock,
        )
    )
