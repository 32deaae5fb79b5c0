"""One worker process of ``livesvc serve`` with ``[service] workers = N``, and its links to the master.

The master starts each worker as ``livesvc serve --config FILE --worker I``
and writes its :class:`WorkerRole` as one JSON line on the worker's stdin
(never in argv or the environment, where ``ps`` would show the internal
token). The worker runs the usual :class:`~livesvc.daemon.Daemon` with a few
differences: its gateway binds the shared port with ``SO_REUSEPORT``, its
upstream is the master's emulator (when embedded), its admin API is a private
loopback endpoint guarded by the internal token (the master fans out to it),
and it reaches other workers through the master (:class:`MasterPeers`). Once
ready it answers with one JSON line on stdout; when its stdin closes (the
master is gone) it drains and exits.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol, TextIO

import httpx
import msgspec
import trio

from livesvc.admin import Readiness, SessionView
from livesvc.gateway import AuthTokenRequest, AuthTokenResponse
from livesvc.gateway._gateway import Handover
from livesvc.logs import get_logger


class WorkerHost(Protocol):
    """What a worker's plumbing needs of its daemon (not the whole Daemon)."""

    @property
    def worker(self) -> WorkerRole | None: ...

    @property
    def admin_url(self) -> str | None: ...

    @property
    def gateway_url(self) -> str | None: ...

    @property
    def direct_gateway_url(self) -> str | None: ...

    def request_shutdown(self) -> None: ...

    def readiness(self) -> Readiness: ...

    def metrics_exposition(self) -> tuple[bytes, str]: ...

    async def live_views(self) -> list[SessionView]: ...

    async def close_live_session(self, session_id: str, *, reason: str) -> bool: ...

    async def mint_token(self, request: AuthTokenRequest) -> AuthTokenResponse: ...

    async def usage_report(
        self, *, key: str | None, since: str, until: str, group_by: list[str]
    ) -> dict[str, Any]: ...


__all__ = [
    "LiveOnly",
    "MasterPeers",
    "RemoteEmulator",
    "WorkerReady",
    "WorkerRole",
    "announce",
    "read_role",
    "watch_master",
]

log = get_logger(__name__)

# Seconds a worker waits for the master to route a release (the owner may wait out a turn).
_RELEASE_TIMEOUT = 30.0


class WorkerRole(msgspec.Struct, frozen=True, kw_only=True):
    """What the master tells a worker: who it is, where things are, and the internal token.

    Attributes:
        index: the worker's number (0..N-1), the ``worker`` label in merged metrics.
        instance: this incarnation's name as a session owner (``"<index>.<random>"``).
        token: guards the private endpoints (the worker's admin API, the master's).
        master_url: the master's private endpoint (session releases are routed there).
        gateway_port: the shared gateway port (bound with ``SO_REUSEPORT``).
        emulator_url: the master's embedded emulator (``http://...``), if any.
        emulator_key: its private API key.
    """

    index: int
    instance: str
    token: str
    master_url: str
    gateway_port: int
    emulator_url: str | None = None
    emulator_key: str | None = None

    def __repr__(self) -> str:
        return f"WorkerRole(index={self.index}, instance={self.instance!r})"  # never the secrets


class WorkerReady(msgspec.Struct, frozen=True, kw_only=True):
    """What a ready worker tells the master (one JSON line on stdout)."""

    instance: str
    admin_url: str
    gateway_url: str
    direct_url: str = ""  # this worker alone, on a loopback port of its own


_role_decoder = msgspec.json.Decoder(WorkerRole)
_ready_encoder = msgspec.json.Encoder()
_handover_decoder = msgspec.json.Decoder(Handover)


def read_role(stream: TextIO) -> WorkerRole:
    """Blocking: the role line the master wrote on stdin."""
    line = stream.readline()
    if not line:
        raise ValueError("no worker role on stdin (a worker is started by its master)")
    return _role_decoder.decode(line)


def announce(daemon: WorkerHost, stream: TextIO | None = None) -> None:
    """Tell the master this worker is ready, and where its private admin API is."""
    role = daemon.worker
    assert role is not None
    ready = WorkerReady(
        instance=role.instance,
        admin_url=daemon.admin_url or "",
        gateway_url=daemon.gateway_url or "",
        direct_url=daemon.direct_gateway_url or "",
    )
    out = stream or sys.stdout
    out.write(_ready_encoder.encode(ready).decode() + "\n")
    out.flush()


async def watch_master(daemon: WorkerHost) -> None:
    """Drain and stop when stdin closes: the master is gone (even after a ``kill -9``)."""
    stream = trio.lowlevel.FdStream(os.dup(0))
    try:
        while await stream.receive_some(4096):
            pass
    finally:
        with trio.move_on_after(1, shield=True):
            await stream.aclose()
    log.warning("worker.master_gone")
    daemon.request_shutdown()


class RemoteEmulator:
    """The master's embedded emulator, as the daemon's upstream factory sees it."""

    def __init__(self, http_base_url: str) -> None:
        self.http_base_url = http_base_url
        self.url = http_base_url.replace("http://", "ws://").replace("https://", "wss://")


class MasterPeers:
    """:class:`~livesvc.gateway.Peers` through the master, which knows where each owner runs."""

    def __init__(self, role: WorkerRole) -> None:
        self._url = role.master_url
        self._headers = {"authorization": f"Bearer {role.token}"}

    async def release(self, owner: str, session_id: str, claimant: str) -> Handover:
        body = {"owner": owner, "session_id": session_id, "claimant": claimant}
        async with httpx.AsyncClient(timeout=_RELEASE_TIMEOUT) as http:
            response = await http.post(
                f"{self._url}/internal/release", json=body, headers=self._headers
            )
        response.raise_for_status()
        return _handover_decoder.decode(response.content)


class LiveOnly:
    """A worker's private admin view: only the sessions this process runs.

    The master merges these with the sessions known only from the shared store,
    so none is listed twice.
    """

    def __init__(self, daemon: WorkerHost) -> None:
        self._daemon = daemon

    def readiness(self) -> Readiness:
        return self._daemon.readiness()

    def metrics_exposition(self) -> tuple[bytes, str]:
        return self._daemon.metrics_exposition()

    async def list_sessions(self, *, status: str | None = None) -> list[SessionView]:
        views = await self._daemon.live_views()
        return [v for v in views if status is None or v.status == status]

    async def get_session(self, session_id: str) -> SessionView | None:
        return next(
            (v for v in await self._daemon.live_views() if v.session_id == session_id), None
        )

    async def close_session(self, session_id: str, *, reason: str) -> bool:
        return await self._daemon.close_live_session(session_id, reason=reason)

    async def mint_token(self, request: AuthTokenRequest) -> AuthTokenResponse:
        return await self._daemon.mint_token(request)

    async def usage_report(
        self, *, key: str | None, since: str, until: str, group_by: list[str]
    ) -> dict[str, Any]:
        return await self._daemon.usage_report(key=key, since=since, until=until, group_by=group_by)
