"""Bounded mailboxes that outlive the actors reading them.

A :class:`Mailbox` owns one trio memory channel. Actors never get its endpoints:
each incarnation reads from its own clone (``async with mailbox.receiver() as
inbox``), so a crashing actor closes only its clone and its successor finds the
same mailbox, with the messages still buffered. Senders get a
:class:`MailboxSender` (``mailbox.sender()``: send, but never close) and call
``send`` (or ``send_nowait`` on a back edge); the overflow policy decides what
happens when the buffer is full:

- ``BLOCK``: ``send`` waits for room (backpressure); ``send_nowait`` raises ``trio.WouldBlock``;
- ``DROP_OLDEST``: the oldest buffered message is dropped to make room;
- ``DROP_NEWEST``: the message being sent is dropped;
- ``FAIL``: :class:`MailboxFull` is raised to the sender.

Every message lost to overflow is counted (``stats().dropped``) and logged as
``mailbox.overflow`` on the 1st, 2nd, 4th, 8th... loss, so a flood cannot flood
the log. Only the owner closes a mailbox (:meth:`Mailbox.close`, or ``with``).

Example::

    import trio

    from supervisors import Mailbox, Overflow

    async def main():
        with Mailbox[int]("audio", 2, overflow=Overflow.DROP_OLDEST) as audio:
            for chunk in range(5):
                audio.send_nowait(chunk)
            assert audio.stats().dropped == 3
            with audio.receiver() as inbox:      # one incarnation's clone
                assert [inbox.receive_nowait(), inbox.receive_nowait()] == [3, 4]

    trio.run(main)
"""

from __future__ import annotations

from enum import StrEnum
from types import TracebackType
from typing import Generic, Self, TypeVar

import msgspec
import trio

from ._log import log

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Overflow(StrEnum):
    """What a full mailbox does with one more message."""

    BLOCK = "block"
    DROP_OLDEST = "drop_oldest"
    DROP_NEWEST = "drop_newest"
    FAIL = "fail"


class MailboxFull(Exception):
    """A ``FAIL`` mailbox had no room for a message."""

    def __init__(self, mailbox: str, capacity: int) -> None:
        super().__init__(f"mailbox {mailbox!r} is full ({capacity} messages)")
        self.mailbox = mailbox
        self.capacity = capacity


class MailboxStats(msgspec.Struct, frozen=True, kw_only=True):
    """Counters of one mailbox.

    Attributes:
        name: the mailbox's name.
        capacity: the most messages it buffers.
        overflow: its overflow policy.
        buffered: messages waiting now.
        sent: messages accepted since it was opened.
        dropped: messages lost to overflow (for ``FAIL``: refused).
    """

    name: str
    capacity: int
    overflow: Overflow
    buffered: int
    sent: int
    dropped: int


class Mailbox(Generic[T]):
    """A bounded, named channel owned by whoever outlives its readers.

    Args:
        name: names it in logs and stats.
        capacity: messages buffered before the overflow policy applies; must be at
            least 1 unless the policy is ``BLOCK`` (0 makes every send a rendezvous).
        overflow: what a full mailbox does with one more message.
    """

    def __init__(self, name: str, capacity: int, *, overflow: Overflow = Overflow.BLOCK) -> None:
        overflow = Overflow(overflow)
        if capacity < 0 or (capacity == 0 and overflow is not Overflow.BLOCK):
            raise ValueError(
                f"mailbox {name!r}: capacity must be >= 1 with {overflow.value}, got {capacity}"
            )
        self.name = name
        self.capacity = capacity
        self.overflow = overflow
        self._send, self._receive = trio.open_memory_channel[T](capacity)
        self._sent = 0
        self._dropped = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Mailbox({self.name!r}, {self.capacity}, overflow={self.overflow.value})"

    def sender(self) -> MailboxSender[T]:
        """A send-only view to hand to producers: it cannot close the mailbox."""
        return MailboxSender(self)

    def receiver(self) -> trio.MemoryReceiveChannel[T]:
        """A fresh receive endpoint for one incarnation; closing it leaves the mailbox open."""
        return self._receive.clone()

    async def send(self, message: T) -> None:
        """Deliver ``message``, applying the overflow policy when the mailbox is full.

        Raises:
            MailboxFull: the policy is ``FAIL`` and there is no room.
            trio.ClosedResourceError: the mailbox was closed.
        """
        if self.overflow is Overflow.BLOCK:
            await self._send.send(message)
            self._sent += 1
            return
        # Same checkpoint discipline as trio's own send(): cancellable before the
        # message is taken, never after.
        await trio.lowlevel.checkpoint_if_cancelled()
        self.send_nowait(message)
        await trio.lowlevel.cancel_shielded_checkpoint()

    def send_nowait(self, message: T) -> None:
        """Deliver ``message`` without waiting (for back edges and sync code).

        Raises:
            trio.WouldBlock: the policy is ``BLOCK`` and there is no room.
            MailboxFull: the policy is ``FAIL`` and there is no room.
            trio.ClosedResourceError: the mailbox was closed.
        """
        try:
            self._send.send_nowait(message)
        except trio.WouldBlock:
            if self.overflow is Overflow.BLOCK:
                raise
            self._overflowed()
            if self.overflow is Overflow.FAIL:
                raise MailboxFull(self.name, self.capacity) from None
            if self.overflow is Overflow.DROP_NEWEST:
                return
            self._receive.receive_nowait()  # DROP_OLDEST: make room, then deliver
            self._send.send_nowait(message)
        self._sent += 1

    def stats(self) -> MailboxStats:
        """The mailbox's counters now."""
        return MailboxStats(
            name=self.name,
            capacity=self.capacity,
            overflow=self.overflow,
            buffered=self._send.statistics().current_buffer_used,
            sent=self._sent,
            dropped=self._dropped,
        )

    def close(self) -> None:
        """Close the mailbox: readers see the end once the buffer is drained."""
        self._send.close()
        self._receive.close()

    def _overflowed(self) -> None:
        self._dropped += 1
        if self._dropped & (self._dropped - 1) == 0:  # 1, 2, 4, 8, ...
            log.warning(
                "mailbox.overflow",
                mailbox=self.name,
                overflow=self.overflow.value,
                capacity=self.capacity,
                dropped=self._dropped,
            )


class MailboxSender(Generic[T_contra]):
    """The send side of a :class:`Mailbox`, and nothing else (a producer's capability).

    Example::

        from supervisors import Mailbox, Overflow

        events = Mailbox[str]("events", 4, overflow=Overflow.DROP_NEWEST)
        out = events.sender()
        out.send_nowait("connected")
        assert out.stats().sent == 1 and not hasattr(out, "close")
    """

    __slots__ = ("_mailbox",)

    def __init__(self, mailbox: Mailbox[T_contra]) -> None:
        self._mailbox = mailbox

    def __repr__(self) -> str:
        return f"MailboxSender({self._mailbox!r})"

    @property
    def name(self) -> str:
        """The mailbox's name."""
        return self._mailbox.name

    async def send(self, message: T_contra) -> None:
        """See :meth:`Mailbox.send`."""
        await self._mailbox.send(message)

    def send_nowait(self, message: T_contra) -> None:
        """See :meth:`Mailbox.send_nowait`."""
        self._mailbox.send_nowait(message)

    def stats(self) -> MailboxStats:
        """The mailbox's counters now."""
        return self._mailbox.stats()
