"""The ``setup`` message: the first client frame, configuring the whole session."""

from typing import Any

from livesvc.wire._base import Base64Bytes, Int64, WireStruct
from livesvc.wire._content import Content

__all__ = [
    "AudioTranscriptionConfig",
    "AutomaticActivityDetection",
    "AvatarConfig",
    "ContextWindowCompressionConfig",
    "CustomizedAvatar",
    "FunctionCallingConfig",
    "FunctionDeclaration",
    "GenerationConfig",
    "HistoryConfig",
    "LatLng",
    "PrebuiltVoiceConfig",
    "ProactivityConfig",
    "RealtimeInputConfig",
    "ReplicatedVoiceConfig",
    "RetrievalConfig",
    "SafetySetting",
    "SessionResumptionConfig",
    "Setup",
    "SlidingWindow",
    "SpeechConfig",
    "ThinkingConfig",
    "Tool",
    "ToolConfig",
    "TranslationConfig",
    "VoiceConfig",
    "VoiceConsentSignature",
]


class PrebuiltVoiceConfig(WireStruct, kw_only=True):
    """A stock voice by name (e.g. ``"Kore"``)."""

    voice_name: str | None = None


class VoiceConsentSignature(WireStruct, kw_only=True):
    """The server's signature over a replicated voice's consent audio."""

    signature: str | None = None


class ReplicatedVoiceConfig(WireStruct, kw_only=True):
    """A voice cloned from a sample, with the speaker's consent."""

    mime_type: str | None = None
    voice_sample_audio: Base64Bytes | None = None
    consent_audio: Base64Bytes | None = None
    voice_consent_signature: VoiceConsentSignature | None = None


class VoiceConfig(WireStruct, kw_only=True):
    """Which voice the model speaks with."""

    prebuilt_voice_config: PrebuiltVoiceConfig | None = None
    replicated_voice_config: ReplicatedVoiceConfig | None = None
    voice: str | None = None


class SpeechConfig(WireStruct, kw_only=True):
    """Voice and language of generated speech."""

    voice_config: VoiceConfig | None = None
    language_code: str | None = None
    multi_speaker_voice_config: dict[str, Any] | None = None


class ThinkingConfig(WireStruct, kw_only=True):
    """Thinking budget (2.5 models) or level (``MINIMAL``..``HIGH``, 3.x models)."""

    include_thoughts: bool | None = None
    thinking_budget: int | None = None
    thinking_level: str | None = None


class TranslationConfig(WireStruct, kw_only=True):
    """Speech-to-speech translation target."""

    target_language_code: str | None = None
    echo_target_language: bool | None = None


class AudioTranscriptionConfig(WireStruct, kw_only=True):
    """Enables input or output transcription; ``AudioTranscriptionConfig()`` is ``{}``."""

    language_codes: list[str] | None = None
    custom_vocabulary: list[str] | None = None
    word_timestamp: bool | None = None
    diarization: bool | None = None
    mode: str | None = None
    source_text: str | None = None
    language_auto: dict[str, Any] | None = None
    language_hints: dict[str, Any] | None = None
    adaptation_phrases: list[str] | None = None


class GenerationConfig(WireStruct, kw_only=True):
    """How the model generates: modalities, sampling, speech, thinking, translation."""

    response_modalities: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: float | None = None
    max_output_tokens: int | None = None
    seed: int | None = None
    candidate_count: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    stop_sequences: list[str] | None = None
    media_resolution: str | None = None
    speech_config: SpeechConfig | None = None
    thinking_config: ThinkingConfig | None = None
    enable_affective_dialog: bool | None = None
    translation_config: TranslationConfig | None = None
    audio_transcription_config: AudioTranscriptionConfig | None = None
    response_mime_type: str | None = None
    response_schema: dict[str, Any] | None = None
    response_json_schema: Any = None
    response_logprobs: bool | None = None
    logprobs: int | None = None
    audio_timestamp: bool | None = None
    routing_config: dict[str, Any] | None = None
    model_selection_config: dict[str, Any] | None = None
    enable_enhanced_civic_answers: bool | None = None
    response_format: list[Any] | None = None


class FunctionDeclaration(WireStruct, kw_only=True):
    """A function the model may call; schemas are free-form JSON.

    ``behavior`` is ``BLOCKING`` (default) or ``NON_BLOCKING`` (the model keeps
    talking while the call runs).
    """

    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    parameters_json_schema: Any = None
    response: dict[str, Any] | None = None
    response_json_schema: Any = None
    behavior: str | None = None


class Tool(WireStruct, kw_only=True):
    """One tool entry; built-in tools carry their (mostly empty) config as JSON."""

    function_declarations: list[FunctionDeclaration] | None = None
    google_search: dict[str, Any] | None = None
    google_search_retrieval: dict[str, Any] | None = None
    code_execution: dict[str, Any] | None = None
    url_context: dict[str, Any] | None = None
    google_maps: dict[str, Any] | None = None
    computer_use: dict[str, Any] | None = None
    file_search: dict[str, Any] | None = None
    retrieval: dict[str, Any] | None = None
    enterprise_web_search: dict[str, Any] | None = None
    parallel_ai_search: dict[str, Any] | None = None
    exa_ai_search: dict[str, Any] | None = None
    mcp_servers: list[dict[str, Any]] | None = None


class FunctionCallingConfig(WireStruct, kw_only=True):
    """Function-calling mode (``AUTO`` / ``ANY`` / ``NONE`` / ``VALIDATED``)."""

    mode: str | None = None
    allowed_function_names: list[str] | None = None
    stream_function_call_arguments: bool | None = None


class LatLng(WireStruct, kw_only=True):
    """A point on Earth, in degrees."""

    latitude: float | None = None
    longitude: float | None = None


class RetrievalConfig(WireStruct, kw_only=True):
    """Context for retrieval tools (location, language)."""

    lat_lng: LatLng | None = None
    language_code: str | None = None


class ToolConfig(WireStruct, kw_only=True):
    """Configuration shared by all tools."""

    function_calling_config: FunctionCallingConfig | None = None
    retrieval_config: RetrievalConfig | None = None
    include_server_side_tool_invocations: bool | None = None


class AutomaticActivityDetection(WireStruct, kw_only=True):
    """Server-side voice activity detection; ``disabled=True`` means the client
    sends ``activityStart`` / ``activityEnd`` itself."""

    disabled: bool | None = None
    start_of_speech_sensitivity: str | None = None
    end_of_speech_sensitivity: str | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None


class RealtimeInputConfig(WireStruct, kw_only=True):
    """How realtime input is segmented into turns and whether it interrupts."""

    automatic_activity_detection: AutomaticActivityDetection | None = None
    activity_handling: str | None = None
    turn_coverage: str | None = None
    interim_transcript_timestamp_enabled: bool | None = None


class SessionResumptionConfig(WireStruct, kw_only=True):
    """Asks for resumption handles; ``handle`` resumes an earlier session.

    ``transparent`` (Vertex) makes the server report
    ``lastConsumedClientMessageIndex`` so the client can replay unconsumed input.
    """

    handle: str | None = None
    transparent: bool | None = None


class SlidingWindow(WireStruct, kw_only=True):
    """Compression by dropping the oldest turns down to ``target_tokens``."""

    target_tokens: Int64 | None = None


class ContextWindowCompressionConfig(WireStruct, kw_only=True):
    """Compress the context once it exceeds ``trigger_tokens``."""

    trigger_tokens: Int64 | None = None
    sliding_window: SlidingWindow | None = None


class ProactivityConfig(WireStruct, kw_only=True):
    """Lets the model decide not to answer, or to speak up unprompted."""

    proactive_audio: bool | None = None
    proactive_video: bool | None = None


class HistoryConfig(WireStruct, kw_only=True):
    """``initial_history_in_client_content``: seed history via ``clientContent``
    until ``turnComplete``, then switch to realtime input."""

    initial_history_in_client_content: bool | None = None


class SafetySetting(WireStruct, kw_only=True):
    """A harm category and its blocking threshold."""

    category: str | None = None
    threshold: str | None = None
    method: str | None = None


class CustomizedAvatar(WireStruct, kw_only=True):
    """A user-supplied avatar image."""

    image_mime_type: str | None = None
    image_data: Base64Bytes | None = None


class AvatarConfig(WireStruct, kw_only=True):
    """A talking-avatar video output."""

    avatar_name: str | None = None
    customized_avatar: CustomizedAvatar | None = None
    audio_bitrate_bps: int | None = None
    video_bitrate_bps: int | None = None


class Setup(WireStruct, kw_only=True):
    """The first client message of a session (``{"setup": {...}}``).

    Example:
        >>> Setup(model="models/gemini-live-2.5-flash-preview",
        ...       generation_config=GenerationConfig(response_modalities=["AUDIO"])).model
        'models/gemini-live-2.5-flash-preview'
    """

    model: str | None = None
    generation_config: GenerationConfig | None = None
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    tool_config: ToolConfig | None = None
    realtime_input_config: RealtimeInputConfig | None = None
    session_resumption: SessionResumptionConfig | None = None
    context_window_compression: ContextWindowCompressionConfig | None = None
    input_audio_transcription: AudioTranscriptionConfig | None = None
    output_audio_transcription: AudioTranscriptionConfig | None = None
    proactivity: ProactivityConfig | None = None
    history_config: HistoryConfig | None = None
    safety_settings: list[SafetySetting] | None = None
    explicit_vad_signal: bool | None = None
    avatar_config: AvatarConfig | None = None
    labels: dict[str, str] | None = None
