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
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import trio

from livesvc.admin import DaemonControl, serve_admin
from livesvc.config import Config
from livesvc.logs import get_logger
from supervisors import ChildContext

if TYPE_CHECKING:
    from livesvc.emulator import Emulator, EmulatorConfig

__all__ = [
    "PURGE_INTERVAL",
    "AdminHost",
    "EmulatorHost",
    "admin_child",
    "embedded_emulator_config",
    "emulator_child",
    "purge_periodically",
    "store_upkeep",
]

PURGE_INTERVAL = 3600.0

log = get_logger(__name__)


def embedded_emulator_config(config: Config, *, api_key: str, port: int) -> EmulatorConfig:
    """The emulator ``[upstream] backend = "emulator"`` runs, keeping sessions under state_dir.

    Its sessions live in ``state_dir`` (``emulator-sessions.db``), so restarting
    the daemon, even with kill -9, keeps every conversation a client can resume.
    """
    from livesvc.emulator import EmulatorConfig  # the emulator loads only when embedded

    settings = config.upstream.emulator
    lifetime = settings.session_lifetime_seconds or None  # 0: connections never age
    return EmulatorConfig(
        host=settings.host,
        port=port,
        api_keys=(api_key,),
        reply_interval=settings.reply_interval_seconds,
        session_lifetime=lifetime,
        go_away_notice=min(settings.go_away_notice_seconds, lifetime or math.inf),
        state_dir=str(config.service.state_dir),
    )


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


async def purge_periodically(
    store: Any,
    *,
    keep_closed_seconds: Callable[[], float],
    wall_clock: Callable[[], float],
    every: float = PURGE_INTERVAL,
) -> None:
    """Purge expired tokens and closed sessions past their keep time, every ``every`` seconds.

    The keep time is read each time (SIGHUP). Only one process of a daemon
    purges: the workers leave it to their master.
    """
    while True:
        await trio.sleep(every)
        tokens, sessions = await store.purge(
            now=wall_clock(), keep_closed_seconds=keep_closed_seconds()
        )
        if tokens or sessions:
            log.info("store.purged", tokens=tokens, sessions=sessions)


class AdminHost(DaemonControl, Protocol):
    """What the public admin API's child needs: the control surface, its config, its token."""

    @property
    def config(self) -> Config: ...

    admin_url: str | None

    def admin_token_hash(self) -> str | None:
        """The admin token's hash now (it changes on SIGHUP)."""
        ...


async def admin_child(
    host: AdminHost, ctx: ChildContext, *, task_status: trio.TaskStatus[None]
) -> None:
    """The admin API on ``[admin]``'s address; its URL is set on ``host`` before it is ready."""
    admin = host.config.admin
    async with trio.open_nursery() as nursery:
        host.admin_url = await nursery.start(
            functools.partial(
                serve_admin,
                host,
                host=admin.host,
                port=admin.port,
                token_hash=host.admin_token_hash,
            )
        )
        task_status.started()
        await ctx.wait_stop_requested()
        nursery.cancel_scope.cancel()
