"""Internal envelopes exchanged by a session's actors over bounded mailboxes.

Commands are imperative (``Dial``, ``DropLink``), events past tense
(``LinkUp``, ``LinkDown``). They never cross the wire: some carry live objects
(a WebSocket, a message struct), so no decoder could be built for them.

The edges of the session tree::

    senders ──WriteEntry/WriteRealtime──▶ connection ──LinkUp/LinkDown/GoAwayNoticed──▶ reconnector
    reconnector ──Dial/CloseLink (nowait)──▶ connection ◀──DropLink (nowait)── pinger
    connection ──LinkUp/LinkDown (nowait, drop oldest)──▶ pinger
    connection (reader) ──RunTools/CancelTools──▶ tool executor ──▶ ledger (responses)

The back edges (into the connection's control mailbox, into the pinger) use
``send_nowait``, so no cycle of blocking sends exists.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from livesvc.session._close_codes import CloseClass
from livesvc.session._media_buffer import MediaKind
from livesvc.wire import ClientMessage, ToolCall

__all__ = [
    "CancelTools",
    "CloseLink",
    "ConnCommand",
    "Dial",
    "DropLink",
    "EndInteraction",
    "GoAwayNoticed",
    "Link",
    "LinkDown",
    "LinkEnd",
    "LinkPhase",
    "LinkEvent",
    "LinkUp",
    "Outbound",
    "RunTools",
    "ToolCommand",
    "WriteEntry",
    "WriteRealtime",
]


class Link:
    """A live connection as the pinger sees it: the socket and its last sign of life.

    Not a struct: ``last_received`` is updated by the connection's reader on every frame.
    """

    __slots__ = ("generation", "last_received", "ws")

    def __init__(self, generation: int, ws: Any, now: float) -> None:
        self.generation = generation
        self.ws = ws
        self.last_received = now


# -- to the connection: frames to write --------------------------------------


class WriteEntry(msgspec.Struct, frozen=True, kw_only=True):
    """Write ledger entry ``seq`` (unless this connection already wrote it)."""

    seq: int


class WriteRealtime(msgspec.Struct, frozen=True, kw_only=True):
    """Write a realtime message; buffer it (bounded) while there is no connection."""

    message: ClientMessage
    kind: MediaKind
    seconds: float = 0.0


Outbound = WriteEntry | WriteRealtime


# -- to the connection: control ----------------------------------------------


class Dial(msgspec.Struct, frozen=True, kw_only=True):
    """Open a connection, resuming ``handle`` if given.

    ``fresh`` marks a new server session after an earlier one: what the old one
    received is dropped from the ledger instead of replayed.
    """

    handle: str | None = None
    fresh: bool = False
    reason: str = ""


class DropLink(msgspec.Struct, frozen=True, kw_only=True):
    """Abort connection ``generation`` at once (it is dead)."""

    generation: int
    reason: str


class CloseLink(msgspec.Struct, frozen=True, kw_only=True):
    """Close connection ``generation`` gracefully (handover, or the owner's close)."""

    generation: int
    reason: str
    handover: bool = False


ConnCommand = Dial | DropLink | CloseLink


# -- from the connection -----------------------------------------------------


class LinkPhase(enum.Enum):
    """Where the connection is; only the connection actor changes it."""

    DOWN = "down"
    DIALING = "dialing"
    UP = "up"


class LinkEnd(msgspec.Struct, frozen=True, kw_only=True):
    """How a connection ended.

    Attributes:
        code: WebSocket close code or HTTP status of a refused handshake (``None``:
            no close frame, e.g. a network error or an aborted dead link).
        reason: close reason or error description (never a credential).
        close_class: the classification; ``None`` when the session ended it on purpose.
        during_setup: it ended before ``setupComplete``.
        handover: the session closed it to hand over after a ``goAway``.
        resumed_with: the handle the connection was dialled with.
    """

    code: int | None = None
    reason: str = ""
    close_class: CloseClass | None = None
    during_setup: bool = False
    handover: bool = False
    resumed_with: str | None = None


class LinkUp(msgspec.Struct, frozen=True, kw_only=True):
    """Connection ``generation`` is set up."""

    generation: int
    link: Link
    at: float


class LinkDown(msgspec.Struct, frozen=True, kw_only=True):
    """Connection ``generation`` ended (or never came up)."""

    generation: int
    end: LinkEnd
    at: float


class GoAwayNoticed(msgspec.Struct, frozen=True, kw_only=True):
    """The server will close ``generation`` at trio time ``deadline``."""

    generation: int
    deadline: float


LinkEvent = LinkUp | LinkDown | GoAwayNoticed


# -- to the tool executor ----------------------------------------------------


class RunTools(msgspec.Struct, frozen=True, kw_only=True):
    """Run the calls of a ``toolCall`` message."""

    call: ToolCall


class CancelTools(msgspec.Struct, frozen=True, kw_only=True):
    """Cancel running calls (``toolCallCancellation``)."""

    ids: list[str]


class EndInteraction(msgspec.Struct, frozen=True, kw_only=True):
    """The interaction ended: repeated-call suppression starts afresh."""


ToolCommand = RunTools | CancelTools | EndInteraction
