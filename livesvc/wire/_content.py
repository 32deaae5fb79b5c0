"""Content and its parts: what a turn, a system instruction or a tool result carries."""

from typing import Any

from livesvc.wire._base import Base64Bytes, WireStruct

__all__ = [
    "Blob",
    "CodeExecutionResult",
    "Content",
    "ExecutableCode",
    "FileData",
    "FunctionCall",
    "FunctionResponse",
    "FunctionResponsePart",
    "PartialArg",
    "Part",
    "PartMediaResolution",
    "Transcription",
    "VideoMetadata",
    "WordInfo",
]


class Blob(WireStruct, kw_only=True):
    """Inline media: raw bytes (base64 only on the wire) and their MIME type.

    Example:
        >>> Blob(data=b"\\x00\\x01", mime_type="audio/pcm;rate=16000").mime_type
        'audio/pcm;rate=16000'
    """

    data: Base64Bytes | None = None
    mime_type: str | None = None
    display_name: str | None = None


class FileData(WireStruct, kw_only=True):
    """A reference to a stored file by URI."""

    file_uri: str | None = None
    mime_type: str | None = None
    display_name: str | None = None


class VideoMetadata(WireStruct, kw_only=True):
    """Clip bounds (proto Duration strings such as ``"1.5s"``) and frame rate."""

    start_offset: str | None = None
    end_offset: str | None = None
    fps: float | None = None
    content_layers: list[dict[str, Any]] | None = None


class PartMediaResolution(WireStruct, kw_only=True):
    """Per-part media resolution: a ``MEDIA_RESOLUTION_*`` level or a token budget."""

    level: str | None = None
    num_tokens: int | None = None


class PartialArg(WireStruct, kw_only=True):
    """One streamed piece of a function call's arguments."""

    json_path: str | None = None
    string_value: str | None = None
    number_value: float | None = None
    bool_value: bool | None = None
    null_value: str | None = None
    will_continue: bool | None = None


class FunctionCall(WireStruct, kw_only=True):
    """A function the model asks the client to run; ``args`` is free-form JSON."""

    id: str | None = None
    name: str | None = None
    args: dict[str, Any] | None = None
    partial_args: list[PartialArg] | None = None
    will_continue: bool | None = None


class FunctionResponsePart(WireStruct, kw_only=True):
    """A multimodal piece of a function response."""

    inline_data: Blob | None = None
    file_data: FileData | None = None
    media_resolution: PartMediaResolution | None = None
    video_metadata: VideoMetadata | None = None
    media_processing: dict[str, Any] | None = None
    document_metadata: dict[str, Any] | None = None
    spreadsheet_metadata: dict[str, Any] | None = None
    audio_metadata: dict[str, Any] | None = None


class FunctionResponse(WireStruct, kw_only=True):
    """The client's result for one :class:`FunctionCall` (matched by ``id``).

    ``scheduling`` (``SILENT`` / ``WHEN_IDLE`` / ``INTERRUPT``) and ``will_continue``
    apply to ``NON_BLOCKING`` functions.
    """

    id: str | None = None
    name: str | None = None
    response: dict[str, Any] | None = None
    scheduling: str | None = None
    will_continue: bool | None = None
    parts: list[FunctionResponsePart] | None = None


class ExecutableCode(WireStruct, kw_only=True):
    """Code the model generated for the code-execution tool."""

    code: str | None = None
    language: str | None = None
    id: str | None = None


class CodeExecutionResult(WireStruct, kw_only=True):
    """The outcome of running :class:`ExecutableCode`."""

    outcome: str | None = None
    output: str | None = None
    id: str | None = None


class WordInfo(WireStruct, kw_only=True):
    """A transcribed word with its offsets (proto Duration strings)."""

    word: str | None = None
    start_offset: str | None = None
    end_offset: str | None = None


class Transcription(WireStruct, kw_only=True):
    """Input or output audio transcription text."""

    text: str | None = None
    finished: bool | None = None
    language_code: str | None = None
    speaker_label: str | None = None
    words: list[WordInfo] | None = None
    start_offset: str | None = None
    end_offset: str | None = None


class Part(WireStruct, kw_only=True):
    """One part of a :class:`Content`; normally exactly one kind is set.

    Example:
        >>> Part(text="hello").text
        'hello'
    """

    text: str | None = None
    inline_data: Blob | None = None
    file_data: FileData | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    executable_code: ExecutableCode | None = None
    code_execution_result: CodeExecutionResult | None = None
    thought: bool | None = None
    thought_signature: Base64Bytes | None = None
    video_metadata: VideoMetadata | None = None
    media_resolution: PartMediaResolution | None = None
    audio_transcription: Transcription | None = None
    tool_call: dict[str, Any] | None = None
    tool_response: dict[str, Any] | None = None
    part_metadata: dict[str, Any] | None = None
    media_processing: dict[str, Any] | None = None
    speech_metadata: dict[str, Any] | None = None
    document_metadata: dict[str, Any] | None = None
    spreadsheet_metadata: dict[str, Any] | None = None
    audio_metadata: dict[str, Any] | None = None


class Content(WireStruct, kw_only=True):
    """A turn: a role (``user`` / ``model``) and its parts.

    Example:
        >>> Content(role="user", parts=[Part(text="hi")]).parts[0].text
        'hi'
    """

    role: str | None = None
    parts: list[Part] | None = None
