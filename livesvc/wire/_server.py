"""Server-to-client messages and the server frame envelope."""

from typing import Any

import msgspec

from livesvc.wire._base import Base64Bytes, Int64, WireStruct
from livesvc.wire._content import Content, FunctionCall, Transcription
from livesvc.wire._duration import duration_seconds
from livesvc.wire._setup import VoiceConsentSignature
from livesvc.wire._usage import UsageMetadata

__all__ = [
    "GoAway",
    "GroundingChunk",
    "GroundingChunkImage",
    "GroundingChunkWeb",
    "GroundingMetadata",
    "GroundingSupport",
    "RetrievalMetadata",
    "SearchEntryPoint",
    "Segment",
    "SourceFlaggingUri",
    "ServerContent",
    "ServerMessage",
    "SessionResumptionUpdate",
    "SetupComplete",
    "ToolCall",
    "ToolCallCancellation",
    "UrlContextMetadata",
    "UrlMetadata",
    "VoiceActivity",
    "VoiceActivityDetectionSignal",
]


class SetupComplete(WireStruct, kw_only=True):
    """The server accepted ``setup``; ``SetupComplete()`` encodes as ``{}``."""

    session_id: str | None = None
    voice_consent_signature: VoiceConsentSignature | None = None


class GroundingChunkWeb(WireStruct, kw_only=True):
    """A web page that grounded the answer."""

    uri: str | None = None
    title: str | None = None
    domain: str | None = None


class GroundingChunkImage(WireStruct, kw_only=True):
    """An image that grounded the answer."""

    source_uri: str | None = None
    image_uri: str | None = None
    title: str | None = None
    domain: str | None = None


class GroundingChunk(WireStruct, kw_only=True):
    """One grounding source; retrieval and maps sources stay free-form JSON."""

    web: GroundingChunkWeb | None = None
    image: GroundingChunkImage | None = None
    retrieved_context: dict[str, Any] | None = None
    maps: dict[str, Any] | None = None


class Segment(WireStruct, kw_only=True):
    """A span of the model's answer (byte offsets within one part)."""

    part_index: int | None = None
    start_index: int | None = None
    end_index: int | None = None
    text: str | None = None


class GroundingSupport(WireStruct, kw_only=True):
    """Which grounding chunks support which segment, and how confidently."""

    segment: Segment | None = None
    grounding_chunk_indices: list[int] | None = None
    confidence_scores: list[float] | None = None
    rendered_parts: list[int] | None = None


class SearchEntryPoint(WireStruct, kw_only=True):
    """The Google Search suggestion chip to show with a grounded answer."""

    rendered_content: str | None = None
    sdk_blob: Base64Bytes | None = None


class RetrievalMetadata(WireStruct, kw_only=True):
    """Dynamic-retrieval score of a grounded answer."""

    google_search_dynamic_retrieval_score: float | None = None


class SourceFlaggingUri(WireStruct, kw_only=True):
    """Where to report a grounding source."""

    source_id: str | None = None
    flag_content_uri: str | None = None


class GroundingMetadata(WireStruct, kw_only=True):
    """Search grounding of a model turn."""

    web_search_queries: list[str] | None = None
    image_search_queries: list[str] | None = None
    retrieval_queries: list[str] | None = None
    grounding_chunks: list[GroundingChunk] | None = None
    grounding_supports: list[GroundingSupport] | None = None
    retrieval_metadata: RetrievalMetadata | None = None
    search_entry_point: SearchEntryPoint | None = None
    google_maps_widget_context_token: str | None = None
    source_flagging_uris: list[SourceFlaggingUri] | None = None


class UrlMetadata(WireStruct, kw_only=True):
    """One URL the url-context tool fetched, and how that went."""

    retrieved_url: str | None = None
    url_retrieval_status: str | None = None


class UrlContextMetadata(WireStruct, kw_only=True):
    """URLs the url-context tool fetched for this turn."""

    url_metadata: list[UrlMetadata] | None = None


class ServerContent(WireStruct, kw_only=True):
    """Model output and turn boundaries.

    ``interrupted`` means client activity cut generation (drop queued playback);
    ``generation_complete`` may come before ``turn_complete``.

    Example:
        >>> from livesvc.wire import Blob, Part
        >>> sc = ServerContent(model_turn=Content(parts=[Part(inline_data=Blob(
        ...     data=bytes(960), mime_type="audio/pcm;rate=24000"))]))
        >>> len(sc.model_turn.parts[0].inline_data.data)
        960
    """

    model_turn: Content | None = None
    turn_complete: bool | None = None
    interrupted: bool | None = None
    generation_complete: bool | None = None
    input_transcription: Transcription | None = None
    output_transcription: Transcription | None = None
    interim_input_transcription: Transcription | None = None
    grounding_metadata: GroundingMetadata | None = None
    url_context_metadata: UrlContextMetadata | None = None
    turn_complete_reason: str | None = None
    waiting_for_input: bool | None = None
    interaction_status: str | None = None


class ToolCall(WireStruct, kw_only=True):
    """Functions the client must run and answer with a ``ToolResponse``."""

    function_calls: list[FunctionCall] | None = None


class ToolCallCancellation(WireStruct, kw_only=True):
    """Ids of earlier tool calls the client should cancel (the user interrupted)."""

    ids: list[str] | None = None


class GoAway(WireStruct, kw_only=True):
    """The server will close the connection soon; ``time_left`` is a Duration string.

    Example:
        >>> GoAway(time_left="10s").time_left_seconds
        10.0
    """

    time_left: str | None = None

    @property
    def time_left_seconds(self) -> float | None:
        """``time_left`` in seconds, or None if absent or malformed."""
        return duration_seconds(self.time_left)


class SessionResumptionUpdate(WireStruct, kw_only=True):
    """A new resumption handle; ``new_handle`` is empty while not ``resumable``.

    ``last_consumed_client_message_index`` (int64, a JSON string on the wire) comes
    only with transparent resumption.
    """

    new_handle: str | None = None
    resumable: bool | None = None
    last_consumed_client_message_index: Int64 | None = None


class VoiceActivity(WireStruct, kw_only=True):
    """Server VAD event (``ACTIVITY_START`` / ``ACTIVITY_END``); the wire key is ``type``."""

    voice_activity_type: str | None = msgspec.field(default=None, name="type")
    audio_offset: str | None = None

    @property
    def audio_offset_seconds(self) -> float | None:
        """``audio_offset`` in seconds, or None if absent or malformed."""
        return duration_seconds(self.audio_offset)


class VoiceActivityDetectionSignal(WireStruct, kw_only=True):
    """Explicit VAD signal (``VAD_SIGNAL_TYPE_SOS`` / ``VAD_SIGNAL_TYPE_EOS``)."""

    vad_signal_type: str | None = None


class ServerMessage(WireStruct, kw_only=True):
    """One server frame; several fields may be set at once.

    Example:
        >>> ServerMessage(server_content=ServerContent(turn_complete=True)).server_content.turn_complete
        True
    """

    setup_complete: SetupComplete | None = None
    server_content: ServerContent | None = None
    tool_call: ToolCall | None = None
    tool_call_cancellation: ToolCallCancellation | None = None
    go_away: GoAway | None = None
    session_resumption_update: SessionResumptionUpdate | None = None
    voice_activity: VoiceActivity | None = None
    voice_activity_detection_signal: VoiceActivityDetectionSignal | None = None
    usage_metadata: UsageMetadata | None = None
