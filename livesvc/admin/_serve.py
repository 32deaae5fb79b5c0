"""Run the admin app on hypercorn's trio worker, loopback by default."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, cast

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from livesvc.admin._app import AdminApp, ReleaseHandler
from livesvc.admin._control import DaemonControl
from livesvc.logs import get_logger

__all__ = ["serve_admin", "serve_asgi"]

log = get_logger(__name__)


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def serve_admin(
    control: DaemonControl,
    *,
    host: str = "127.0.0.1",
    port: int = 8081,
    token_hash: str | Callable[[], str | None] | None,
    shutdown_timeout: float = 5.0,
    release: ReleaseHandler | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the admin API until cancelled; reports its base URL (``http://host:port``) when listening.

    ``release`` adds the worker-to-worker session handover route (private endpoints only).

    Example::

        url = await nursery.start(functools.partial(serve_admin, daemon, token_hash=h, port=0))
    """
    app = AdminApp(control, token_hash=token_hash, release=release)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            functools.partial(
                serve_asgi,
                app,
                host=host,
                port=port,
                graceful_timeout=shutdown_timeout,
                keep_alive_timeout=30.0,
            )
        )
        if host not in ("127.0.0.1", "::1", "localhost"):
            log.warning("admin.exposed", url=url, hint="the admin API listens beyond loopback")
        log.info("admin.listening", url=url)
        task_status.started(url)


async def serve_asgi(
    app: Any,
    *,
    host: str,
    port: int,
    graceful_timeout: float,
    keep_alive_timeout: float = 5.0,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve an ASGI ``app`` on hypercorn's trio worker until cancelled; reports its URL.

    The daemon's small HTTP APIs (admin, the fleet's cluster endpoint) share it:
    no access log, hypercorn's errors through logging, request heads of 16 KiB.
    """
    config = HypercornConfig()
    config.bind = [_bind(host, port)]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = graceful_timeout
    config.keep_alive_timeout = keep_alive_timeout
    config.h11_max_incomplete_size = 16 * 1024

    async def started(
        *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        # hypercorn types its ASGI scopes as TypedDicts; the apps take plain mappings.
        await serve(cast(Any, app), config, mode="asgi", task_status=task_status)

    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(started)
        task_status.started(binds[0])
