"""Validate a session's options locally and build its ``setup`` message.

Everything Google would reject with an opaque close (1007, 1008, 1011), and
that can be known before dialling, is checked here with a precise
:class:`~livesvc.session.SessionConfigError` naming the option: TEXT on an audio-only
model, two response modalities, NON_BLOCKING where the model or backend lacks
it, ``transparent`` resumption on the Gemini API, a thinking knob the model does
not have, out-of-range sampling, misspelled enum values, duplicate tools.

Gemini 3.8 rules (``live-3.8.md`` §2, §4), checked on the final setup so that
``setup_overrides`` cannot slip past them:

- ``gemini-3.8-live``: no ``thinkingConfig`` at all; on the Gemini API no
  ``proactivity.proactiveAudio: false`` (it is always on) and no
  ``enableAffectiveDialog`` (Vertex AI keeps both); AUDIO answers only (plus
  ``VIDEO`` avatars on Vertex AI).
- ``gemini-3.8-live-extended-thinking``: ``thinkingLevel`` LOW, MEDIUM or HIGH
  (``LOW`` is filled in when none is given, since the server has no default);
  no thinking budget; no ``BLOCKING`` function.
- On both, a function declared without ``behavior`` is NON_BLOCKING: its
  calls run concurrently and are answered one by one.

Example::

    prepared = prepare(SessionConfig(model="gemini-3.1-flash-live-preview", api_key="k"))
    prepared.setup_with_handle("h1").session_resumption.handle    # 'h1'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from livesvc.auth import Auth, Backend, EphemeralToken, ws_base
from livesvc.logs import get_logger
from livesvc.models import ModelCapabilities, TextInput, ThinkingKnob, capabilities
from livesvc.session._config import CONTEXT_LOSS_POLICIES, SessionConfig, coerce, resolve_auth
from livesvc.session._errors import SessionConfigError
from livesvc.tools import ToolSpec
from livesvc.wire import (
    ActivityHandling,
    AudioTranscriptionConfig,
    Behavior,
    Content,
    ContextWindowCompressionConfig,
    EndSensitivity,
    FunctionDeclaration,
    GenerationConfig,
    HistoryConfig,
    MediaResolution,
    Part,
    PrebuiltVoiceConfig,
    ProactivityConfig,
    RealtimeInputConfig,
    SafetySetting,
    SessionResumptionConfig,
    Setup,
    SlidingWindow,
    SpeechConfig,
    StartSensitivity,
    ThinkingConfig,
    ThinkingLevel,
    Tool,
    ToolConfig,
    TurnCoverage,
    VoiceConfig,
)

__all__ = ["PreparedSession", "prepare"]

log = get_logger(__name__)

_MODALITIES = ("TEXT", "AUDIO")
_VERTEX_MODALITIES = ("TEXT", "AUDIO", "VIDEO")  # VIDEO: 3.8 Live avatars on Vertex AI
_THINKING_LEVELS = (
    ThinkingLevel.MINIMAL,
    ThinkingLevel.LOW,
    ThinkingLevel.MEDIUM,
    ThinkingLevel.HIGH,
)
_START = (StartSensitivity.UNSPECIFIED, StartSensitivity.HIGH, StartSensitivity.LOW)
_END = (EndSensitivity.UNSPECIFIED, EndSensitivity.HIGH, EndSensitivity.LOW)
_HANDLING = (
    ActivityHandling.UNSPECIFIED,
    ActivityHandling.START_OF_ACTIVITY_INTERRUPTS,
    ActivityHandling.NO_INTERRUPTION,
)
_COVERAGE = (
    TurnCoverage.UNSPECIFIED,
    TurnCoverage.TURN_INCLUDES_ONLY_ACTIVITY,
    TurnCoverage.TURN_INCLUDES_ALL_INPUT,
    TurnCoverage.TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO,
)
_RESOLUTIONS = (
    MediaResolution.UNSPECIFIED,
    MediaResolution.LOW,
    MediaResolution.MEDIUM,
    MediaResolution.HIGH,
)
_CALLING_MODES = ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED")


@dataclass(frozen=True)
class PreparedSession:
    """A validated configuration, ready to dial.

    Attributes:
        config: the options as given.
        auth: the credential chosen for them.
        capabilities: the model's registry entry (``None`` for unknown models).
        text_input: how :meth:`Session.send_text` sends text.
        setup: the setup message without a resumption handle.
        tools: registered Python tools by name.
        non_blocking: names of functions that are ``NON_BLOCKING`` (declared so, or
            declared without ``behavior`` on a model where that is the default).
        manual_activity: automatic activity detection is off (client sends activityStart/End).
    """

    config: SessionConfig
    auth: Auth
    capabilities: ModelCapabilities | None
    text_input: TextInput
    setup: Setup
    tools: dict[str, ToolSpec]
    non_blocking: frozenset[str]
    manual_activity: bool

    @property
    def backend(self) -> Backend:
        """Gemini API or Vertex AI."""
        return self.auth.backend

    @property
    def informative_tool_errors(self) -> bool:
        """Whether tool failures are answered with ``status`` / ``retryable`` payloads (3.8)."""
        return self.capabilities is not None and self.capabilities.informative_tool_errors

    @property
    def resumption(self) -> bool:
        """Whether the setup asks for resumption handles."""
        return self.setup.session_resumption is not None

    @property
    def transparent(self) -> bool:
        """Whether transparent resumption (``lastConsumedClientMessageIndex``) is on."""
        sr = self.setup.session_resumption
        return bool(sr is not None and sr.transparent)

    def setup_with_handle(self, handle: str | None, *, seeded: bool = False) -> Setup:
        """The setup to send on a dial: resuming ``handle`` if one is given.

        ``seeded``: the dial starts with the conversation's history in
        ``clientContent`` (a reseed after the context was lost). On the Gemini API
        that needs ``historyConfig``; Vertex AI takes such turns without it.
        """
        setup = self.setup
        if seeded and self.backend is not Backend.VERTEX:
            setup = msgspec.structs.replace(
                setup, history_config=HistoryConfig(initial_history_in_client_content=True)
            )
        sr = setup.session_resumption
        if sr is None:
            return setup
        return msgspec.structs.replace(
            setup, session_resumption=msgspec.structs.replace(sr, handle=handle)
        )


def _fail(field: str, message: str) -> SessionConfigError:
    return SessionConfigError(f"{field}: {message}", field=field)


def _enum(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    upper = value.upper()
    if upper not in allowed:
        raise _fail(field, f"{value!r} is not one of {', '.join(allowed)}")
    return upper


def _in_range(field: str, value: float | None, low: float, high: float | None = None) -> None:
    if value is None:
        return
    if not value >= low or (high is not None and not value <= high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise _fail(field, f"{value!r} is out of range {bound}")


def prepare(config: SessionConfig) -> PreparedSession:
    """Validate ``config`` and build its setup; no I/O happens here.

    Raises:
        SessionConfigError: an option the server would reject, named precisely.
    """
    model = (config.model or "").strip()
    if not model:
        raise _fail("model", "a model name is required")
    if ".." in model or "?" in model or "&" in model:
        raise _fail("model", f"invalid model name {model!r}")
    auth = resolve_auth(config)
    backend = auth.backend
    caps = capabilities(model)
    if caps is not None and backend not in caps.backends:
        where = "Vertex AI" if backend is Backend.VERTEX else "the Gemini API"
        raise _fail("model", f"{caps.name} is not served on {where}")
    if config.base_url is not None:
        try:
            ws_base(config.base_url)
        except ValueError as exc:
            raise _fail("base_url", str(exc)) from None
    _check_runtime_options(config)

    generation = _generation_config(config, caps, backend)
    tools, specs, non_blocking = _tools(config, caps, backend)
    realtime = _realtime_input_config(config)
    resumption = _session_resumption(config, backend)
    setup = Setup(
        model=auth.model_name(model),
        generation_config=generation,
        system_instruction=_system_instruction(config),
        tools=tools or None,
        tool_config=_tool_config(config),
        realtime_input_config=realtime,
        session_resumption=resumption,
        context_window_compression=_compression(config),
        input_audio_transcription=_transcription(
            config.input_audio_transcription, "input_audio_transcription"
        ),
        output_audio_transcription=_transcription(
            config.output_audio_transcription, "output_audio_transcription"
        ),
        proactivity=_proactivity(config, caps),
        safety_settings=[
            coerce(s, SafetySetting, "safety_settings") for s in config.safety_settings
        ]
        or None,
        explicit_vad_signal=_explicit_vad(config, backend),
    )
    if config.setup_overrides is not None:
        overrides = coerce(config.setup_overrides, Setup, "setup_overrides")
        changes = {
            name: getattr(overrides, name)
            for name in Setup.__struct_fields__
            if not name.endswith("_") and getattr(overrides, name) is not None
        }
        setup = msgspec.structs.replace(setup, **changes)
    if caps is not None:
        setup = _apply_model_rules(setup, caps, backend)
    _advise_api_version(config, auth, setup)
    aad = realtime.automatic_activity_detection if realtime else None
    return PreparedSession(
        config=config,
        auth=auth,
        capabilities=caps,
        text_input=caps.text_input if caps is not None else TextInput.CLIENT_CONTENT,
        setup=setup,
        tools=specs,
        non_blocking=frozenset(non_blocking),
        manual_activity=bool(aad is not None and aad.disabled),
    )


def _check_runtime_options(config: SessionConfig) -> None:
    if not config.tool_timeout > 0:
        raise _fail("tool_timeout", "must be > 0")
    if config.max_concurrent_tools < 1:
        raise _fail("max_concurrent_tools", "must be >= 1")
    if not config.media_buffer_seconds >= 0:
        raise _fail("media_buffer_seconds", "must be >= 0")
    if config.media_buffer_frames < 0:
        raise _fail("media_buffer_frames", "must be >= 0")
    if config.ledger_max_entries is not None and config.ledger_max_entries < 1:
        raise _fail("ledger_max_entries", "must be >= 1 (or None: no bound)")
    if config.ledger_max_bytes is not None and config.ledger_max_bytes < 1:
        raise _fail("ledger_max_bytes", "must be >= 1 (or None: no bound)")
    if config.event_buffer < 1:
        raise _fail("event_buffer", "must be >= 1")
    if config.callback_timeout is not None and not config.callback_timeout > 0:
        raise _fail("callback_timeout", "must be > 0")
    if config.max_message_size < 2**16:
        raise _fail("max_message_size", "must be at least 64 KiB")
    if config.context_loss not in CONTEXT_LOSS_POLICIES:
        raise _fail(
            "context_loss",
            f"{config.context_loss!r} is not one of {', '.join(CONTEXT_LOSS_POLICIES)}",
        )
    if config.transcript_max_turns < 1:
        raise _fail("transcript_max_turns", "must be >= 1")
    if config.transcript_max_bytes < 1:
        raise _fail("transcript_max_bytes", "must be >= 1")


def _generation_config(
    config: SessionConfig, caps: ModelCapabilities | None, backend: Backend
) -> GenerationConfig | None:
    gen = (
        coerce(config.generation_config, GenerationConfig, "generation_config")
        if config.generation_config
        else GenerationConfig()
    )
    flat: dict[str, Any] = {
        name: getattr(config, name)
        for name in (
            "temperature",
            "top_p",
            "top_k",
            "max_output_tokens",
            "seed",
            "media_resolution",
            "enable_affective_dialog",
        )
        if getattr(config, name) is not None
    }
    if config.response_modalities is not None:
        if isinstance(config.response_modalities, str):
            raise _fail("response_modalities", "give a list, e.g. ['AUDIO']")
        flat["response_modalities"] = list(config.response_modalities)
    speech = (
        coerce(config.speech_config, SpeechConfig, "speech_config")
        if config.speech_config
        else gen.speech_config
    )
    if config.voice is not None or config.language_code is not None:
        speech = speech or SpeechConfig()
        if config.voice is not None:
            speech = msgspec.structs.replace(
                speech,
                voice_config=VoiceConfig(
                    prebuilt_voice_config=PrebuiltVoiceConfig(voice_name=config.voice)
                ),
            )
        if config.language_code is not None:
            speech = msgspec.structs.replace(speech, language_code=config.language_code)
    if speech is not None:
        flat["speech_config"] = speech
    thinking = (
        coerce(config.thinking_config, ThinkingConfig, "thinking_config")
        if config.thinking_config
        else gen.thinking_config
    )
    knobs = {
        name: getattr(config, name)
        for name in ("thinking_budget", "thinking_level", "include_thoughts")
        if getattr(config, name) is not None
    }
    if knobs:
        thinking = msgspec.structs.replace(thinking or ThinkingConfig(), **knobs)
    if thinking is not None:
        flat["thinking_config"] = thinking
    gen = msgspec.structs.replace(gen, **flat)

    field = "response_modalities"
    if gen.response_modalities is not None:
        modalities = [str(m).upper() for m in gen.response_modalities]
        known = _VERTEX_MODALITIES if backend is Backend.VERTEX else _MODALITIES
        for m in modalities:
            if m not in known:
                where = " on the Gemini API" if m in _VERTEX_MODALITIES else ""
                raise _fail(
                    field, f"{m!r} is not a Live response modality{where} ({' or '.join(known)})"
                )
        if len(set(modalities)) > 1:
            raise _fail(field, "a Live session answers in one modality; pick TEXT or AUDIO")
        if caps is not None:
            for m in modalities:
                if m not in caps.modalities(backend):
                    allowed = ", ".join(sorted(caps.modalities(backend)))
                    hint = (
                        " (use AUDIO with output_audio_transcription=True for text)"
                        if m == "TEXT"
                        else ""
                    )
                    raise _fail(field, f"{caps.name} answers only in {allowed}, not {m}{hint}")
        gen = msgspec.structs.replace(gen, response_modalities=modalities)
    _in_range("temperature", gen.temperature, 0.0, 2.0)
    _in_range("top_p", gen.top_p, 0.0, 1.0)
    _in_range("top_k", gen.top_k, 1.0)
    _in_range("max_output_tokens", gen.max_output_tokens, 1)
    if gen.media_resolution is not None:
        gen = msgspec.structs.replace(
            gen, media_resolution=_enum("media_resolution", gen.media_resolution, _RESOLUTIONS)
        )
    if gen.speech_config is not None and gen.speech_config.multi_speaker_voice_config is not None:
        raise _fail("speech_config", "multi_speaker_voice_config is not supported by the Live API")
    if gen.thinking_config is not None:
        tc = gen.thinking_config
        if tc.thinking_level is not None:
            tc = msgspec.structs.replace(
                tc, thinking_level=_enum("thinking_level", tc.thinking_level, _THINKING_LEVELS)
            )
            gen = msgspec.structs.replace(gen, thinking_config=tc)
        if tc.thinking_budget is not None and tc.thinking_level is not None:
            raise _fail("thinking_config", "set thinking_budget or thinking_level, not both")
        if caps is not None:
            if caps.thinking is ThinkingKnob.LEVEL and tc.thinking_budget is not None:
                raise _fail(
                    "thinking_budget", f"{caps.name} takes thinking_level, not thinking_budget"
                )
            if caps.thinking is ThinkingKnob.BUDGET and tc.thinking_level is not None:
                raise _fail(
                    "thinking_level", f"{caps.name} takes thinking_budget, not thinking_level"
                )
            if (
                caps.thinking is ThinkingKnob.NONE
                and caps.thinking_config  # else _apply_model_rules says more
                and (tc.thinking_budget or tc.thinking_level)
            ):
                raise _fail("thinking_config", f"{caps.name} does not think")
    if gen.enable_affective_dialog and caps is not None and not caps.affective_dialog:
        raise _fail("enable_affective_dialog", f"{caps.name} has no affective dialog")
    if gen.translation_config is not None and backend is Backend.VERTEX:
        log.warning(
            "session.config_advice",
            field="translation_config",
            advice="older Vertex models reject it",
        )
    return None if gen == GenerationConfig() else gen


def _system_instruction(config: SessionConfig) -> Content | None:
    value = config.system_instruction
    if value is None:
        return None
    if isinstance(value, str):
        return Content(role="user", parts=[Part(text=value)])
    return coerce(value, Content, "system_instruction")


def _tools(
    config: SessionConfig, caps: ModelCapabilities | None, backend: Backend
) -> tuple[list[Tool], dict[str, ToolSpec], set[str]]:
    if isinstance(config.tools, (str, bytes)) or not hasattr(config.tools, "__iter__"):
        raise _fail("tools", "give a list of tools")
    wire_tools: list[Tool] = []
    specs: dict[str, ToolSpec] = {}
    for item in config.tools:
        if isinstance(item, ToolSpec):
            spec = item
        elif isinstance(item, (Tool, dict)):
            wire_tools.append(coerce(item, Tool, "tools"))
            continue
        elif callable(item):
            try:
                spec = ToolSpec(item)
            except ValueError as exc:
                raise _fail("tools", str(exc)) from None
        else:
            raise _fail("tools", f"cannot use {type(item).__name__} as a tool")
        if spec.name in specs:
            raise _fail("tools", f"tool {spec.name!r} is registered twice")
        specs[spec.name] = spec
    if specs:
        wire_tools.append(Tool(function_declarations=[s.declaration for s in specs.values()]))
    names: set[str] = set()
    non_blocking: set[str] = set()
    for t in wire_tools:
        for decl in t.function_declarations or ():
            _check_declaration(decl, names, non_blocking, caps, backend)
    return wire_tools, specs, non_blocking


def _check_declaration(
    decl: FunctionDeclaration,
    names: set[str],
    non_blocking: set[str],
    caps: ModelCapabilities | None,
    backend: Backend,
) -> None:
    if not decl.name:
        raise _fail("tools", "a function declaration has no name")
    if decl.name in names:
        raise _fail("tools", f"function {decl.name!r} is declared twice")
    names.add(decl.name)
    behavior = _enum("tools", decl.behavior, (Behavior.BLOCKING, Behavior.NON_BLOCKING))
    if behavior == Behavior.BLOCKING and caps is not None and not caps.blocking_tools:
        raise _blocking_refused(decl, caps)
    if behavior is None and caps is not None and caps.non_blocking_by_default:
        # The server's default on 3.8; the wire keeps the declaration as given.
        non_blocking.add(decl.name)
    if behavior == Behavior.NON_BLOCKING:
        if backend is Backend.VERTEX:
            raise _fail(
                "tools", f"{decl.name}: NON_BLOCKING functions are not supported on Vertex AI"
            )
        if caps is not None and not caps.non_blocking_tools:
            raise _fail(
                "tools", f"{decl.name}: {caps.name} does not support NON_BLOCKING functions"
            )
        non_blocking.add(decl.name)


def _tool_config(config: SessionConfig) -> ToolConfig | None:
    if config.tool_config is None:
        return None
    tc = coerce(config.tool_config, ToolConfig, "tool_config")
    fcc = tc.function_calling_config
    if fcc is not None and fcc.mode is not None:
        mode = _enum("tool_config.function_calling_config.mode", fcc.mode, _CALLING_MODES)
        tc = msgspec.structs.replace(
            tc, function_calling_config=msgspec.structs.replace(fcc, mode=mode)
        )
    return tc


def _realtime_input_config(config: SessionConfig) -> RealtimeInputConfig | None:
    if config.realtime_input_config is None:
        return None
    ric = coerce(config.realtime_input_config, RealtimeInputConfig, "realtime_input_config")
    aad = ric.automatic_activity_detection
    if aad is not None:
        prefix = "realtime_input_config.automatic_activity_detection."
        aad = msgspec.structs.replace(
            aad,
            start_of_speech_sensitivity=_enum(
                prefix + "start_of_speech_sensitivity", aad.start_of_speech_sensitivity, _START
            ),
            end_of_speech_sensitivity=_enum(
                prefix + "end_of_speech_sensitivity", aad.end_of_speech_sensitivity, _END
            ),
        )
        _in_range(prefix + "prefix_padding_ms", aad.prefix_padding_ms, 0)
        _in_range(prefix + "silence_duration_ms", aad.silence_duration_ms, 0)
    return msgspec.structs.replace(
        ric,
        automatic_activity_detection=aad,
        activity_handling=_enum(
            "realtime_input_config.activity_handling", ric.activity_handling, _HANDLING
        ),
        turn_coverage=_enum("realtime_input_config.turn_coverage", ric.turn_coverage, _COVERAGE),
    )


def _session_resumption(config: SessionConfig, backend: Backend) -> SessionResumptionConfig | None:
    value = config.session_resumption
    if value is False:
        if config.resume_handle:
            raise _fail("resume_handle", "resuming needs session_resumption enabled")
        if config.transparent_resumption:
            raise _fail("transparent_resumption", "needs session_resumption enabled")
        return None
    sr = (
        SessionResumptionConfig()
        if value is True
        else coerce(value, SessionResumptionConfig, "session_resumption")
    )
    transparent = bool(sr.transparent or config.transparent_resumption)
    if transparent and backend is not Backend.VERTEX:
        raise _fail(
            "transparent_resumption",
            "transparent resumption is only supported on Vertex AI, not on the Gemini API",
        )
    # An explicit null handle has drawn 1008 from some models: never send one.
    return SessionResumptionConfig(handle=None, transparent=True if transparent else None)


def _compression(config: SessionConfig) -> ContextWindowCompressionConfig | None:
    if config.context_window_compression is None:
        return None
    cwc = coerce(
        config.context_window_compression,
        ContextWindowCompressionConfig,
        "context_window_compression",
    )
    trigger = cwc.trigger_tokens
    target = cwc.sliding_window.target_tokens if cwc.sliding_window is not None else None
    _in_range("context_window_compression.trigger_tokens", trigger, 1)
    _in_range("context_window_compression.sliding_window.target_tokens", target, 0)
    if trigger is not None and target is not None and target >= trigger:
        raise _fail(
            "context_window_compression",
            f"sliding_window.target_tokens ({target}) must be below trigger_tokens ({trigger})",
        )
    if cwc.sliding_window is None:
        cwc = msgspec.structs.replace(cwc, sliding_window=SlidingWindow())
    return cwc


def _transcription(
    value: bool | AudioTranscriptionConfig | dict[str, Any], field: str
) -> AudioTranscriptionConfig | None:
    if value is False or value is None:
        return None
    if value is True:
        return AudioTranscriptionConfig()
    return coerce(value, AudioTranscriptionConfig, field)


def _proactivity(config: SessionConfig, caps: ModelCapabilities | None) -> ProactivityConfig | None:
    value = config.proactivity
    if value is None or value is False:
        return None
    pc = (
        ProactivityConfig(proactive_audio=True)
        if value is True
        else coerce(value, ProactivityConfig, "proactivity")
    )
    if pc.proactive_audio and caps is not None and not caps.proactive_audio:
        raise _fail("proactivity", f"{caps.name} has no proactive audio")
    return pc


def _apply_model_rules(setup: Setup, caps: ModelCapabilities, backend: Backend) -> Setup:
    """Refuse what ``caps`` forbids in the final setup; fill a required thinking level."""
    gen = setup.generation_config or GenerationConfig()
    tc = gen.thinking_config
    if tc is not None and not caps.thinking_config:
        raise _fail(
            "thinking_config",
            f"{caps.name} takes no thinking config (it reasons on its own); leave out "
            "thinking_config, thinking_level, thinking_budget and include_thoughts",
        )
    if caps.thinking_levels is not None:
        if tc is not None and tc.thinking_budget is not None:
            raise _fail("thinking_budget", f"{caps.name} takes thinking_level, not thinking_budget")
        level = tc.thinking_level if tc is not None else None
        if level is None and caps.default_thinking_level is not None:
            # The server has no default and refuses the setup without a level.
            tc = msgspec.structs.replace(
                tc or ThinkingConfig(), thinking_level=caps.default_thinking_level
            )
            gen = msgspec.structs.replace(gen, thinking_config=tc)
            setup = msgspec.structs.replace(setup, generation_config=gen)
        elif level is not None and level.upper() not in caps.thinking_levels:
            allowed = ", ".join(sorted(caps.thinking_levels, key=_THINKING_LEVELS.index))
            raise _fail(
                "thinking_level", f"{level!r} is not supported by {caps.name}; use {allowed}"
            )
    if backend in caps.affective_dialog_removed and gen.enable_affective_dialog is not None:
        raise _fail(
            "enable_affective_dialog",
            f"{caps.name} has no affective dialog setting on the Gemini API; remove "
            "enable_affective_dialog (Vertex AI keeps it)",
        )
    pc = setup.proactivity
    if backend in caps.proactive_audio_always_on and pc is not None and pc.proactive_audio is False:
        raise _fail(
            "proactivity.proactive_audio",
            f"proactive audio is always on for {caps.name} on the Gemini API; "
            "remove proactive_audio=False",
        )
    for m in gen.response_modalities or ():
        if str(m).upper() not in caps.modalities(backend):
            allowed = ", ".join(sorted(caps.modalities(backend)))
            raise _fail("response_modalities", f"{caps.name} answers only in {allowed}, not {m}")
    for t in setup.tools or ():
        for decl in t.function_declarations or ():
            if not caps.blocking_tools and (decl.behavior or "").upper() == Behavior.BLOCKING:
                raise _blocking_refused(decl, caps)
    return setup


def _blocking_refused(decl: FunctionDeclaration, caps: ModelCapabilities) -> SessionConfigError:
    return _fail(
        "tools",
        f"{decl.name}: {caps.name} takes only NON_BLOCKING functions; "
        "drop behavior=BLOCKING (no behavior means NON_BLOCKING)",
    )


def _explicit_vad(config: SessionConfig, backend: Backend) -> bool | None:
    if config.explicit_vad_signal and backend is not Backend.VERTEX:
        raise _fail("explicit_vad_signal", "explicit VAD signals are only supported on Vertex AI")
    return config.explicit_vad_signal


def _advise_api_version(config: SessionConfig, auth: Auth, setup: Setup) -> None:
    version = config.api_version or auth.default_api_version
    if isinstance(auth, EphemeralToken) and version != "v1alpha":
        log.warning(
            "session.config_advice", field="api_version", advice="ephemeral tokens need v1alpha"
        )
    gen = setup.generation_config
    wants_alpha = bool(
        (gen and gen.enable_affective_dialog)
        or (setup.proactivity and setup.proactivity.proactive_audio)
    )
    if auth.backend is Backend.GEMINI and wants_alpha and version != "v1alpha":
        log.warning(
            "session.config_advice",
            field="api_version",
            advice="affective dialog and proactive audio need api_version='v1alpha' on the Gemini API",
        )
