"""Running an emulator inside a trio program, and the handle it gives back."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from livesvc._server import serve
from livesvc.emulator._catalogue import GEMINI
from livesvc.emulator._config import EmulatorConfig
from livesvc.emulator._core import EmulatorCore
from livesvc.emulator._endpoints import live_path
from livesvc.emulator._faults import Faults
from livesvc.emulator._registry import SessionInfo
from livesvc.emulator._tls import client_ssl_context, server_ssl_context
from livesvc.logs import get_logger

__all__ = ["Emulator", "open_emulator", "run_emulator"]

log = get_logger(__name__)


class Emulator:
    """A running emulator: where it listens, its sessions, and its faults.

    Attributes:
        config: the configuration it runs with.
        port: the bound port.
        url: the WebSocket base URL (``ws://127.0.0.1:PORT`` or ``wss://...``).
        http_base_url: the base URL to give the SDK (``http_options.base_url``).
        ca_file: the CA certificate clients must trust (None without TLS, or when
            the certificate files came without one).
        faults: run-time fault injection (see :class:`Faults`).
    """

    def __init__(self, core: EmulatorCore, port: int) -> None:
        self._core = core
        self.config = core.config
        self.port = port
        tls = core.config.tls
        host = core.config.host
        host = f"[{host}]" if ":" in host else host
        self.url = f"{'wss' if tls else 'ws'}://{host}:{port}"
        self.http_base_url = f"{'https' if tls else 'http'}://{host}:{port}"
        self.ca_file = tls.ca_file if tls else None
        self.faults: Faults = core.faults

    def live_url(
        self, backend: str = GEMINI, version: str | None = None, *, constrained: bool = False
    ) -> str:
        """The full WebSocket URL of a Live endpoint.

        >>> emu.live_url()                                   # doctest: +SKIP
        'ws://127.0.0.1:40123/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent'
        """
        return self.url + live_path(backend, version, constrained=constrained)

    def sessions(self) -> list[SessionInfo]:
        """Connected sessions, and disconnected ones that can still be resumed."""
        return self._core.registry.sessions()

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """An SSL context trusting :attr:`ca_file` (blocking: reads the file)."""
        return client_ssl_context(self.ca_file) if self.ca_file else None


async def run_emulator(
    config: EmulatorConfig | None = None,
    *,
    task_status: trio.TaskStatus[Emulator] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run an emulator until cancelled; reports its :class:`Emulator` once listening.

    Example::

        async with trio.open_nursery() as nursery:
            emu = await nursery.start(run_emulator, EmulatorConfig(reply_interval=0))
            ...  # connect to emu.live_url()
            nursery.cancel_scope.cancel()
    """
    config = config or EmulatorConfig()
    core = EmulatorCore(config)
    ssl_context = None
    if config.tls is not None:
        ssl_context = await trio.to_thread.run_sync(server_ssl_context, config.tls)
    core.install_startup_refusals()
    await core.open_state()
    try:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                lambda task_status: serve(
                    core.on_websocket,
                    core.on_rest,
                    host=config.host,
                    port=config.port,
                    ssl_context=ssl_context,
                    limits=config.limits,
                    server_name="livesvc-emulator",
                    task_status=task_status,
                )
            )
            emulator = Emulator(core, port)
            log.info("emulator.ready", url=emulator.url, models=len(config.catalogue))
            task_status.started(emulator)
    finally:
        if core.session_file is not None:
            await core.session_file.close()


@asynccontextmanager
async def open_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[Emulator]:
    """Run an emulator for the duration of an ``async with`` block.

    Example::

        async with open_emulator(EmulatorConfig(reply_interval=0)) as emu:
            async with trio_websocket.open_websocket_url(emu.live_url() + "?key=k") as ws:
                ...
    """
    async with trio.open_nursery() as nursery:
        emulator = await nursery.start(run_emulator, config)
        try:
            yield emulator
        finally:
            nursery.cancel_scope.cancel()
