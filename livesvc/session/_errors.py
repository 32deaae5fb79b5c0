"""The exceptions a session raises to its caller.

Every error is a :class:`LiveSessionError`; a caller that only wants to know
"did the session work" catches that one type.
"""

from __future__ import annotations

from livesvc.session._close_codes import CloseClass

__all__ = [
    "ContextLostError",
    "SessionConfigError",
    "DeliveryFailed",
    "LedgerFull",
    "LiveSessionError",
    "SessionClosed",
    "SessionFailed",
]


class LiveSessionError(Exception):
    """Base class of every error raised by a Live session."""


class SessionConfigError(LiveSessionError, ValueError):
    """The session configuration is invalid; raised before any socket opens.

    ``field`` names the option at fault (``"generation_config.response_modalities"``).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SessionFailed(LiveSessionError):
    """The session stopped for good: a fatal close, an auth failure, or retries ran out.

    Attributes:
        close_class: how the last close was classified.
        code: the last WebSocket close code (``None`` for a network error).
        reason: the last close reason, or a description of the error.
    """

    def __init__(
        self,
        message: str,
        *,
        close_class: CloseClass | None = None,
        code: int | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.close_class = close_class
        self.code = code
        self.reason = reason


class ContextLostError(SessionFailed):
    """The server-side conversation was lost (a resume refused, or no handle yet).

    Raised as the session's failure with ``context_loss="fail"``; passed to
    ``on_error`` when the session goes on with an empty context
    (``context_loss="continue"``).
    """


class SessionClosed(LiveSessionError):
    """The session was closed by its owner; nothing more can be sent."""


class DeliveryFailed(LiveSessionError):
    """A message could not be delivered because the session ended first.

    ``seq`` is the message's sequence number in the outbound ledger.
    """

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class LedgerFull(DeliveryFailed):
    """A message was refused: the outbound ledger is at its bound; the session goes on.

    The ledger keeps conversation messages until the server's state covers them;
    a server that never acknowledges anything fills it. Nothing was queued, so
    the message may be sent again later. ``entries`` and ``bytes`` are what the
    ledger held; ``max_entries`` and ``max_bytes`` its bounds.
    """

    def __init__(
        self,
        message: str,
        *,
        entries: int,
        bytes: int,
        max_entries: int | None,
        max_bytes: int | None,
    ) -> None:
        super().__init__(message)
        self.entries = entries
        self.bytes = bytes
        self.max_entries = max_entries
        self.max_bytes = max_bytes
