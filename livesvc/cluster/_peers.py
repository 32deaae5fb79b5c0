"""Node to node: one node asks a session's owner to hand it over (docs/fleet.md).

:class:`FleetPeers` is the gateway's :class:`~livesvc.gateway.Peers` on a fleet
node. A session's owner reads ``"<node>.<incarnation>"``; the owner is alive
while that incarnation holds its node's lease. Then the claimant calls the
owner's cluster endpoint (:func:`serve_cluster`), signed with the cluster
secret; otherwise the owner is gone and the claimant takes the session from the
store (the lease expired, so the owner fenced itself first).

Example::

    peers = FleetPeers(leases, secret=secret)
    gateway = Gateway(..., instance=lease.info.owner, peers=peers)
    await nursery.start(functools.partial(serve_cluster, gateway.release_session,
                                          secret=secret, host="10.0.0.1", port=9000))
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec
import trio

from livesvc.admin._serve import serve_asgi
from livesvc.cluster._auth import sign, verify
from livesvc.cluster._lease import LeaseBackend
from livesvc.gateway._gateway import Handover
from livesvc.logs import get_logger

__all__ = ["RELEASE_PATH", "FleetPeers", "ReleaseHandler", "serve_cluster"]

log = get_logger(__name__)

RELEASE_PATH = "/cluster/v1/release"
# The owner may wait out a running turn before it answers (the gateway bounds the whole call).
_RELEASE_TIMEOUT = 30.0
_MAX_BODY = 4096

ReleaseHandler = Callable[[str, str], Awaitable[Handover]]


class ReleaseRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    session_id: str
    claimant: str


_handover_decoder = msgspec.json.Decoder(Handover)
_release_decoder = msgspec.json.Decoder(ReleaseRequest)


class FleetPeers:
    """:class:`~livesvc.gateway.Peers` across the fleet: the lease table says where owners are."""

    def __init__(
        self, leases: LeaseBackend, *, secret: str, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self._leases = leases
        self._secret = secret
        self._wall = wall_clock

    def __repr__(self) -> str:
        return "FleetPeers()"  # never the secret

    async def release(self, owner: str, session_id: str, claimant: str) -> Handover:
        node, dot, incarnation = owner.partition(".")
        holder = await self._leases.holder(node) if dot else None
        if holder is None or holder.incarnation != incarnation:
            # No lease, or a later incarnation's: the owner fenced itself or drained.
            log.info("cluster.owner_gone", owner=owner, session_id=session_id)
            return Handover(released=False, owner_gone=True)
        body = msgspec.json.encode(ReleaseRequest(session_id=session_id, claimant=claimant))
        headers = sign(self._secret, "POST", RELEASE_PATH, body, now=self._wall())
        headers["content-type"] = "application/json"
        async with httpx.AsyncClient(timeout=_RELEASE_TIMEOUT) as http:
            response = await http.post(
                f"http://{holder.address}{RELEASE_PATH}", content=body, headers=headers
            )
        response.raise_for_status()
        return _handover_decoder.decode(response.content)


class ClusterApp:
    """The ASGI app of a node's cluster endpoint: signed requests from other nodes only."""

    def __init__(
        self, release: ReleaseHandler, *, secret: str, wall_clock: Callable[[], float]
    ) -> None:
        self._release = release
        self._secret = secret
        self._wall = wall_clock

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]
                if kind == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif kind == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        status, payload = await self._handle(scope, receive)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _handle(self, scope: dict[str, Any], receive: Any) -> tuple[int, bytes]:
        if scope["path"] != RELEASE_PATH:
            return 404, b'{"error":"not found"}'
        if scope["method"] != "POST":
            return 405, b'{"error":"method not allowed"}'
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return 400, b'{"error":"client went away"}'
            body += message.get("body", b"")
            if len(body) > _MAX_BODY:
                return 413, b'{"error":"body too large"}'
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if not verify(self._secret, "POST", RELEASE_PATH, body, headers, now=self._wall()):
            log.warning("cluster.request_refused", path=RELEASE_PATH)
            return 403, b'{"error":"not signed with the cluster secret"}'
        try:
            request = _release_decoder.decode(body)
        except msgspec.DecodeError as err:
            return 400, json.dumps({"error": f"invalid release request: {err}"}).encode()
        handover = await self._release(request.session_id, request.claimant)
        return 200, msgspec.json.encode(handover)


async def serve_cluster(
    release: ReleaseHandler,
    *,
    secret: str,
    host: str,
    port: int,
    wall_clock: Callable[[], float] = time.time,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve this node's cluster endpoint until cancelled; reports ``host:port`` when listening."""
    app = ClusterApp(release, secret=secret, wall_clock=wall_clock)
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            functools.partial(serve_asgi, app, host=host, port=port, graceful_timeout=2.0)
        )
        log.info("cluster.listening", url=url)
        task_status.started(url)
