"""The gateway session's messages: an internal envelope family, never on the wire.

Commands are in the imperative (:class:`Attach`, :class:`Close`), events in the
past tense (:class:`HandleCommitted`); all go through the session's one mailbox.
"""

from __future__ import annotations

import msgspec

from livesvc.close_codes import CLOSE_NORMAL
from livesvc.gateway._link import ClientLink
from livesvc.gateway._upstream import UpstreamEvent
from livesvc.store import Ticket
from livesvc.wire import ClientMessage

__all__ = [
    "Attach",
    "Close",
    "Detach",
    "Drain",
    "FromClient",
    "FromUpstream",
    "HandleCommitted",
    "Message",
    "UpstreamEnded",
]


class FromClient(msgspec.Struct, frozen=True, kw_only=True):
    """A client message on its way upstream, with the size of the frame it came in."""

    message: ClientMessage
    size: int


class Attach(msgspec.Struct, frozen=True, kw_only=True):
    """Attach this client (taking over from any attached one); ``resumed`` by handle."""

    link: ClientLink
    resumed: bool


class Detach(msgspec.Struct, frozen=True, kw_only=True):
    """This client left (``code``: how); the grace period starts if it was the attached one."""

    link: ClientLink
    code: int | None = None


class Close(msgspec.Struct, frozen=True, kw_only=True):
    """End the session now (the operator asked); the client gets ``code`` and ``reason``."""

    reason: str
    code: int = CLOSE_NORMAL


class FromUpstream(msgspec.Struct, frozen=True, kw_only=True):
    """An event the upstream reported (posted by its reader, which never waits)."""

    event: UpstreamEvent


class UpstreamEnded(msgspec.Struct, frozen=True, kw_only=True):
    """The upstream's event stream ended."""


class HandleCommitted(msgspec.Struct, frozen=True, kw_only=True):
    """A store batch holding this link's handle offer was committed (or failed)."""

    link: ClientLink
    ticket: Ticket


class Drain(msgspec.Struct, frozen=True, kw_only=True):
    """The supervisor asks the session to stop: finish the running turn, then end resumable."""


Message = (
    Attach | Detach | Close | FromClient | FromUpstream | UpstreamEnded | HandleCommitted | Drain
)
