"""The pinger: detects a dead connection in bounded time.

A stalled server or a black-holed socket never closes: without a probe, a
session waits forever for a reply that cannot come. Every ``interval`` seconds
the pinger sends a WebSocket ping; if no pong arrives within ``timeout`` and no
frame at all arrived meanwhile, it tells the connection to drop the link, and
the reconnector resumes. Google's pongs have been measured at 8 to 30 s, so the
default timeout is generous, and any incoming frame counts as proof of life:
a connection busy streaming audio is never declared dead for a slow pong.

Detection takes at most ``interval + timeout`` seconds.
"""

from __future__ import annotations

import itertools
import struct

import trio
import trio_websocket

from livesvc.logs import get_logger
from livesvc.session._core import SessionCore
from livesvc.session._envelopes import DropLink, Link, LinkDown, LinkEvent, LinkUp
from supervisors import ChildContext, MailboxFull

__all__ = ["PingerActor"]

log = get_logger(__name__)


class PingerActor:
    """See the module docstring."""

    def __init__(self, core: SessionCore) -> None:
        self._core = core
        self._payloads = itertools.count(core.rng.getrandbits(32))

    async def run(
        self, ctx: ChildContext, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with self._core.pinger_events.receiver() as events:
            task_status.started()
            with ctx.cancel_on_stop():
                await self._loop(events)

    async def _loop(self, events: trio.MemoryReceiveChannel[LinkEvent]) -> None:
        scope: trio.CancelScope | None = None
        generation: int | None = None
        async with trio.open_nursery() as nursery:
            current = self._core.link
            if current is not None:  # restarted while a connection is up: watch it
                scope, generation = trio.CancelScope(), current.generation
                nursery.start_soon(self._watch, current, scope)
            async for event in events:
                if isinstance(event, LinkUp):
                    if event.generation == generation:
                        continue  # already watched (seen at start)
                    if scope is not None:
                        scope.cancel()
                    scope, generation = trio.CancelScope(), event.generation
                    nursery.start_soon(self._watch, event.link, scope)
                elif (
                    isinstance(event, LinkDown)
                    and event.generation == generation
                    and scope is not None
                ):
                    scope.cancel()
                    scope = generation = None

    async def _watch(self, link: Link, scope: trio.CancelScope) -> None:
        policy = self._core.prepared.config.keepalive
        with scope:
            while True:
                await trio.sleep(policy.interval)
                sent_at = trio.current_time()
                payload = struct.pack("!Q", next(self._payloads) % 2**64)
                try:
                    with trio.move_on_after(policy.timeout) as wait:
                        await link.ws.ping(payload)
                except trio_websocket.ConnectionClosed:
                    return  # the connection reports how it ended
                if not wait.cancelled_caught:
                    continue
                if link.last_received > sent_at:
                    log.debug(
                        "pinger.pong_late", generation=link.generation, timeout=policy.timeout
                    )
                    continue
                log.warning(
                    "pinger.dead_link",
                    generation=link.generation,
                    silent_for=round(trio.current_time() - link.last_received, 3),
                    timeout=policy.timeout,
                )
                try:
                    self._core.control.send_nowait(
                        DropLink(generation=link.generation, reason="keepalive timeout")
                    )
                except MailboxFull:
                    log.error("pinger.drop_link_refused", generation=link.generation)
                return
