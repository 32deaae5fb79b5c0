"""What the admin API needs from the daemon: a Protocol, and the views it returns."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, Protocol

import msgspec

from livesvc.gateway import AuthTokenRequest, AuthTokenResponse

__all__ = ["DaemonControl", "Readiness", "SessionView"]


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """``/readyz``: ready when every named check passes."""

    ready: bool
    checks: dict[str, bool] = {}


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    """One session as the admin API shows it (handles and setups are never shown)."""

    session_id: str
    principal: str
    profile: str
    model: str
    status: str  # active (a client is attached), detached (grace period), closing, closed
    created_at: str  # RFC 3339
    updated_at: str
    duration_seconds: float
    client_connected: bool
    resumable: bool
    turns: int = 0
    upstream_resumes: int = 0
    upstream_reconnects: int = 0
    context_losses: int = 0  # times the upstream lost the conversation
    last_context_loss: str | None = None  # failed, reseeded or continued
    budget_exceeded: str | None = None  # the key's budget this session found spent (docs/usage.md)
    client_resumes: int = 0
    restarts: dict[str, int] = {}
    last_close_code: int | None = None
    last_close_reason: str | None = None
    worker: str | None = None  # the worker process serving it (several workers only)
    node: str | None = None  # fleet: the node that owns it (docs/fleet.md)


class DaemonControl(Protocol):
    """Implemented by the daemon; the admin API only ever calls these.

    ``mint_token`` raises :class:`livesvc.gateway.TokenRequestError` for a bad request.
    ``readiness`` and ``metrics_exposition`` may be coroutines (a master process asks
    its workers).
    """

    def readiness(self) -> Readiness | Awaitable[Readiness]: ...

    def metrics_exposition(self) -> tuple[bytes, str] | Awaitable[tuple[bytes, str]]: ...

    async def list_sessions(self, *, status: str | None = None) -> list[SessionView]: ...

    async def get_session(self, session_id: str) -> SessionView | None: ...

    async def usage_report(
        self, *, key: str | None, since: str, until: str, group_by: list[str]
    ) -> dict[str, Any]: ...

    async def close_session(self, session_id: str, *, reason: str) -> bool: ...

    async def mint_token(self, request: AuthTokenRequest) -> AuthTokenResponse: ...
