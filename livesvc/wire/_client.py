"""Client-to-server messages after ``setup``, and the client frame envelope."""

from livesvc.wire._base import WireStruct
from livesvc.wire._content import Blob, Content, FunctionResponse
from livesvc.wire._setup import Setup, Tool

__all__ = [
    "ActivityEnd",
    "ActivityStart",
    "ClientContent",
    "ClientMessage",
    "ContextUpdate",
    "ContextUpdateTools",
    "RealtimeInput",
    "ToolResponse",
]


class ClientContent(WireStruct, kw_only=True):
    """Turns appended to the conversation, in order; ``turn_complete`` starts generation.

    Example:
        >>> from livesvc.wire import Part
        >>> ClientContent(turns=[Content(role="user", parts=[Part(text="hi")])],
        ...               turn_complete=True).turn_complete
        True
    """

    turns: list[Content] | None = None
    turn_complete: bool | None = None


class ActivityStart(WireStruct, kw_only=True):
    """Marks the start of user activity (manual VAD); encodes as ``{}``."""


class ActivityEnd(WireStruct, kw_only=True):
    """Marks the end of user activity (manual VAD); encodes as ``{}``."""


class RealtimeInput(WireStruct, kw_only=True):
    """Streaming input; the SDK sets exactly one field per message.

    Example:
        >>> RealtimeInput(audio=Blob(data=bytes(640), mime_type="audio/pcm;rate=16000")).audio.mime_type
        'audio/pcm;rate=16000'
    """

    audio: Blob | None = None
    video: Blob | None = None
    media_chunks: list[Blob] | None = None
    text: str | None = None
    activity_start: ActivityStart | None = None
    activity_end: ActivityEnd | None = None
    audio_stream_end: bool | None = None


class ToolResponse(WireStruct, kw_only=True):
    """Results of function calls the server asked for."""

    function_responses: list[FunctionResponse] | None = None


class ContextUpdateTools(WireStruct, kw_only=True):
    """The replacement tool list of a context update; ``tools=[]`` clears all tools."""

    tools: list[Tool] | None = None


class ContextUpdate(WireStruct, kw_only=True):
    """Mid-session replacement of the system instruction and/or the tools."""

    system_instruction: Content | None = None
    tools: ContextUpdateTools | None = None


class ClientMessage(WireStruct, kw_only=True):
    """One client frame; normally exactly one field is set.

    Example:
        >>> ClientMessage(realtime_input=RealtimeInput(text="hello")).realtime_input.text
        'hello'
    """

    setup: Setup | None = None
    client_content: ClientContent | None = None
    realtime_input: RealtimeInput | None = None
    tool_response: ToolResponse | None = None
    context_update: ContextUpdate | None = None
