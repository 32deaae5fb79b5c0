"""Every WebSocket close code livesvc sends, in one place.

The gateway, the emulator and the front door close client sockets with these
constants and nothing else, so a code's meaning is defined once and documented
once (docs/daemon.md, "Close codes"). Codes 1000-1015 are RFC 6455's; the
4000-4999 range is private to livesvc and used only where no standard code says
what happened. The stock SDKs raise on every code except 1000 and 1001.

Example::

    >>> from livesvc.close_codes import CLOSE_CONTEXT_LOST, describe
    >>> CLOSE_CONTEXT_LOST
    4001
    >>> describe(4001)
    'the upstream lost the conversation'
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "CLOSE_ABNORMAL",
    "CLOSE_BUDGET_EXHAUSTED",
    "CLOSE_CLIENT_TOO_SLOW",
    "CLOSE_CONTEXT_LOST",
    "CLOSE_GOING_AWAY",
    "CLOSE_INTERNAL",
    "CLOSE_INVALID_PAYLOAD",
    "CLOSE_MEMORY_BUDGET",
    "CLOSE_MESSAGE_TOO_BIG",
    "CLOSE_NORMAL",
    "CLOSE_POLICY",
    "CLOSE_PROTOCOL_ERROR",
    "CLOSE_SERVICE_RESTART",
    "CLOSE_TRY_AGAIN",
    "describe",
]

# RFC 6455 codes.
CLOSE_NORMAL: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_PROTOCOL_ERROR: Final = 1002
CLOSE_INVALID_PAYLOAD: Final = 1007
CLOSE_POLICY: Final = 1008
CLOSE_MESSAGE_TOO_BIG: Final = 1009
CLOSE_INTERNAL: Final = 1011
CLOSE_SERVICE_RESTART: Final = 1012
CLOSE_TRY_AGAIN: Final = 1013
# Never sent: what a connection that ended without a close frame is recorded as.
CLOSE_ABNORMAL: Final = 1006

# livesvc's own codes (private range): each names an outcome a client must be
# able to tell apart from a transient failure.
CLOSE_CONTEXT_LOST: Final = 4001
CLOSE_BUDGET_EXHAUSTED: Final = 4002
CLOSE_CLIENT_TOO_SLOW: Final = 4003
CLOSE_MEMORY_BUDGET: Final = 4004

_MEANING: Final[dict[int, str]] = {
    CLOSE_NORMAL: "closed normally",
    CLOSE_GOING_AWAY: "going away: resume later with the session handle",
    CLOSE_PROTOCOL_ERROR: "WebSocket protocol error",
    CLOSE_INVALID_PAYLOAD: "invalid message",
    CLOSE_POLICY: "policy violation (credential, limit or handle)",
    CLOSE_MESSAGE_TOO_BIG: "message too big",
    CLOSE_INTERNAL: "internal error, or the upstream failed for good",
    CLOSE_SERVICE_RESTART: "the serving node stopped: resume with the session handle",
    CLOSE_TRY_AGAIN: "at capacity or restarting: try again later",
    CLOSE_ABNORMAL: "the connection ended without a close frame (never sent)",
    CLOSE_CONTEXT_LOST: "the upstream lost the conversation",
    CLOSE_BUDGET_EXHAUSTED: "the key's budget is spent",
    CLOSE_CLIENT_TOO_SLOW: "the client did not read fast enough: resume with the session handle",
    CLOSE_MEMORY_BUDGET: "the session's memory budget is spent",
}


def describe(code: int) -> str:
    """The one-line meaning of a close code livesvc sends (``"unknown"`` otherwise)."""
    return _MEANING.get(code, "unknown")
