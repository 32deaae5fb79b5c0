"""How a session's events reach its owner: one queue, or one sink, never both.

* queued (the default): events wait in a bounded channel (``queue``) for the
  callback dispatcher or ``Session.events()``; emitting never stalls the socket
  unless the owner stops reading for ``event_buffer`` events;
* a sink (``open_session(event_sink=...)``, a relay): each event is awaited by
  the task that produced it, in order; events that arrive while another task is
  inside the sink wait in a backlog, so each reaches it once.

Example::

    delivery = EventDelivery(capacity=1024)
    await delivery.emit(event)                  # queued
    async for event in delivery.queue: ...      # the owner reads
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import trio

from livesvc.logs import get_logger
from livesvc.session._events import SessionEvent

__all__ = ["EventDelivery", "EventSink"]

EventSink = Callable[[SessionEvent], Awaitable[None]]

log = get_logger(__name__)


class EventDelivery:
    """See the module docstring. ``capacity``: events queued before ``emit`` waits."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._queue_in, self.queue = trio.open_memory_channel[SessionEvent](capacity)
        self._backlog_warned = False
        # Direct delivery (event sink): events wait here only while another task
        # is inside the sink, so they reach it once each and in order.
        self._sink: EventSink | None = None
        self._spawn: Callable[[Callable[[], Awaitable[None]]], bool] | None = None
        self._sink_backlog: deque[SessionEvent] = deque()
        self._sink_busy = False
        self._sink_done = trio.Event()  # set (and replaced) whenever a delivery run ends
        self.sink_failures = 0

    def use_sink(
        self, sink: EventSink, spawn: Callable[[Callable[[], Awaitable[None]]], bool]
    ) -> None:
        """Deliver events to ``sink`` directly.

        ``spawn`` starts a delivery task for synchronous emitters; it returns
        ``False`` when it cannot (the session is ending: its close delivers).
        """
        self._sink = sink
        self._spawn = spawn
        self._queue_in.close()  # nobody queues, nobody dispatches

    async def emit(self, event: SessionEvent) -> None:
        """Queue ``event`` for callbacks and iterators, without stalling the caller.

        With an event sink, hand it to the sink now (after any events still
        waiting for it); the caller waits for the sink.
        """
        if self._sink is not None:
            self._sink_backlog.append(event)
            if not self._sink_busy:
                self._sink_busy = True
                await self._flush_sink()
            return
        try:
            self._queue_in.send_nowait(event)
            return
        except trio.WouldBlock:
            pass
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return  # the session is over; nobody is listening
        if not self._backlog_warned:
            self._backlog_warned = True
            log.warning("session.event_backlog", capacity=self._capacity)
        try:
            await self._queue_in.send(
                event
            )  # lossless: backpressure only when the owner never reads
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            return

    def emit_nowait(self, event: SessionEvent) -> None:
        """Queue ``event`` from synchronous code; dropped (and logged) only if the queue is full.

        With an event sink, the event waits for the task inside the sink, or a
        task is started to deliver it.
        """
        if self._sink is not None:
            self._sink_backlog.append(event)
            if not self._sink_busy and self._spawn is not None:
                # Claimed now, so no second delivery run starts before this one runs.
                self._sink_busy = self._spawn(self._flush_sink)
            return
        try:
            self._queue_in.send_nowait(event)
        except trio.WouldBlock:
            log.warning("session.event_dropped", kind=type(event).__name__)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def _flush_sink(self) -> None:
        assert self._sink is not None
        backlog = self._sink_backlog
        try:
            while backlog:
                event = backlog.popleft()
                try:
                    await self._sink(event)
                except Exception as exc:  # the owner's bug must not take the socket down
                    self.sink_failures += 1
                    log.warning(
                        "session.sink_failed", kind=type(event).__name__, error=type(exc).__name__
                    )
                except BaseException:
                    # Cancelled inside the sink: the next emitter (or the close) delivers it again.
                    backlog.appendleft(event)
                    raise
        finally:
            self._sink_busy = False
            self._sink_done.set()
            self._sink_done = trio.Event()

    async def wait_idle(self) -> None:
        """Deliver what still waits for the sink, and wait until it is delivered.

        No-op without a sink. Events left behind by a cancelled delivery are
        delivered here (the session's close calls it, shielded).
        """
        while self._sink is not None and (self._sink_busy or self._sink_backlog):
            if self._sink_busy:
                await self._sink_done.wait()
            else:
                self._sink_busy = True
                await self._flush_sink()

    def close(self) -> None:
        """No more events: iterators end once they drain the queue."""
        self._queue_in.close()
