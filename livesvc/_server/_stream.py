"""The byte stream under one WebSocket: replay, latency, stall and abort.

The front door reads the HTTP request head itself, so the WebSocket library gets a
stream that first replays those bytes. The same wrapper is the handle for network
faults, which must act below the WebSocket layer:

* :meth:`ConnectionStream.set_delay` adds latency to every outgoing chunk (frames
  stay pipelined and ordered, so a pong is late by the delay, not by the backlog);
* :meth:`ConnectionStream.hold` stops reading and writing: the WebSocket library no
  longer sees pings, so it no longer answers them (a stalled peer);
* :meth:`ConnectionStream.abort` closes the transport at once, without a close frame.

It also keeps two promises of RFC 6455 that the WebSocket library leaves to it:

* a peer that breaks the protocol (invalid UTF-8, a reserved opcode or bit, an
  unmasked frame) gets a close frame with 1002 or 1007 before the connection
  ends: trio-websocket records the close but does not write it;
* until :meth:`lift_read_limit`, at most ``read_limit`` bytes are read from the
  peer (a client that has not sent an accepted setup holds almost nothing);
  past it the peer gets 1009 and the connection ends.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import trio

__all__ = ["ConnectionStream"]

# Outgoing chunks queued while a delay is in force (each is one WebSocket frame).
_SEND_QUEUE = 256
# How long aclose() waits for delayed chunks to reach the wire, beyond the delay.
_DRAIN_GRACE = 2.0
# Closes the WebSocket library decides on reading but does not send (a parse failure).
_UNSENT_CLOSES = frozenset({1002, 1007, 1009})
_CLOSE_OPCODE = 0x8
_TOO_MUCH_BEFORE_SETUP = "Too much data before the setup was accepted."
_LINGER = 2.0  # seconds spent discarding a refused peer's bytes before the close
_LINGER_CHUNK = 64 * 1024


def close_frame(code: int, reason: str) -> bytes:
    """A server's (unmasked) close frame; the reason is cut to fit a control frame.

    >>> close_frame(1002, "bad")
    b'\\x88\\x05\\x03\\xeabad'
    """
    payload = struct.pack("!H", code) + reason.encode("utf-8")[:123]
    return bytes([0x80 | _CLOSE_OPCODE, len(payload)]) + payload


class ConnectionStream(trio.abc.Stream):
    """A stream that replays ``prefix`` first and can be delayed, held or aborted.

    Create it with :meth:`open`, which starts its writer task in ``nursery``.

    Example::

        stream = ConnectionStream.open(nursery, tcp_stream, prefix=head_bytes)
        stream.set_delay(0.5)      # every outgoing frame arrives 0.5 s later
        stream.hold()              # stop reading and writing (pings go unanswered)
        await stream.abort()       # drop the connection without a close frame
    """

    def __init__(
        self, transport: trio.abc.Stream, prefix: bytes = b"", *, read_limit: int | None = None
    ) -> None:
        self.transport = transport
        self._prefix = bytearray(prefix)
        self.read_limit = read_limit  # bytes the peer may send until lift_read_limit()
        self.bytes_read = 0
        self.read_limit_exceeded = False
        self.websocket: Any = None  # the WebSocket on top, once accepted (for its close code)
        self._close_frame_sent = False
        self._receiving = False  # a task is inside transport.receive_some
        self._delay = 0.0
        self._pending = 0  # chunks handed to the writer task and not yet written
        self._queue_in, self._queue_out = trio.open_memory_channel[tuple[float, bytes]](_SEND_QUEUE)
        self._drained = trio.Event()
        self._drained.set()
        self._released: trio.Event | None = None  # not None while held
        self._write_error: BaseException | None = None
        self._closed = False
        self.aborted = False
        self._nursery: trio.Nursery | None = None
        self._writer_started = False

    @classmethod
    def open(
        cls,
        nursery: trio.Nursery,
        transport: trio.abc.Stream,
        prefix: bytes = b"",
        *,
        read_limit: int | None = None,
    ) -> ConnectionStream:
        """Wrap ``transport``; the delayed-writer task starts in ``nursery`` on the first delay.

        Only a fault (a delay) needs the writer: without one, chunks go straight
        to the transport, and an idle connection costs no task for it.
        """
        stream = cls(transport, prefix, read_limit=read_limit)
        stream._nursery = nursery
        return stream

    # -- fault controls -------------------------------------------------------

    @property
    def delay(self) -> float:
        """Latency added to each outgoing chunk, in seconds."""
        return self._delay

    def set_delay(self, seconds: float) -> None:
        """Delay every chunk written from now on by ``seconds`` (0 restores)."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("delay must be a finite number >= 0")
        if seconds > 0 and not self._writer_started and self._nursery is not None:
            self._writer_started = True
            self._nursery.start_soon(self._run_writer)
        self._delay = seconds

    @property
    def held(self) -> bool:
        """Whether reading and writing are stopped."""
        return self._released is not None

    def hold(self) -> None:
        """Stop reading and writing until :meth:`release` (or :meth:`abort`)."""
        if self._released is None:
            self._released = trio.Event()

    def release(self) -> None:
        """Resume reading and writing after :meth:`hold`."""
        if self._released is not None:
            self._released.set()
            self._released = None

    def lift_read_limit(self) -> None:
        """The peer is trusted now (its setup was accepted): read without the bound."""
        self.read_limit = None

    async def abort(self) -> None:
        """Close the transport now: the peer sees the connection end, no close frame."""
        self.aborted = True
        self._closed = True
        self.release()
        self._queue_in.close()
        await trio.aclose_forcefully(self.transport)

    # -- trio.abc.Stream ------------------------------------------------------

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        await self._wait_released()
        if self._prefix:
            size = len(self._prefix) if max_bytes is None else min(max_bytes, len(self._prefix))
            chunk = bytes(self._prefix[:size])
            del self._prefix[:size]
            await trio.lowlevel.checkpoint()
            return chunk
        if self.aborted:
            raise trio.ClosedResourceError("connection aborted")
        if self.read_limit is not None:
            room = self.read_limit - self.bytes_read
            if room <= 0:
                await self._refuse_more()
            max_bytes = room if max_bytes is None else min(max_bytes, room)
        self._receiving = True
        try:
            data = bytes(await self.transport.receive_some(max_bytes))
        finally:
            self._receiving = False
        self.bytes_read += len(data)
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if len(data) and data[0] == 0x80 | _CLOSE_OPCODE:
            self._close_frame_sent = True  # the library writes each frame in one call
        if self._write_error is not None:
            raise trio.BrokenResourceError("earlier write failed") from self._write_error
        if self._closed:
            raise trio.ClosedResourceError("connection closed")
        if self._delay <= 0 and self._pending == 0:
            await self._wait_released()
            await self.transport.send_all(data)
            return
        self._pending += 1
        self._drained = trio.Event() if self._drained.is_set() else self._drained
        try:
            await self._queue_in.send((trio.current_time() + self._delay, bytes(data)))
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            self._pending -= 1
            raise trio.ClosedResourceError("connection closed") from None

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        if not self._closed:
            await self._send_unsent_close()
            self._closed = True
            if not self.held:
                with trio.move_on_after(self._delay + _DRAIN_GRACE):
                    await self._drained.wait()
            self._queue_in.close()
        await self.transport.aclose()

    # -- internals ------------------------------------------------------------

    async def _refuse_more(self) -> None:
        # The peer sent more than it may before its setup was accepted: 1009, then the end.
        self.read_limit_exceeded = True
        await self._write_close(1009, _TOO_MUCH_BEFORE_SETUP)
        await self._linger()
        raise trio.BrokenResourceError("read limit before setup exceeded")

    async def _send_unsent_close(self) -> None:
        closed = getattr(self.websocket, "closed", None)
        if closed is not None and int(closed.code) in _UNSENT_CLOSES:
            await self._write_close(int(closed.code), closed.reason or "")
            await self._linger()

    async def _linger(self) -> None:
        # A peer cut off for what it sent is usually still sending. Closing a
        # socket with unread bytes makes the kernel reset it, and the peer may
        # never read its close frame: discard what is in flight first (bounded
        # in time; nothing is kept).
        if self.aborted or self._receiving:
            return  # a reader is draining already
        with trio.move_on_after(_LINGER):
            try:
                while await self.transport.receive_some(_LINGER_CHUNK):
                    pass
            except (trio.BrokenResourceError, trio.ClosedResourceError, trio.BusyResourceError):
                pass  # gone, or another task reads (and so drains) it

    async def _write_close(self, code: int, reason: str) -> None:
        if self._close_frame_sent or self.aborted or self._write_error is not None:
            return
        self._close_frame_sent = True
        with trio.move_on_after(_DRAIN_GRACE):
            try:
                await self.transport.send_all(close_frame(code, reason))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

    async def _wait_released(self) -> None:
        while self._released is not None:
            await self._released.wait()

    async def _run_writer(self) -> None:
        async with self._queue_out:
            async for due, data in self._queue_out:
                await trio.sleep_until(due)
                await self._wait_released()
                try:
                    if self._write_error is None and not self.aborted:
                        await self.transport.send_all(data)
                except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                    self._write_error = exc
                finally:
                    self._pending -= 1
                    if self._pending == 0:
                        self._drained.set()
