"""A client connection's attachment to a gateway session, and its one writer task.

The session posts encoded server frames into the link's :class:`Outbox`
without waiting; one writer task per link drains it in batches (one wake-up
for many frames) and is the only task that writes to the client's socket, so
the order of frames is the order of the outbox and rests on no library
internal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio
import trio_websocket

from livesvc.close_codes import CLOSE_CLIENT_TOO_SLOW, CLOSE_NORMAL
from livesvc.gateway._mailbox import Outbox

__all__ = ["ClientLink", "TOO_SLOW_REASON"]

TOO_SLOW_REASON = "Client is not reading its messages; resume with your session handle."

# A client link's outbox; the session sets it to its detached buffer's bound when
# the link attaches, so a resuming client always gets everything that was kept.
OUTBOX_FRAMES = 512
OUTBOX_BYTES = 8 * 1024 * 1024


class ClientLink:
    """One client connection's attachment to a session (owned by its connection handler).

    ``socket`` needs only ``async send_message(frame)``, as trio-websocket's
    has. The session starts :meth:`run_writer` when the link attaches; the
    handler waits for ``writer_done`` before it closes the socket.

    Example::

        link = ClientLink(wants_resumption=True, socket=ws)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await link.closing.wait()
    """

    def __init__(
        self,
        *,
        wants_resumption: bool,
        socket: Any,
        max_frames: int = OUTBOX_FRAMES,
        max_bytes: int = OUTBOX_BYTES,
    ) -> None:
        self.wants_resumption = wants_resumption
        self.socket = socket
        self.outbox = Outbox(max_frames=max_frames, max_bytes=max_bytes)
        self.closing = trio.Event()
        self.close_code = CLOSE_NORMAL
        self.close_reason = ""
        self.broken = False  # a write was cut off mid-frame: abort, do not close
        self.writer_started = False  # set by the session when it starts the writer
        self.writer_done = trio.Event()
        self.handle: str | None = None  # the daemon handle issued during this attachment
        self.handle_requested = False  # a handle is being issued (its batch is not committed yet)

    def request_close(self, code: int, reason: str) -> None:
        """Ask the handler to close; frames already queued go out first."""
        if not self.closing.is_set():
            self.close_code, self.close_reason = code, reason
            self.closing.set()
            self.outbox.close()

    def abandon(self, code: int, reason: str) -> list[bytes]:
        """Close without sending what is queued; returns those frames (for a resume)."""
        self.request_close(code, reason)
        return self.outbox.take_all()

    async def run_writer(
        self, *, send_timeout: float, on_too_slow: Callable[[], None] = lambda: None
    ) -> None:
        """Send queued frames in batches until the link closes.

        A write that takes longer than ``send_timeout`` closes the link with
        CLOSE_CLIENT_TOO_SLOW; the frame was cut, so the handler aborts the
        connection. Frames not sent stay in the outbox for the session.
        """
        try:
            while True:
                batch = await self.outbox.take_batch()
                if not batch:
                    return
                for index, frame in enumerate(batch):
                    if not await self._send_one(frame, send_timeout):
                        self.outbox.put_back(batch[index:])
                        if self.close_code == CLOSE_CLIENT_TOO_SLOW:
                            on_too_slow()
                        return
        finally:
            self.writer_done.set()

    async def _send_one(self, frame: bytes, send_timeout: float) -> bool:
        cut = True  # until the write returns: a timeout or a cancellation cuts the frame
        try:
            with trio.move_on_after(send_timeout):
                await self.socket.send_message(frame)
                cut = False
        except trio_websocket.ConnectionClosed:
            cut = False
            self.request_close(CLOSE_NORMAL, "")  # its handler ends; nothing to send
            return False
        finally:
            if cut:
                self.broken = True
        if cut:
            self.request_close(CLOSE_CLIENT_TOO_SLOW, TOO_SLOW_REASON)
            return False
        return True
