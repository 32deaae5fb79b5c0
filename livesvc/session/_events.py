"""What a session tells its owner: status, turn state, usage, and typed events.

The same events feed the callbacks (``on_connect=...``) and the async iterator
(``async for event in session.events()``); pick whichever style you prefer.

Example::

    async for event in session.events():
        match event:
            case MessageReceived(message=msg) if msg.server_content:
                print(extract_text(msg) or "", end="")
            case Disconnected(code=code, will_retry=True):
                print("reconnecting after", code)
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

from livesvc.session._close_codes import CloseClass
from livesvc.tools import ToolOutcome
from livesvc.wire import ServerMessage, ToolCall, UsageMetadata, VoiceActivity

__all__ = [
    "Closed",
    "Connected",
    "ContextLost",
    "InteractionStatusChanged",
    "Disconnected",
    "ErrorOccurred",
    "GoAwayReceived",
    "MessageReceived",
    "SessionEvent",
    "SessionResumptionUpdated",
    "SessionStatus",
    "ToolCallCancelled",
    "ToolCallFinished",
    "ToolCallReceived",
    "TranscriptionReceived",
    "TurnState",
    "Usage",
    "VoiceActivityDetected",
    "extract_text",
]


class SessionStatus(enum.Enum):
    """Where a session is in its life.

    ::

        DISCONNECTED --connect--> CONNECTING --setupComplete--> CONNECTED
        CONNECTED --drop / goAway handover--> RECONNECTING --resumed--> CONNECTED
        CONNECTING / RECONNECTING --fatal close, auth, retries exhausted--> FAILED
        any live state --close()--> CLOSING --> CLOSED
    """

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSING = "closing"
    CLOSED = "closed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        """Whether the session can never send again."""
        return self in (SessionStatus.CLOSED, SessionStatus.FAILED)


class TurnState(msgspec.Struct, frozen=True, kw_only=True):
    """The conversation's turn state, as the server last reported it.

    Attributes:
        generating: the model is producing a reply (or one is expected).
        interrupted: the last reply was cut off by user activity.
        generation_complete: the model finished generating the current reply.
        turn_complete: the last reply is complete and the interaction is over;
            the model waits for input.
        turns_completed: turns (interactions) completed over the session's life.
        pending_tool_calls: tool calls the model waits for.
        interaction_status: the last ``interactionStatus`` the server sent
            (``"IN_PROGRESS"``, ``"IDLE"``; ``None`` for models that send none).
        in_progress: the server still works on the interaction (Gemini 3.8:
            background reasoning or tool calls after a ``turnComplete``).
        utterances_completed: ``turnComplete`` messages over the session's life
            (several per interaction on Gemini 3.8; one per turn before).
    """

    generating: bool = False
    interrupted: bool = False
    generation_complete: bool = False
    turn_complete: bool = False
    turns_completed: int = 0
    pending_tool_calls: int = 0
    interaction_status: str | None = None
    in_progress: bool = False
    utterances_completed: int = 0


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Token usage, with the Gemini API and Vertex spellings merged.

    The Gemini API reports output as ``responseTokenCount``; Vertex as
    ``candidatesTokenCount``. Both land in :attr:`output_tokens`.
    """

    prompt_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    thoughts_tokens: int | None = None
    tool_use_prompt_tokens: int | None = None
    output_by_modality: dict[str, int] = {}
    prompt_by_modality: dict[str, int] = {}

    @classmethod
    def from_wire(cls, usage: UsageMetadata) -> Usage:
        """Normalize a wire ``UsageMetadata`` from either backend."""
        return cls(
            prompt_tokens=usage.prompt_token_count,
            output_tokens=usage.output_token_count,
            total_tokens=usage.total_token_count,
            cached_tokens=usage.cached_content_token_count,
            thoughts_tokens=usage.thoughts_token_count,
            tool_use_prompt_tokens=usage.tool_use_prompt_token_count,
            output_by_modality={
                d.modality: d.token_count or 0
                for d in usage.output_tokens_details or ()
                if d.modality
            },
            prompt_by_modality={
                d.modality: d.token_count or 0
                for d in usage.prompt_tokens_details or ()
                if d.modality
            },
        )


def extract_text(message: ServerMessage | Any) -> str | None:
    """The text of a server message, falling back to the output transcription.

    Joins the non-thought text parts of ``serverContent.modelTurn``; when there
    are none (audio-only models), returns ``outputTranscription.text``. ``None``
    when neither has text. Accepts a ``ServerMessage`` or a ``ServerContent``.

    >>> from livesvc.wire import ServerContent, Transcription
    >>> extract_text(ServerMessage(server_content=ServerContent(output_transcription=Transcription(text="hi"))))
    'hi'
    """
    content = message.server_content if isinstance(message, ServerMessage) else message
    if content is None:
        return None
    turn = getattr(content, "model_turn", None)
    texts = (
        [p.text for p in (turn.parts or ()) if p.text and not p.thought] if turn is not None else []
    )
    if texts:
        return "".join(texts)
    transcription = getattr(content, "output_transcription", None)
    if transcription is not None and transcription.text:
        return str(transcription.text)
    return None


class _Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every session event; ``at`` is the trio clock time it happened."""

    at: float = 0.0


class Connected(_Event, frozen=True, kw_only=True):
    """A connection is set up (``setupComplete`` received).

    ``resumed`` is true when it continued the previous server session by handle;
    ``connection`` counts connections over the session's life (1, 2, ...).
    """

    session_id: str | None = None
    resumed: bool = False
    connection: int = 1


class Disconnected(_Event, frozen=True, kw_only=True):
    """A connection ended. ``will_retry`` says whether the session dials again."""

    code: int | None = None
    reason: str = ""
    close_class: CloseClass | None = None
    will_retry: bool = False
    connection: int = 1


class ContextLost(_Event, frozen=True, kw_only=True):
    """A new server session replaced the old one: the server-side context is gone.

    Happens when resumption is off, no handle was received yet, or a resume was
    refused. What the session did about it is ``outcome`` (the ``context_loss``
    option): ``"reseeded"`` (the new session got the transcript as history,
    ``restored`` turns of it), ``"continued"`` (an empty context, announced),
    or ``"failed"`` (the session ends with ``ContextLostError``). ``dropped``
    counts messages the old session had received that are not replayed.
    """

    reason: str = ""
    dropped: int = 0
    outcome: str = "continued"
    restored: int = 0


class InteractionStatusChanged(_Event, frozen=True, kw_only=True):
    """The server reported an ``interactionStatus`` with a ``turnComplete`` (Gemini 3.8).

    ``status`` is ``"IN_PROGRESS"`` after an utterance of a longer interaction
    (the model keeps working: keep listening) and ``"IDLE"`` when the
    interaction is over; ``ended`` says whether the turn ended with it.
    """

    status: str = ""
    ended: bool = False
    utterances: int = 0


class MessageReceived(_Event, frozen=True, kw_only=True):
    """Every decoded server message, in order."""

    message: ServerMessage


class ToolCallReceived(_Event, frozen=True, kw_only=True):
    """The model asks for function calls."""

    call: ToolCall


class ToolCallCancelled(_Event, frozen=True, kw_only=True):
    """The server cancelled earlier tool calls (the user interrupted)."""

    ids: list[str] = []


class ToolCallFinished(_Event, frozen=True, kw_only=True):
    """A tool call the session ran (a registered tool, or ``on_tool_call``) ended.

    ``outcome`` is ``"ok"`` (answered), ``"error"`` (the tool raised, or its
    result could not be encoded), ``"bad_arguments"``, ``"timeout"``, or
    ``"cancelled"`` (the server cancelled it, e.g. the user barged in: no
    response was sent). ``duration_seconds`` runs from the call's arrival
    (waiting for a free slot included) to its end. One event per call; none
    for a call ``on_tool_call`` leaves to ``send_tool_response``, nor for one
    still running when the session closes.
    """

    call_id: str | None = None
    name: str = ""
    outcome: ToolOutcome
    duration_seconds: float = 0.0


class TranscriptionReceived(_Event, frozen=True, kw_only=True):
    """A piece of input (user) or output (model) audio transcription."""

    direction: str  # "input" | "output"
    text: str = ""
    finished: bool | None = None


class VoiceActivityDetected(_Event, frozen=True, kw_only=True):
    """Server voice activity (``ACTIVITY_START`` / ``ACTIVITY_END``, or a VAD signal)."""

    kind: str = ""
    activity: VoiceActivity | None = None


class SessionResumptionUpdated(_Event, frozen=True, kw_only=True):
    """A new resumable handle: persist it to resume after a process restart."""

    handle: str
    resumable: bool = True


class GoAwayReceived(_Event, frozen=True, kw_only=True):
    """The server will close this connection within ``time_left`` seconds.

    The session hands over by itself; this is for information.
    """

    time_left: float | None = None
    handle: str | None = None


class ErrorOccurred(_Event, frozen=True, kw_only=True):
    """Something went wrong that the session survived (or, if ``fatal``, did not)."""

    error: Exception
    fatal: bool = False


class Closed(_Event, frozen=True, kw_only=True):
    """The session ended (closed by its owner, or failed). The last event."""

    status: SessionStatus
    reason: str = ""


SessionEvent = (
    Connected
    | Disconnected
    | ContextLost
    | InteractionStatusChanged
    | MessageReceived
    | ToolCallReceived
    | ToolCallCancelled
    | ToolCallFinished
    | TranscriptionReceived
    | VoiceActivityDetected
    | SessionResumptionUpdated
    | GoAwayReceived
    | ErrorOccurred
    | Closed
)
