"""The gateway session actor's mailbox: what other tasks post to it.

Internal envelopes (never on the wire). The connection handler posts
``Attach``/``Detach``, the admin API ``Close``; readers post without ever
waiting: the client's reading task ``ClientSent``, the upstream's reader
``UpstreamArrived``/``UpstreamGone``, the store writer ``HandleCommitted``, the
supervisor's stop ``Drain``::

    client reader ──ClientSent──┐
    upstream reader ─Upstream*──┤
    store writer ─HandleCommitted┼──> [mailbox] ──> GatewaySession._commands (owns the state)
    handler ─Attach/Detach──────┤                         │
    admin ─Close, stop ─Drain───┘                         └──> ClientLink.offer ──> link writer ──> socket
"""

from __future__ import annotations

from typing import Any

import msgspec

from livesvc.close_codes import CLOSE_NORMAL
from livesvc.gateway._link import ClientLink
from livesvc.wire import ClientMessage

__all__ = [
    "Attach",
    "ClientSent",
    "Close",
    "Command",
    "Detach",
    "Drain",
    "FromClient",
    "HandleCommitted",
    "UpstreamArrived",
    "UpstreamGone",
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


class ClientSent(msgspec.Struct, frozen=True, kw_only=True):
    """A client message went upstream (its reading task sent it): what it changes here."""

    message: ClientMessage


class UpstreamArrived(msgspec.Struct, frozen=True, kw_only=True):
    """An upstream event, handed over by the upstream's reader without waiting."""

    event: Any


class UpstreamGone(msgspec.Struct, frozen=True, kw_only=True):
    """The upstream ended (after every event it delivered)."""


class HandleCommitted(msgspec.Struct, frozen=True, kw_only=True):
    """The store committed the batch holding a daemon handle for ``link``."""

    link: Any
    ticket: Any


class Drain(msgspec.Struct, frozen=True, kw_only=True):
    """The supervisor asked the session to stop: end at the next turn boundary."""


Command = (
    Attach | Detach | Close | ClientSent | UpstreamArrived | UpstreamGone | HandleCommitted | Drain
)
