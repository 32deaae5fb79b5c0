"""A client connection's attachment to a gateway session: its queue and its one writer."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import trio
import trio_websocket

from livesvc.close_codes import CLOSE_CLIENT_TOO_SLOW, CLOSE_NORMAL

__all__ = ["ClientLink"]


class ClientLink:
    """One client connection's attachment to a session, with its one writer.

    The session hands encoded server frames to :meth:`offer`, which never waits:
    the upstream's reader that delivers them is never held up by a client. One
    writer task (:meth:`write_frames`, started by the session when the link
    attaches) drains the link's queue to the socket, as many frames per wake-up
    as are queued, in the order offered. The queue is bounded: past it, model
    audio is dropped oldest first (counted in ``audio_dropped``); conversation
    frames are never dropped: the client is too slow, and the link is closed
    with 4003 (its frames go back to the session, for the client's resume).
    ``socket`` needs only ``async send_message(frame)``, as trio-websocket's has.
    """

    def __init__(
        self,
        *,
        wants_resumption: bool,
        socket: Any,
        max_frames: int = 256,
        max_bytes: int = 8 * 1024 * 1024,
    ) -> None:
        self.wants_resumption = wants_resumption
        self.socket = socket
        self.closing = trio.Event()
        self.flushed = trio.Event()  # the writer is done: all written, or it gave up
        self.close_code = CLOSE_NORMAL
        self.close_reason = ""
        self.broken = False  # a write was cut off mid-frame: abort, do not close
        self.too_slow = False  # closed for not reading (4003)
        self.audio_dropped = 0  # model audio frames dropped at the bound
        self.on_too_slow: Callable[[str], None] | None = None  # told once, with why
        self.handle: str | None = None  # the daemon handle issued during this attachment
        self.handle_requested = False  # a handle is being issued (its batch is not committed yet)
        self._max_frames, self._max_bytes = max_frames, max_bytes
        self._queue: deque[tuple[bytes, bool]] = deque()  # (frame, droppable audio)
        self._writing = False  # the queue's head is being written
        self._bytes = 0
        self._wakeup = trio.Event()

    def offer(self, frame: bytes, *, droppable: bool = False) -> bool:
        """Queue ``frame`` for the writer; ``False`` when the link no longer takes frames."""
        if self.closing.is_set() or self.flushed.is_set():
            return False
        self._queue.append((frame, droppable))
        self._bytes += len(frame)
        while len(self._queue) > self._max_frames or self._bytes > self._max_bytes:
            # The frame being written (the queue's head) is not the writer's to lose.
            first = 1 if self._writing else 0
            oldest_audio = next(
                (i for i in range(first, len(self._queue)) if self._queue[i][1]), None
            )
            if oldest_audio is None:
                self._give_up_slow("queue_full")
                break
            dropped, _ = self._queue[oldest_audio]
            del self._queue[oldest_audio]
            self._bytes -= len(dropped)
            self.audio_dropped += 1
        self._wakeup.set()
        return True

    def take_unsent(self) -> list[bytes]:
        """The frames not written yet, oldest first (the link is done with them)."""
        frames = [frame for frame, _ in self._queue]
        self._queue.clear()
        self._bytes = 0
        return frames

    async def write_frames(self, *, per_frame: float) -> None:
        """The link's one writer: until closed and drained, or the client stops reading.

        A frame is never cut in the middle (the write is shielded); a client that
        takes longer than ``per_frame`` seconds for one is broken (aborted, not closed).
        """
        try:
            while True:
                if not self._queue:
                    if self.closing.is_set():
                        return
                    await self._wakeup.wait()
                    self._wakeup = trio.Event()
                    continue
                frame, _ = self._queue[0]
                self._writing = True
                with trio.move_on_after(per_frame, shield=True) as scope:
                    try:
                        await self.socket.send_message(frame)
                    except trio_websocket.ConnectionClosed:
                        self.request_close(CLOSE_NORMAL, "")  # its handler ends; nothing to send
                        return
                    finally:
                        self._writing = False
                if scope.cancelled_caught:
                    self.broken = True
                    self._give_up_slow("write_timeout")
                    return
                if self._queue and self._queue[0][0] is frame:
                    self._queue.popleft()
                    self._bytes -= len(frame)
        finally:
            self.flushed.set()

    def _give_up_slow(self, why: str) -> None:
        if not self.too_slow:
            self.too_slow = True
            if self.on_too_slow is not None:
                self.on_too_slow(why)
        self.request_close(CLOSE_CLIENT_TOO_SLOW, "Client is not reading its messages.")

    def request_close(self, code: int, reason: str) -> None:
        """Ask the handler to close; the writer first writes what is queued (bounded)."""
        if not self.closing.is_set():
            self.close_code, self.close_reason = code, reason
            self.closing.set()
            self._wakeup.set()
