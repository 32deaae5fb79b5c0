"""What a gateway session needs from its upstream: a Protocol, and the events it reports.

The daemon's upstream is a session from the session library (reconnection,
resumption, ledger, tool executor); tests use a fake. The gateway never sees
an upstream socket: drops and ``goAway`` handovers happen below this line and
come up only as :class:`Reconnecting` / :class:`Reconnected` events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import msgspec

from livesvc.close_codes import CLOSE_INTERNAL
from livesvc.tools import ToolSpec
from livesvc.wire import ClientMessage, ServerMessage, Setup

__all__ = [
    "UpstreamUnavailable",
    "Failed",
    "Frame",
    "MediaDropped",
    "Reconnected",
    "Reconnecting",
    "SendRefused",
    "ToolFinished",
    "Upstream",
    "UpstreamEvent",
    "UpstreamFactory",
    "UpstreamRequest",
]


class Frame(msgspec.Struct, frozen=True, kw_only=True):
    """A server message for the client (the gateway filters and rewrites it)."""

    message: ServerMessage


class Reconnecting(msgspec.Struct, frozen=True, kw_only=True):
    """The upstream connection went away (``reason``: drop, go_away, ...); a new one is coming."""

    reason: str
    code: int | None = None


class Reconnected(msgspec.Struct, frozen=True, kw_only=True):
    """A new upstream connection is up; ``resumed`` when a handle carried the conversation."""

    reason: str
    resumed: bool
    gap_seconds: float
    replayed: int = 0


class ToolFinished(msgspec.Struct, frozen=True, kw_only=True):
    """A daemon tool call ended.

    ``outcome``: ok, error, bad_arguments, timeout, cancelled (the library's
    :class:`~livesvc.session.ToolCallFinished`); ``duration_seconds`` from the
    call's arrival to its end.
    """

    name: str
    outcome: str
    duration_seconds: float | None = None


class MediaDropped(msgspec.Struct, frozen=True, kw_only=True):
    """Realtime media dropped while the upstream was away."""

    kind: str
    count: int = 1


class SendRefused(msgspec.Struct, frozen=True, kw_only=True):
    """A client message was refused upstream (its outbound ledger is full); the session goes on."""

    reason: str


class ContextLost(msgspec.Struct, frozen=True, kw_only=True):
    """The upstream lost the conversation; ``outcome``: reseeded, continued or failed."""

    outcome: str
    reason: str
    restored: int = 0


class Failed(msgspec.Struct, frozen=True, kw_only=True):
    """The upstream session stopped for good; the client is closed with this code."""

    code: int | None
    reason: str


UpstreamEvent = (
    Frame
    | Reconnecting
    | Reconnected
    | ToolFinished
    | MediaDropped
    | SendRefused
    | ContextLost
    | Failed
)


class UpstreamUnavailable(Exception):
    """The upstream session could not be opened; the client is refused with ``code``."""

    def __init__(self, reason: str, *, code: int = CLOSE_INTERNAL) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class UpstreamRequest(msgspec.Struct, frozen=True, kw_only=True):
    """How to open an upstream session for one gateway session."""

    session_id: str
    setup: Setup  # merged; without session_resumption (the upstream manages it)
    tools: Sequence[ToolSpec] = ()
    resume_handle: str | None = None  # an upstream (Google) handle, after a daemon restart
    resumption: bool = True
    transparent: bool = False
    context_loss: str = "fail"  # the profile's policy (see livesvc.session, context_loss)
    # Push delivery: an upstream may await this with each event, in its own
    # tasks, instead of queueing it for events() (which then only ends with
    # the upstream). The gateway session sets it; one hand-off less per frame.
    deliver: Callable[[UpstreamEvent], Awaitable[None]] | None = None


class Upstream(Protocol):
    """An open upstream session."""

    async def send(self, message: ClientMessage) -> None:
        """Send a client message (``client_content``, ``realtime_input``, ``tool_response``,
        ``context_update``); it is delivered, replayed after a resume, or reported."""
        ...

    def events(self) -> AsyncIterator[UpstreamEvent]:
        """Everything the upstream reports, in order; ends after :class:`Failed` or close.

        With ``UpstreamRequest.deliver`` honoured, events go there instead and
        this only ends when the upstream does.
        """
        ...

    def restarts(self) -> dict[str, int]:
        """Restarts per actor of the upstream session so far (for the summary line)."""
        ...


UpstreamFactory = Callable[[UpstreamRequest], AbstractAsyncContextManager[Upstream]]
