"""Bounded mailboxes with explicit overflow policies, drained in batches by one task.

A trio memory channel can neither drop its oldest droppable item nor hand its
reader everything queued at once; these two can, and that is all they add.

* :class:`Mailbox` (a gateway session's inbox): client-side senders wait for
  room (backpressure on the client's reading task); the upstream reader and
  the store writer post without waiting (``post``): an event is never
  dropped there, droppable ones (model audio) are shed oldest-first once the
  box is past its bound.
* :class:`Outbox` (a client link's frames): the session posts without
  waiting; past its bound the oldest model-audio frames are dropped and
  counted, and a conversation frame that still does not fit reports
  ``FULL`` (the session closes that client, keeping its session).

Example::

    box = Mailbox[str](capacity=4)
    box.post("event")
    batch = await box.take_batch()  # ["event"]: one wake-up for all queued
"""

from __future__ import annotations

import enum
from collections import deque
from typing import Generic, TypeVar

import trio

__all__ = ["Mailbox", "Outbox", "Posted"]

T = TypeVar("T")


class Mailbox(Generic[T]):
    """A session's inbox: ``send`` waits for room, ``post`` never waits."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: deque[tuple[T, bool]] = deque()
        self._droppable = 0
        self._has_items = trio.Event()
        self._has_room = trio.Event()
        self._has_room.set()
        self.closed = False
        self.shed = 0  # droppable items dropped past the bound, in all

    def __len__(self) -> int:
        return len(self._items)

    async def send(self, item: T) -> None:
        """Queue ``item``, waiting while the box is full.

        Raises:
            trio.ClosedResourceError: the owner has stopped taking messages.
        """
        while len(self._items) >= self.capacity and not self.closed:
            await self._has_room.wait()
        if self.closed:
            raise trio.ClosedResourceError("the mailbox is closed")
        self._append(item, droppable=False)

    def post(self, item: T, *, droppable: bool = False) -> int:
        """Queue ``item`` without waiting; returns how many droppable items were shed.

        Past the bound, the oldest droppable items go first (``item`` itself
        when it is droppable and nothing older is); other items are always
        kept: their sender must never wait, and they must never be lost.
        A closed box drops ``item`` silently (its owner has ended).
        """
        if self.closed:
            return 0
        self._append(item, droppable=droppable)
        shed = 0
        while len(self._items) > self.capacity and self._droppable:
            self._drop_oldest_droppable()
            shed += 1
        self.shed += shed
        return shed

    async def take_batch(self) -> list[T]:
        """Everything queued (at least one item); ``[]`` once closed and empty."""
        while not self._items:
            if self.closed:
                return []
            await self._has_items.wait()
        batch = [item for item, _ in self._items]
        self._items.clear()
        self._droppable = 0
        self._has_items = trio.Event()
        self._has_room.set()
        return batch

    def close(self) -> list[T]:
        """Stop taking items; returns what was queued and not taken."""
        self.closed = True
        left = [item for item, _ in self._items]
        self._items.clear()
        self._droppable = 0
        self._has_items.set()
        self._has_room.set()
        return left

    def _append(self, item: T, *, droppable: bool) -> None:
        self._items.append((item, droppable))
        self._droppable += droppable
        self._has_items.set()
        if len(self._items) >= self.capacity:
            self._has_room = trio.Event()

    def _drop_oldest_droppable(self) -> None:
        for index, (_, droppable) in enumerate(self._items):
            if droppable:
                del self._items[index]
                self._droppable -= 1
                return


class Posted(enum.Enum):
    """What :meth:`Outbox.post` did with a frame."""

    QUEUED = "queued"
    FULL = "full"  # a frame that may not be dropped did not fit: the client is too slow


class Outbox:
    """A client link's outbound frames, bounded in frames and bytes.

    ``dropped`` counts model-audio frames shed oldest-first to make room.
    """

    def __init__(self, *, max_frames: int, max_bytes: int) -> None:
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._items: deque[tuple[bytes, bool]] = deque()
        self._bytes = 0
        self._has_items = trio.Event()
        self.closed = False
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def post(self, frame: bytes, *, droppable: bool) -> tuple[Posted, int]:
        """Queue ``frame`` without waiting; returns the outcome and how many audio frames went."""
        dropped = 0
        while self._over(len(frame)) and self._drop_oldest_droppable():
            dropped += 1
        if self._over(len(frame)):
            if droppable:
                dropped += 1  # the newest audio frame itself: nothing older was droppable
                self.dropped += dropped
                return Posted.QUEUED, dropped
            self.dropped += dropped
            return Posted.FULL, dropped
        self._items.append((frame, droppable))
        self._bytes += len(frame)
        self._has_items.set()
        self.dropped += dropped
        return Posted.QUEUED, dropped

    async def take_batch(self) -> list[bytes]:
        """Every queued frame (at least one); ``[]`` once closed and empty."""
        while not self._items:
            if self.closed:
                return []
            await self._has_items.wait()
        batch = [frame for frame, _ in self._items]
        self._items.clear()
        self._bytes = 0
        self._has_items = trio.Event()
        return batch

    def put_back(self, frames: list[bytes]) -> None:
        """Return frames the writer did not send to the front, in order (never dropped)."""
        for frame in reversed(frames):
            self._items.appendleft((frame, False))
            self._bytes += len(frame)
        if frames:
            self._has_items.set()

    def close(self) -> None:
        """No more frames: the writer sends what is queued, then stops."""
        self.closed = True
        self._has_items.set()

    def take_all(self) -> list[bytes]:
        """Every queued frame, now (the link is gone: they go back to the session)."""
        frames = [frame for frame, _ in self._items]
        self._items.clear()
        self._bytes = 0
        return frames

    def _over(self, size: int) -> bool:
        return bool(self._items) and (
            len(self._items) + 1 > self.max_frames or self._bytes + size > self.max_bytes
        )

    def _drop_oldest_droppable(self) -> bool:
        for index, (frame, droppable) in enumerate(self._items):
            if droppable:
                del self._items[index]
                self._bytes -= len(frame)
                return True
        return False
