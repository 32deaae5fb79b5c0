"""Every option of a Live session, in one frozen value.

Options mirror the seeds' ``start_link`` (``gemini_ex-inventory.md`` §1.1) with
Python names. Nested wire configs accept either the ``livesvc.wire`` struct or
a plain dict in snake_case or camelCase; flat shortcuts (``temperature=``,
``voice=``) override the matching field of ``generation_config``.

Example::

    config = SessionConfig(
        model="gemini-2.5-flash-native-audio-latest",
        api_key="...",
        response_modalities=["AUDIO"],
        voice="Kore",
        system_instruction="You are terse.",
        output_audio_transcription=True,
    )
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from livesvc.auth import ApiKey, Auth, VertexAI
from livesvc.session._errors import SessionConfigError
from livesvc.session._policy import KeepalivePolicy, ReconnectPolicy
from livesvc.wire import (
    AudioTranscriptionConfig,
    Content,
    ContextWindowCompressionConfig,
    GenerationConfig,
    ProactivityConfig,
    RealtimeInputConfig,
    SafetySetting,
    SessionResumptionConfig,
    Setup,
    SpeechConfig,
    ThinkingConfig,
    ToolConfig,
)

__all__ = ["CONTEXT_LOSS_POLICIES", "SessionConfig", "coerce", "resolve_auth"]

# What a session does when its server-side conversation is lost (docs/sessions.md).
CONTEXT_LOSS_POLICIES = ("fail", "reseed", "continue")

T = TypeVar("T")


def coerce(value: Any, kind: type[T], field_name: str) -> T:
    """``value`` as a ``kind`` wire struct; a dict is converted (either key casing).

    Raises:
        SessionConfigError: the dict does not fit ``kind``; the message names the field.
    """
    if isinstance(value, kind):
        return value
    if isinstance(value, dict):
        try:
            return msgspec.convert(value, kind, strict=False)
        except msgspec.ValidationError as exc:
            raise SessionConfigError(f"{field_name}: {exc}", field=field_name) from None
    raise SessionConfigError(
        f"{field_name}: expected {kind.__name__} or dict, got {type(value).__name__}",
        field=field_name,
    )


@dataclass(frozen=True, kw_only=True)
class SessionConfig:
    """The options of one Live session. See ``docs/sessions.md`` for each one.

    Credentials (first match wins): ``auth``; ``api_key`` (a per-session Gemini
    key); ``project``/``location`` (Vertex AI with ADC); ``GEMINI_API_KEY`` /
    ``GOOGLE_API_KEY`` from the environment.
    """

    model: str
    # Credentials and endpoint.
    auth: Auth | None = None
    api_key: str | None = None
    project: str | None = None
    location: str | None = None
    api_version: str | None = None
    base_url: str | None = None
    ssl_context: ssl.SSLContext | None = None
    # Generation.
    generation_config: GenerationConfig | dict[str, Any] | None = None
    response_modalities: Sequence[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: float | None = None
    max_output_tokens: int | None = None
    seed: int | None = None
    media_resolution: str | None = None
    voice: str | None = None
    language_code: str | None = None
    speech_config: SpeechConfig | dict[str, Any] | None = None
    thinking_config: ThinkingConfig | dict[str, Any] | None = None
    thinking_budget: int | None = None
    thinking_level: str | None = None
    include_thoughts: bool | None = None
    enable_affective_dialog: bool | None = None
    # Instructions and tools.
    system_instruction: str | Content | dict[str, Any] | None = None
    tools: Sequence[Any] = ()
    tool_config: ToolConfig | dict[str, Any] | None = None
    # Realtime input, resumption, context, transcription.
    realtime_input_config: RealtimeInputConfig | dict[str, Any] | None = None
    session_resumption: bool | SessionResumptionConfig | dict[str, Any] = True
    transparent_resumption: bool = False
    resume_handle: str | None = None
    context_loss: str = "reseed"
    transcript_max_turns: int = 200
    transcript_max_bytes: int = 256 * 2**10
    context_window_compression: ContextWindowCompressionConfig | dict[str, Any] | None = None
    input_audio_transcription: bool | AudioTranscriptionConfig | dict[str, Any] = False
    output_audio_transcription: bool | AudioTranscriptionConfig | dict[str, Any] = False
    proactivity: bool | ProactivityConfig | dict[str, Any] | None = None
    safety_settings: Sequence[SafetySetting | dict[str, Any]] = ()
    explicit_vad_signal: bool | None = None
    setup_overrides: Setup | dict[str, Any] | None = None
    # Tool execution.
    tool_timeout: float = 30.0
    max_concurrent_tools: int = 8
    # Robustness.
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    keepalive: KeepalivePolicy = field(default_factory=KeepalivePolicy)
    media_buffer_seconds: float = 5.0
    media_buffer_frames: int = 10
    ledger_max_entries: int | None = 10_000
    ledger_max_bytes: int | None = 64 * 2**20
    event_buffer: int = 1024
    callback_timeout: float | None = None
    max_message_size: int = 16 * 2**20
    random_seed: int | None = None
    dial: Callable[..., Any] | None = field(default=None, repr=False)

    @property
    def resumption_enabled(self) -> bool:
        """Whether the session asks the server for resumption handles."""
        return self.session_resumption is not False


def resolve_auth(config: SessionConfig) -> Auth:
    """Pick the credential for ``config``.

    Raises:
        SessionConfigError: conflicting credential options, or none at all.
    """
    given = [name for name in ("auth", "api_key", "project") if getattr(config, name)]
    if len(given) > 1 and not (given == ["api_key", "project"]):
        raise SessionConfigError(f"give one credential, not {' and '.join(given)}", field=given[0])
    if config.auth is not None:
        if not isinstance(config.auth, Auth):
            raise SessionConfigError("auth must implement livesvc.auth.Auth", field="auth")
        return config.auth
    if config.api_key is not None:
        try:
            return ApiKey(config.api_key)
        except ValueError as exc:
            raise SessionConfigError(str(exc), field="api_key") from None
    if config.project is not None:
        return VertexAI(project=config.project, location=config.location)
    from_env = ApiKey.from_env()
    if from_env is not None:
        return from_env
    raise SessionConfigError(
        "no credentials: pass api_key=, auth= or project= (Vertex AI), or set GEMINI_API_KEY",
        field="auth",
    )
