"""The outbound ledger: client messages that must survive a reconnect.

``clientContent``, ``toolResponse`` and ``realtimeInput.text`` change the
conversation, so losing one in a reconnect is a bug a user notices (a question
never answered, a model waiting forever for a tool result). Each such message
gets a sequence number and stays here until the server's state is known to
include it:

- with transparent resumption (Vertex), a ``lastConsumedClientMessageIndex``
  at or past the message's index on that connection says so exactly;
- otherwise, a resumable ``sessionResumptionUpdate`` covers a message once the
  server has shown it read it: a ``turnComplete`` arrived for the reply the
  message triggered (or continued) on the same connection. An update alone is
  not proof: Google sends one right after ``setupComplete`` and at every turn
  boundary, and a message written just before such an update arrives was
  usually not read when it was made. A message written while a reply is in
  progress waits for one more ``turnComplete`` (the one ending that reply).

After a resume, :meth:`OutboundLedger.unwritten` lists what the handle does not
cover, in order; the connection writes each entry once per connection, so
every message reaches the resumed session exactly once.

A server that never acknowledges would let the ledger grow without end, so it
is bounded (entries and bytes): an append past a bound raises
:class:`~livesvc.session.LedgerFull` and keeps nothing.

Example::

    ledger = OutboundLedger()
    entry = ledger.append(msg)                 # seq 1
    ledger.mark_written(entry, generation=1, conn_index=3)
    ledger.turn_completed(generation=1)        # the server answered it
    ledger.cover(generation=1)                 # a resumable update arrived
    assert len(ledger) == 0
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

import trio

from livesvc.session._errors import DeliveryFailed, LedgerFull

__all__ = ["LedgerEntry", "OutboundLedger"]

M = TypeVar("M")


class LedgerEntry(Generic[M]):
    """One client message in the ledger.

    Attributes:
        seq: the session-wide sequence number (1, 2, ...).
        message: the message itself.
        generation: the connection it was last written on, or ``None``.
        conn_index: its index among the client frames of that connection.
    """

    __slots__ = (
        "_error",
        "_written",
        "acked",
        "conn_index",
        "generation",
        "message",
        "seq",
        "size",
        "skip_turns",
    )

    def __init__(self, seq: int, message: M, size: int = 0) -> None:
        self.seq = seq
        self.message = message
        self.size = size
        self.generation: int | None = None
        self.conn_index: int | None = None
        self.acked = False
        self.skip_turns = 0
        self._written = trio.Event()
        self._error: DeliveryFailed | None = None

    @property
    def is_written(self) -> bool:
        """Whether the message reached a socket at least once."""
        return self._written.is_set() and self._error is None

    async def written(self) -> None:
        """Wait until the message is written to a socket.

        Raises:
            DeliveryFailed: the session ended before the message could be written.
        """
        await self._written.wait()
        if self._error is not None:
            raise self._error

    def _fail(self, error: DeliveryFailed) -> None:
        if not self._written.is_set():
            self._error = error
            self._written.set()

    def __repr__(self) -> str:
        return f"LedgerEntry(seq={self.seq}, generation={self.generation}, conn_index={self.conn_index})"


class OutboundLedger(Generic[M]):
    """Client messages not yet covered by the server's resumable state.

    Args:
        keep_until_covered: ``True`` when session resumption is on. With
            resumption off no handle ever covers a message, so entries leave the
            ledger as soon as they are written.
        max_entries: at most this many entries (``None``: no bound).
        max_bytes: at most this many bytes, the sum of the sizes given to
            :meth:`append` (``None``: no bound).
    """

    def __init__(
        self,
        *,
        keep_until_covered: bool = True,
        max_entries: int | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self._keep = keep_until_covered
        self._entries: dict[int, LedgerEntry[M]] = {}
        self._next_seq = 1
        self._bytes = 0
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.refused = 0  # appends refused at a bound

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """The sum of the sizes of the entries held now."""
        return self._bytes

    def __iter__(self) -> Iterator[LedgerEntry[M]]:
        return iter(list(self._entries.values()))

    @property
    def last_seq(self) -> int:
        """The sequence number of the latest appended message (0 if none)."""
        return self._next_seq - 1

    def append(self, message: M, *, size: int = 0) -> LedgerEntry[M]:
        """Give ``message`` (``size`` bytes encoded) the next sequence number and keep it.

        Raises:
            LedgerFull: keeping it would exceed ``max_entries`` or ``max_bytes``;
                nothing is kept and no sequence number is used.
        """
        entries = len(self._entries)
        over = (self.max_entries is not None and entries + 1 > self.max_entries) or (
            self.max_bytes is not None and self._bytes + size > self.max_bytes
        )
        if over:
            self.refused += 1
            raise LedgerFull(
                f"the outbound ledger is full ({entries} messages, {self._bytes} bytes not yet "
                f"acknowledged by the server; bounds {self.max_entries} messages, "
                f"{self.max_bytes} bytes): message of {size} bytes refused",
                entries=entries,
                bytes=self._bytes,
                max_entries=self.max_entries,
                max_bytes=self.max_bytes,
            )
        entry = LedgerEntry(self._next_seq, message, size)
        self._next_seq += 1
        self._entries[entry.seq] = entry
        self._bytes += size
        return entry

    def _drop(self, seq: int) -> None:
        entry = self._entries.pop(seq, None)
        if entry is not None:
            self._bytes -= entry.size

    def get(self, seq: int) -> LedgerEntry[M] | None:
        """The entry with this sequence number, if it is still in the ledger."""
        return self._entries.get(seq)

    def unwritten(self, generation: int) -> list[LedgerEntry[M]]:
        """Entries not yet written on connection ``generation``, oldest first."""
        return [e for e in self._entries.values() if e.generation != generation]

    def needs_write(self, seq: int, generation: int) -> bool:
        """Whether entry ``seq`` still has to be written on connection ``generation``."""
        entry = self._entries.get(seq)
        return entry is not None and entry.generation != generation

    def mark_written(
        self, entry: LedgerEntry[M], *, generation: int, conn_index: int, skip_turns: int = 0
    ) -> None:
        """Record that ``entry`` was written as frame ``conn_index`` of connection ``generation``.

        ``skip_turns`` is the number of ``turnComplete`` messages that end replies
        already in progress (1 when written mid-reply): they do not acknowledge it.
        """
        entry.generation = generation
        entry.conn_index = conn_index
        entry.acked = False
        entry.skip_turns = skip_turns
        entry._written.set()
        if not self._keep:
            self._drop(entry.seq)

    def turn_completed(self, *, generation: int) -> None:
        """A ``turnComplete`` arrived on ``generation``: the server read what it answers."""
        for entry in self._entries.values():
            if entry.generation != generation or entry.acked:
                continue
            if entry.skip_turns > 0:
                entry.skip_turns -= 1
            else:
                entry.acked = True

    def cover(self, *, generation: int) -> int:
        """A resumable update arrived on ``generation``: drop what it is known to include.

        Returns the number of entries dropped.
        """
        covered = [s for s, e in self._entries.items() if e.generation == generation and e.acked]
        for seq in covered:
            self._drop(seq)
        return len(covered)

    def cover_through_index(self, *, generation: int, index: int) -> int:
        """Transparent resumption: drop entries of ``generation`` with ``conn_index <= index``."""
        covered = [
            s
            for s, e in self._entries.items()
            if e.generation == generation and e.conn_index is not None and e.conn_index <= index
        ]
        for seq in covered:
            self._drop(seq)
        return len(covered)

    def abandon_written(self) -> list[LedgerEntry[M]]:
        """A new session replaces the old one: drop what the old one already received.

        Without a handle the old context is gone; replaying old turns or tool
        responses (whose call ids the new session never issued) would be wrong.
        Entries never written stay, to be sent on the new session.
        """
        gone = [e for e in self._entries.values() if e.generation is not None]
        for entry in gone:
            self._drop(entry.seq)
        return gone

    def abandon_answered(self) -> list[LedgerEntry[M]]:
        """A reseeded session replaces the old one: drop what the history already holds.

        Answered messages are in the history the new session is seeded with;
        tool responses answer calls the new session never made. A prompt still
        waiting for its reply is kept and marked unwritten: the new session
        answers it. Returns the entries dropped.
        """
        gone: list[LedgerEntry[M]] = []
        for entry in list(self._entries.values()):
            if entry.generation is None:
                continue
            if entry.acked or getattr(entry.message, "tool_response", None) is not None:
                gone.append(entry)
                self._drop(entry.seq)
            else:
                entry.generation = None
                entry.conn_index = None
        return gone

    def fail_all(self, reason: str) -> list[LedgerEntry[M]]:
        """The session ended: fail every waiter and empty the ledger.

        Returns every entry the server may not have (written or not), so the
        caller can report them.
        """
        lost = list(self._entries.values())
        for entry in lost:
            entry._fail(
                DeliveryFailed(f"message {entry.seq} not delivered: {reason}", seq=entry.seq)
            )
        self._entries.clear()
        self._bytes = 0
        return lost
