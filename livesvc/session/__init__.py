"""Live sessions: a supervised per-session actor tree and the public library API.

``open_session(...)`` opens a Gemini Live session in your own trio program. It
validates the configuration locally, dials, and keeps the session alive and
correct: it resumes with the latest handle after drops and 1011s, hands over
before a ``goAway`` deadline, replays conversation messages the handle does
not cover exactly once, buffers realtime media while reconnecting, detects dead
links with pings, and runs your tools. See ``docs/sessions.md``.

Example::

    import livesvc
    import trio

    async def main():
        async with livesvc.open_session(
            model="gemini-2.5-flash-native-audio-latest",
            output_audio_transcription=True,
        ) as session:
            async with session.events() as events:      # before sending: see every reply event
                await session.send_text("Hello!")
                async for event in events:
                    if isinstance(event, livesvc.TranscriptionReceived):
                        print(event.text, end="")
                    elif isinstance(event, livesvc.MessageReceived):
                        content = event.message.server_content
                        if content is not None and content.turn_complete:
                            break

    trio.run(main)
"""

from __future__ import annotations

from livesvc.session._callbacks import CallbackError as CallbackError
from livesvc.session._callbacks import Callbacks as Callbacks
from livesvc.session._close_codes import CloseClass as CloseClass
from livesvc.session._close_codes import classify_close as classify_close
from livesvc.session._close_codes import classify_http_status as classify_http_status
from livesvc.session._config import SessionConfig as SessionConfig
from livesvc.session._connection import ProtocolError as ProtocolError
from livesvc.session._core import EventSink as EventSink
from livesvc.session._dial import TlsHandshakeError as TlsHandshakeError
from livesvc.session._errors import ContextLostError as ContextLostError
from livesvc.session._errors import DeliveryFailed as DeliveryFailed
from livesvc.session._errors import LedgerFull as LedgerFull
from livesvc.session._errors import LiveSessionError as LiveSessionError
from livesvc.session._errors import SessionClosed as SessionClosed
from livesvc.session._errors import SessionConfigError as SessionConfigError
from livesvc.session._errors import SessionFailed as SessionFailed
from livesvc.session._events import Closed as Closed
from livesvc.session._events import Connected as Connected
from livesvc.session._events import ContextLost as ContextLost
from livesvc.session._events import Disconnected as Disconnected
from livesvc.session._events import ErrorOccurred as ErrorOccurred
from livesvc.session._events import GoAwayReceived as GoAwayReceived
from livesvc.session._events import InteractionStatusChanged as InteractionStatusChanged
from livesvc.session._events import MessageReceived as MessageReceived
from livesvc.session._events import SessionEvent as SessionEvent
from livesvc.session._events import SessionResumptionUpdated as SessionResumptionUpdated
from livesvc.session._events import SessionStatus as SessionStatus
from livesvc.session._events import ToolCallCancelled as ToolCallCancelled
from livesvc.session._events import ToolCallFinished as ToolCallFinished
from livesvc.session._events import ToolCallReceived as ToolCallReceived
from livesvc.session._events import TranscriptionReceived as TranscriptionReceived
from livesvc.session._events import TurnState as TurnState
from livesvc.session._events import Usage as Usage
from livesvc.session._events import VoiceActivityDetected as VoiceActivityDetected
from livesvc.session._events import extract_text as extract_text
from livesvc.session._from_setup import config_from_setup as config_from_setup
from livesvc.session._policy import KeepalivePolicy as KeepalivePolicy
from livesvc.session._policy import ReconnectPolicy as ReconnectPolicy
from livesvc.session._session import Session as Session
from livesvc.session._session import open_session as open_session

__all__ = [
    "CallbackError",
    "Callbacks",
    "CloseClass",
    "Closed",
    "SessionConfigError",
    "Connected",
    "ContextLost",
    "ContextLostError",
    "DeliveryFailed",
    "Disconnected",
    "ErrorOccurred",
    "GoAwayReceived",
    "InteractionStatusChanged",
    "KeepalivePolicy",
    "LedgerFull",
    "LiveSessionError",
    "MessageReceived",
    "ProtocolError",
    "ReconnectPolicy",
    "Session",
    "SessionClosed",
    "SessionConfig",
    "SessionEvent",
    "EventSink",
    "SessionFailed",
    "SessionResumptionUpdated",
    "SessionStatus",
    "TlsHandshakeError",
    "ToolCallCancelled",
    "ToolCallFinished",
    "ToolCallReceived",
    "TranscriptionReceived",
    "TurnState",
    "Usage",
    "VoiceActivityDetected",
    "classify_close",
    "classify_http_status",
    "config_from_setup",
    "extract_text",
    "open_session",
]


def __getattr__(name: str) -> object:
    # Deprecated spelling, kept for code written before the rename: livesvc.config
    # has its own ConfigError (a bad daemon config file); this one is a session's.
    if name == "ConfigError":
        import warnings

        warnings.warn(
            "livesvc.session.ConfigError is now SessionConfigError",
            DeprecationWarning,
            stacklevel=2,
        )
        return SessionConfigError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
