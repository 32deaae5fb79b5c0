"""livesvc: keeps Gemini Live API sessions alive and correct.

A supervised session library on trio, a Live gateway daemon (``livesvc serve``)
and a wire-faithful local Live API (``livesvc emulator``).
"""

from __future__ import annotations

__version__ = "0.1.0"

# The session library (docs/sessions.md).
from livesvc.session import CloseClass as CloseClass
from livesvc.session import Closed as Closed
from livesvc.session import Connected as Connected
from livesvc.session import ContextLost as ContextLost
from livesvc.session import DeliveryFailed as DeliveryFailed
from livesvc.session import Disconnected as Disconnected
from livesvc.session import ErrorOccurred as ErrorOccurred
from livesvc.session import GoAwayReceived as GoAwayReceived
from livesvc.session import InteractionStatusChanged as InteractionStatusChanged
from livesvc.session import KeepalivePolicy as KeepalivePolicy
from livesvc.session import LedgerFull as LedgerFull
from livesvc.session import LiveSessionError as LiveSessionError
from livesvc.session import MessageReceived as MessageReceived
from livesvc.session import ReconnectPolicy as ReconnectPolicy
from livesvc.session import Session as Session
from livesvc.session import SessionClosed as SessionClosed
from livesvc.session import SessionConfig as SessionConfig
from livesvc.session import SessionConfigError as SessionConfigError
from livesvc.session import SessionFailed as SessionFailed
from livesvc.session import SessionResumptionUpdated as SessionResumptionUpdated
from livesvc.session import SessionStatus as SessionStatus
from livesvc.session import ToolCallCancelled as ToolCallCancelled
from livesvc.session import ToolCallFinished as ToolCallFinished
from livesvc.session import ToolCallReceived as ToolCallReceived
from livesvc.session import TranscriptionReceived as TranscriptionReceived
from livesvc.session import TurnState as TurnState
from livesvc.session import Usage as Usage
from livesvc.session import VoiceActivityDetected as VoiceActivityDetected
from livesvc.session import extract_text as extract_text
from livesvc.session import open_session as open_session
from livesvc.tools import ToolResult as ToolResult
from livesvc.tools import tool as tool

__all__ = [
    "CloseClass",
    "Closed",
    "SessionConfigError",
    "Connected",
    "ContextLost",
    "DeliveryFailed",
    "Disconnected",
    "ErrorOccurred",
    "GoAwayReceived",
    "InteractionStatusChanged",
    "KeepalivePolicy",
    "LedgerFull",
    "LiveSessionError",
    "MessageReceived",
    "ReconnectPolicy",
    "Session",
    "SessionClosed",
    "SessionConfig",
    "SessionFailed",
    "SessionResumptionUpdated",
    "SessionStatus",
    "ToolCallCancelled",
    "ToolCallFinished",
    "ToolCallReceived",
    "ToolResult",
    "TranscriptionReceived",
    "TurnState",
    "Usage",
    "VoiceActivityDetected",
    "__version__",
    "extract_text",
    "open_session",
    "tool",
]


def __getattr__(name: str) -> object:
    # Deprecated spelling (see livesvc.session): the session's error is SessionConfigError.
    if name == "ConfigError":
        from livesvc import session

        return session.__getattr__("ConfigError")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
