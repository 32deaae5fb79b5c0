"""A node's lease: the proof, held in Redis, that a fleet node is alive and may serve.

A node serves sessions only while it holds ``node:{name}``. It renews the key
well before its TTL runs out; if it cannot (Redis unreachable, the key taken
over, the process paused), it **fences itself**: it stops its sessions before
the lease can expire, so no other node can claim a session while this one still
serves it. The order of events that makes this safe::

    last renewal sent at t0 (and acknowledged) -> Redis expires the key at t0 + ttl
    this node gives up at t0 + ttl - margin    -> stops its sessions, then exits
    another node may claim only after the key is gone (>= t0 + ttl)

``t0`` is taken *before* the renewal is sent, so a slow reply only makes the
node give up earlier. A paused process (SIGSTOP) that wakes after its lease
expired finds the key gone or someone else's on its next renewal and fences
itself without serving another frame (the gateway checks :meth:`NodeLease.valid`).

Example::

    lease = NodeLease(RedisLeases(client, prefix="livesvc:"), "node-a", "10.0.0.1:8080",
                      LeaseSettings(ttl_seconds=10, margin_seconds=3))
    await nursery.start(lease.run, on_fenced)
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec
import trio

from livesvc.logs import get_logger

__all__ = ["LeaseBackend", "LeaseLost", "LeaseSettings", "LeaseTaken", "NodeInfo", "NodeLease"]

log = get_logger(__name__)


class LeaseTaken(Exception):
    """Another live node holds this node's name: two nodes must not share one."""


class LeaseLost(Exception):
    """The node could not keep its lease and has fenced itself."""


class NodeInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a lease key holds: who the holder is and where other nodes reach it."""

    node: str
    address: str
    token: str  # random per incarnation: a restarted node never renews its predecessor's lease
    # Public name of this incarnation: session owners read "<node>.<incarnation>".
    incarnation: str = ""

    @property
    def owner(self) -> str:
        """The owner name this incarnation writes into the session records it holds."""
        return f"{self.node}.{self.incarnation}"


class LeaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How long a lease lives and how early a node gives it up.

    ``margin_seconds`` is the time the node has to stop its sessions after it
    gives up and before another node may claim them.
    """

    ttl_seconds: float = 10.0
    renew_every_seconds: float = 2.0
    margin_seconds: float = 3.0
    call_timeout_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.margin_seconds < self.ttl_seconds:
            raise ValueError("margin_seconds must be between 0 and ttl_seconds")
        if self.renew_every_seconds >= self.ttl_seconds - self.margin_seconds:
            raise ValueError(
                "renew_every_seconds must be shorter than ttl_seconds - margin_seconds"
            )


class LeaseBackend(Protocol):
    """Atomic lease operations (Redis in production)."""

    async def acquire(self, info: NodeInfo, ttl: float) -> bool:
        """Take the key if nobody holds it; False when another holder does."""

    async def renew(self, info: NodeInfo, ttl: float) -> bool:
        """Extend the key only if ``info.token`` still holds it."""

    async def release(self, info: NodeInfo) -> None:
        """Delete the key only if ``info.token`` holds it."""

    async def nodes(self) -> list[NodeInfo]:
        """Every node that holds a lease now."""

    async def holder(self, node: str) -> NodeInfo | None:
        """Who holds ``node``'s lease now (``None``: nobody; its sessions may be claimed)."""


class NodeLease:
    """The lease actor: acquires, renews, fences.

    ``on_fenced`` runs once when the node gives its lease up; it must stop the
    node's sessions (close clients, end upstreams) and is given ``margin_seconds``
    to do it. Then :meth:`run` raises :class:`LeaseLost`, and the service stops.
    """

    def __init__(
        self, backend: LeaseBackend, node: str, address: str, settings: LeaseSettings
    ) -> None:
        self.info = NodeInfo(
            node=node,
            address=address,
            token=secrets.token_hex(16),
            incarnation=secrets.token_hex(6),
        )
        self._backend = backend
        self._settings = settings
        self._valid_until = -float("inf")  # trio clock
        self._released = False

    def valid(self) -> bool:
        """Whether the node may still serve (its lease is held, with the margin to spare)."""
        return not self._released and trio.current_time() < self._valid_until

    async def run(
        self,
        on_fenced: Callable[[], Awaitable[None]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        s = self._settings
        sent = trio.current_time()
        if not await self._attempt(self._backend.acquire):
            raise LeaseTaken(f"another live node holds the name {self.info.node!r}")
        self._valid_until = sent + s.ttl_seconds - s.margin_seconds
        log.info("lease.acquired", node=self.info.node, ttl=s.ttl_seconds)
        task_status.started()
        while not self._released:
            await trio.sleep_until(min(sent + s.renew_every_seconds, self._valid_until))
            if self._released:
                return
            if trio.current_time() >= self._valid_until:
                break
            sent = trio.current_time()
            if await self._attempt(self._backend.renew):
                self._valid_until = sent + s.ttl_seconds - s.margin_seconds
            else:
                log.warning("lease.renew_failed", node=self.info.node)
        self._valid_until = -float("inf")
        log.error("lease.fenced", node=self.info.node)
        with trio.move_on_after(s.margin_seconds, shield=True):
            await on_fenced()
        raise LeaseLost(f"node {self.info.node!r} lost its lease and stopped its sessions")

    async def release(self) -> None:
        """Give the lease up on a clean stop (after the node's sessions are released)."""
        self._released = True
        self._valid_until = -float("inf")
        with trio.move_on_after(self._settings.call_timeout_seconds, shield=True):
            await self._backend.release(self.info)
            log.info("lease.released", node=self.info.node)

    async def _attempt(self, operation: Callable[[NodeInfo, float], Awaitable[bool]]) -> bool:
        """One call with its timeout: a timeout or a connection error counts as a failure."""
        with trio.move_on_after(self._settings.call_timeout_seconds):
            try:
                return await operation(self.info, self._settings.ttl_seconds)
            except OSError:
                return False
        return False
