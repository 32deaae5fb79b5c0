"""What every connection of one emulator shares: config, models, sessions, tokens, faults."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import trio

from livesvc._server import HttpRequest, HttpResponse, Router, WebSocketUpgrade
from livesvc.emulator._auth import ApiKeys
from livesvc.emulator._catalogue import Catalogue
from livesvc.emulator._config import EmulatorConfig
from livesvc.emulator._control import add_control_routes
from livesvc.emulator._endpoints import route_live_path
from livesvc.emulator._faults import Faults, Refusal, default_reason
from livesvc.emulator._live import LiveConnection
from livesvc.emulator._persist import SessionFile
from livesvc.emulator._registry import SessionRegistry
from livesvc.emulator._rest import add_rest_routes
from livesvc.emulator._tokens import TokenStore
from livesvc.logs import get_logger

__all__ = ["EmulatorCore"]

log = get_logger(__name__)


class EmulatorCore:
    """The emulator's shared state and its two front-door handlers."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.catalogue = Catalogue(config.catalogue)
        self.api_keys = ApiKeys(config.api_keys)
        self.registry = SessionRegistry(config.handle_lifetime)
        self.session_file: SessionFile | None = None  # with a state_dir: see open_state
        self.tokens = TokenStore(config.wall_clock)
        self.faults = Faults(self.registry.connections)
        self.router = Router()
        add_rest_routes(self.router, self)
        if config.control_api:
            add_control_routes(self.router, self)

    async def open_state(self) -> None:
        """With a ``state_dir``: open the session file and restore what it holds."""
        if self.config.state_dir is None:
            return
        try:
            self.session_file = await SessionFile.open(Path(self.config.state_dir))
            rows = await self.session_file.load(now=self.config.wall_clock())
        except (OSError, sqlite3.Error) as exc:
            # Not even a fresh file can be made (a folder that cannot be created,
            # say): serve from memory, as without a state_dir, rather than not at all.
            log.error("emulator.state_unavailable", state_dir=self.config.state_dir, error=str(exc))
            if self.session_file is not None:
                await self.session_file.close()
            self.session_file = None
            return
        restored = self.registry.restore(
            rows, self.catalogue.named, wall_now=self.config.wall_clock()
        )
        log.info(
            "emulator.sessions_restored",
            path=str(self.session_file.path),
            sessions=restored,
            handles=len(rows),
        )

    async def commit_handle(self, handle: str) -> None:
        """Make ``handle`` durable before a client sees it (no-op without a state_dir)."""
        if self.session_file is not None:
            now = self.config.wall_clock()
            try:
                await self.session_file.save(self.registry.row(handle, wall_now=now), now=now)
            except sqlite3.Error as exc:
                # A full disk, say: the session goes on; only a restart would forget it.
                log.error("emulator.state_write_failed", error=str(exc))

    def install_startup_refusals(self) -> None:
        """Turn ``refuse`` start-up rules into refusals counted from now."""
        now = trio.current_time()
        for rule in self.config.faults:
            if rule.kind != "refuse":
                continue
            code = rule.code if rule.code is not None else 1011
            self.faults.add_refusal(
                Refusal(
                    code=code,
                    reason=rule.reason if rule.reason is not None else default_reason(code),
                    until=math.inf if rule.seconds is None else now + rule.seconds,
                    remaining=rule.count,
                )
            )

    async def on_websocket(self, upgrade: WebSocketUpgrade) -> None:
        """Serve a Live WebSocket (or refuse its handshake)."""
        endpoint = route_live_path(upgrade.path)
        if endpoint is None:
            await upgrade.reject(404, f"The requested URL {upgrade.path} was not found.")
            return
        refusal = self.faults.take_refusal(session_id=None, handshake=True)
        if refusal is not None:
            await upgrade.reject(refusal.code, refusal.reason)
            return
        await LiveConnection(self, upgrade, endpoint).run()

    async def on_rest(self, request: HttpRequest) -> HttpResponse:
        """Answer a REST request."""
        return await self.router.dispatch(request)
