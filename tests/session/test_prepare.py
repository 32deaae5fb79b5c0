"""Local validation: what Google would reject with an opaque close fails here, precisely."""

from __future__ import annotations

from typing import Any

import pytest

from livesvc.auth import ApiKey, Backend, EphemeralToken, VertexAI
from livesvc.models import TextInput
from livesvc.session._config import SessionConfig
from livesvc.session._errors import SessionConfigError
from livesvc.session._prepare import prepare
from livesvc.tools import tool
from livesvc.wire import (
    FunctionDeclaration,
    GenerationConfig,
    SessionResumptionConfig,
    Tool,
    encode_client,
)

NATIVE = "gemini-2.5-flash-native-audio-preview-12-2025"
G31 = "gemini-3.1-flash-live-preview"


class FakeCreds:
    token = "t"
    expiry = None


def vertex() -> VertexAI:
    return VertexAI(project="p", location="us-central1", credentials=FakeCreds())


def config(**kw: Any) -> SessionConfig:
    kw.setdefault("model", NATIVE)
    if "auth" not in kw and "project" not in kw:
        kw.setdefault("api_key", "k")
    return SessionConfig(**kw)


def rejects(field: str, match: str, **kw: Any) -> None:
    with pytest.raises(SessionConfigError, match=match) as info:
        prepare(config(**kw))
    assert info.value.field == field


def test_full_setup_wire_form() -> None:
    """Every common option lands in the setup exactly where the SDK puts it."""

    @tool
    def get_weather(city: str) -> dict[str, Any]:
        """Weather for a city."""
        return {}

    prepared = prepare(
        config(
            response_modalities=["audio"],
            temperature=0.5,
            top_p=0.9,
            top_k=40,
            max_output_tokens=100,
            voice="Kore",
            language_code="en-US",
            thinking_budget=0,
            include_thoughts=False,
            system_instruction="You are helpful.",
            tools=[get_weather, {"google_search": {}}],
            realtime_input_config={
                "automatic_activity_detection": {
                    "disabled": False,
                    "start_of_speech_sensitivity": "start_sensitivity_low",
                    "silence_duration_ms": 100,
                },
                "activity_handling": "NO_INTERRUPTION",
            },
            context_window_compression={
                "trigger_tokens": 25600,
                "sliding_window": {"target_tokens": 12800},
            },
            input_audio_transcription=True,
            output_audio_transcription=True,
            proactivity=True,
            enable_affective_dialog=True,
            api_version="v1alpha",
        )
    )
    frame = encode_client(prepared.setup_with_handle("H1"))
    assert frame.startswith(
        b'{"setup":{"model":"models/gemini-2.5-flash-native-audio-preview-12-2025"'
    )
    setup = prepared.setup_with_handle("H1")
    gen = setup.generation_config
    assert gen is not None
    assert gen.response_modalities == ["AUDIO"]
    assert gen.speech_config is not None
    assert gen.speech_config.voice_config is not None
    assert gen.speech_config.voice_config.prebuilt_voice_config is not None
    assert gen.speech_config.voice_config.prebuilt_voice_config.voice_name == "Kore"
    assert gen.thinking_config is not None
    assert gen.thinking_config.thinking_budget == 0
    assert setup.system_instruction is not None
    assert setup.system_instruction.role == "user"
    assert setup.session_resumption == SessionResumptionConfig(handle="H1")
    assert setup.tools is not None
    assert [t.google_search for t in setup.tools] == [{}, None]
    assert setup.tools[1].function_declarations is not None
    assert setup.tools[1].function_declarations[0].parameters_json_schema == {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    assert setup.realtime_input_config is not None
    aad = setup.realtime_input_config.automatic_activity_detection
    assert aad is not None
    assert aad.start_of_speech_sensitivity == "START_SENSITIVITY_LOW"
    assert setup.input_audio_transcription is not None
    assert setup.proactivity is not None
    assert setup.proactivity.proactive_audio is True
    assert prepared.tools.keys() == {"get_weather"}
    assert prepared.text_input is TextInput.CLIENT_CONTENT


def test_without_a_handle_no_null_handle_is_sent() -> None:
    """A first connect sends sessionResumption {} (a null handle has drawn 1008)."""
    prepared = prepare(config())
    assert b'"sessionResumption":{}' in encode_client(prepared.setup_with_handle(None))


def test_resumption_off_sends_no_resumption() -> None:
    """session_resumption=False leaves the field out entirely."""
    prepared = prepare(config(session_resumption=False))
    assert prepared.setup.session_resumption is None
    assert prepared.setup_with_handle("h").session_resumption is None


def test_text_on_an_audio_only_model() -> None:
    """TEXT on an audio-only model fails before any socket, with the fix in the message."""
    rejects(
        "response_modalities",
        "answers only in AUDIO, not TEXT .*output_audio_transcription",
        response_modalities=["TEXT"],
    )


def test_two_modalities() -> None:
    """A Live session answers in one modality."""
    rejects(
        "response_modalities",
        "one modality",
        model="gemini-live-2.5-flash-preview",
        response_modalities=["TEXT", "AUDIO"],
    )


def test_unknown_modality() -> None:
    """A misspelled modality is caught."""
    rejects(
        "response_modalities",
        "'SPEECH' is not a Live response modality",
        response_modalities=["speech"],
    )


def test_non_blocking_on_a_model_without_it() -> None:
    """NON_BLOCKING on Gemini 3.1 fails with the function and model named."""
    decl = {"function_declarations": [{"name": "slow", "behavior": "NON_BLOCKING"}]}
    rejects(
        "tools",
        "slow: gemini-3.1-flash-live-preview does not support NON_BLOCKING",
        model=G31,
        tools=[decl],
    )


def test_non_blocking_on_vertex() -> None:
    """Vertex AI rejects NON_BLOCKING functions."""
    rejects(
        "tools",
        "not supported on Vertex AI",
        model="gemini-live-2.5-flash",
        auth=vertex(),
        tools=[
            Tool(function_declarations=[FunctionDeclaration(name="f", behavior="NON_BLOCKING")])
        ],
    )


def test_non_blocking_names_are_recorded() -> None:
    """A NON_BLOCKING tool is known to the session (its responses may carry scheduling)."""

    @tool(behavior="NON_BLOCKING", scheduling="WHEN_IDLE")
    async def lookup(q: str) -> str:
        return q

    prepared = prepare(config(tools=[lookup]))
    assert prepared.non_blocking == {"lookup"}


def test_transparent_resumption_on_the_gemini_api() -> None:
    """Transparent resumption is Vertex-only; the Gemini API gets a precise error."""
    rejects("transparent_resumption", "only supported on Vertex AI", transparent_resumption=True)
    rejects(
        "transparent_resumption",
        "only supported on Vertex AI",
        session_resumption={"transparent": True},
    )


def test_transparent_resumption_on_vertex() -> None:
    """On Vertex the setup asks for transparent resumption and the model gets its full resource name."""
    prepared = prepare(
        config(model="gemini-live-2.5-flash", auth=vertex(), transparent_resumption=True)
    )
    assert prepared.transparent
    assert (
        prepared.setup.model
        == "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash"
    )
    assert prepared.backend is Backend.VERTEX


def test_model_on_the_wrong_backend() -> None:
    """A Gemini-only model on Vertex fails before dialling."""
    rejects("model", "not served on Vertex AI", model=G31, auth=vertex())


@pytest.mark.parametrize(
    ("kw", "field", "match"),
    [
        ({"thinking_budget": 100}, "thinking_budget", "takes thinking_level"),
        ({"thinking_level": "huge"}, "thinking_level", "'huge' is not one of"),
        ({"enable_affective_dialog": True}, "enable_affective_dialog", "no affective dialog"),
        ({"proactivity": True}, "proactivity", "no proactive audio"),
    ],
)
def test_knobs_gemini_31_lacks(kw: dict[str, Any], field: str, match: str) -> None:
    """Gemini 3.1 has thinking levels, no budgets, no affective dialog, no proactive audio."""
    rejects(field, match, model=G31, **kw)


def test_thinking_level_on_a_budget_model() -> None:
    """2.5 models take a thinking budget, not a level."""
    rejects("thinking_level", "takes thinking_budget", thinking_level="LOW")


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": 0}, "top_k"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"tool_timeout": 0}, "tool_timeout"),
        ({"max_concurrent_tools": 0}, "max_concurrent_tools"),
        ({"media_buffer_seconds": -1}, "media_buffer_seconds"),
    ],
)
def test_out_of_range_numbers(kw: dict[str, Any], field: str) -> None:
    """Out-of-range numbers are named."""
    with pytest.raises(SessionConfigError) as info:
        prepare(config(**kw))
    assert info.value.field == field


def test_misspelled_sensitivity() -> None:
    """A VAD sensitivity must be a real enum value."""
    rejects(
        "realtime_input_config.automatic_activity_detection.end_of_speech_sensitivity",
        "'HIGH' is not one of",
        realtime_input_config={
            "automatic_activity_detection": {"end_of_speech_sensitivity": "HIGH"}
        },
    )


def test_compression_target_must_be_below_trigger() -> None:
    """A sliding-window target at or above the trigger is rejected (a 1007 at the server)."""
    rejects(
        "context_window_compression",
        "must be below trigger_tokens",
        context_window_compression={
            "trigger_tokens": 1000,
            "sliding_window": {"target_tokens": 1000},
        },
    )


def test_duplicate_tools() -> None:
    """Two tools with one name are an error."""

    def f() -> None: ...

    rejects("tools", "registered twice", tools=[f, f])
    rejects(
        "tools", "declared twice", tools=[{"function_declarations": [{"name": "a"}, {"name": "a"}]}]
    )


def test_resume_handle_needs_resumption() -> None:
    """A resume handle without resumption is contradictory."""
    rejects(
        "resume_handle", "needs session_resumption", session_resumption=False, resume_handle="h"
    )


def test_multi_speaker_is_not_supported() -> None:
    """multi_speaker_voice_config is rejected by the Live API (SDK raises too)."""
    rejects("speech_config", "multi_speaker", speech_config={"multi_speaker_voice_config": {}})


def test_explicit_vad_signal_is_vertex_only() -> None:
    """explicit_vad_signal on the Gemini API fails."""
    rejects("explicit_vad_signal", "Vertex", explicit_vad_signal=True)


def test_bad_dict_names_the_option() -> None:
    """A dict that does not fit its wire struct names the option."""
    rejects("generation_config", "generation_config", generation_config={"temperature": "hot"})


def test_credentials() -> None:
    """Credential options conflict clearly, and a missing credential is named."""
    with pytest.raises(SessionConfigError, match="give one credential") as info:
        prepare(SessionConfig(model=NATIVE, api_key="k", auth=ApiKey("j")))
    assert info.value.field == "auth"


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no key anywhere the error says how to give one."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with pytest.raises(SessionConfigError, match="GEMINI_API_KEY"):
        prepare(SessionConfig(model=NATIVE))


def test_unknown_model_is_allowed_with_client_content_text() -> None:
    """A model the registry does not know passes; text then goes as clientContent (seeds)."""
    prepared = prepare(config(model="my-live-model", response_modalities=["TEXT"]))
    assert prepared.capabilities is None
    assert prepared.text_input is TextInput.CLIENT_CONTENT


def test_gemini_31_sends_text_as_realtime_input() -> None:
    """Gemini 3.1 takes mid-session text as realtimeInput.text."""
    assert prepare(config(model=G31)).text_input is TextInput.REALTIME_INPUT


def test_generation_config_struct_and_flat_override() -> None:
    """Flat shortcuts override the matching field of a given generation_config."""
    prepared = prepare(
        config(generation_config=GenerationConfig(temperature=0.1, seed=3), temperature=0.9)
    )
    assert prepared.setup.generation_config == GenerationConfig(temperature=0.9, seed=3)


def test_setup_overrides_reach_fields_without_a_shortcut() -> None:
    """setup_overrides sets any setup field (here history_config)."""
    prepared = prepare(
        config(setup_overrides={"history_config": {"initial_history_in_client_content": True}})
    )
    assert prepared.setup.history_config is not None
    assert prepared.setup.history_config.initial_history_in_client_content is True


def test_ephemeral_token_uses_gemini_model_names() -> None:
    """An ephemeral token session is a Gemini API session on the constrained endpoint."""
    prepared = prepare(SessionConfig(model=NATIVE, auth=EphemeralToken("auth_tokens/x")))
    assert prepared.setup.model == f"models/{NATIVE}"


def test_manual_activity_detection_is_recorded() -> None:
    """With automatic activity detection off, the session knows the client drives turns."""
    prepared = prepare(
        config(realtime_input_config={"automatic_activity_detection": {"disabled": True}})
    )
    assert prepared.manual_activity is True
    assert prepare(config()).manual_activity is False


G38 = "gemini-3.8-live"
G38ET = "gemini-3.8-live-extended-thinking"


@pytest.mark.parametrize(
    ("kw", "field", "match"),
    [
        ({"thinking_level": "LOW"}, "thinking_config", "takes no thinking config"),
        ({"thinking_budget": 0}, "thinking_config", "takes no thinking config"),
        ({"thinking_config": {"include_thoughts": True}}, "thinking_config", "leave out"),
        (
            {"proactivity": {"proactive_audio": False}},
            "proactivity.proactive_audio",
            "always on for gemini-3.8-live on the Gemini API",
        ),
        ({"enable_affective_dialog": True}, "enable_affective_dialog", "remove"),
        ({"enable_affective_dialog": False}, "enable_affective_dialog", "remove"),
        ({"response_modalities": ["TEXT"]}, "response_modalities", "only in AUDIO, not TEXT"),
        ({"response_modalities": ["VIDEO"]}, "response_modalities", "on the Gemini API"),
        (
            {"setup_overrides": {"generationConfig": {"thinkingConfig": {"thinkingLevel": "LOW"}}}},
            "thinking_config",
            "takes no thinking config",
        ),
        (
            {"setup_overrides": {"proactivity": {"proactiveAudio": False}}},
            "proactivity.proactive_audio",
            "always on",
        ),
    ],
)
def test_gemini_38_live_refusals(kw: dict[str, Any], field: str, match: str) -> None:
    """What gemini-3.8-live refuses on the Gemini API fails before dialling, naming the field."""
    rejects(field, match, model=G38, **kw)


def test_gemini_38_live_valid_setups() -> None:
    """AUDIO, proactive audio left on, and tools without behavior are fine; they run NON_BLOCKING."""

    @tool
    def lookup(q: str) -> dict[str, Any]:
        """Look something up."""
        return {}

    @tool(behavior="BLOCKING")
    def book(q: str) -> dict[str, Any]:
        """Book something."""
        return {}

    prepared = prepare(
        config(
            model=G38,
            response_modalities=["AUDIO"],
            proactivity=True,
            output_audio_transcription=True,
            tools=[lookup, book, {"functionDeclarations": [{"name": "raw"}]}],
        )
    )
    assert prepared.non_blocking == {"lookup", "raw"}
    setup = prepared.setup
    assert setup.generation_config is not None
    assert setup.generation_config.thinking_config is None
    # The declaration goes out as given: NON_BLOCKING is the server's own default.
    frame = encode_client(setup).decode()
    assert '"behavior":"BLOCKING"' in frame
    assert frame.count('"behavior"') == 1


def test_gemini_38_live_on_vertex_keeps_affective_dialog_and_video() -> None:
    """Vertex AI documents affective dialog and proactive audio as switchable, and VIDEO avatars."""
    prepared = prepare(
        config(
            model=G38,
            auth=vertex(),
            enable_affective_dialog=True,
            proactivity={"proactive_audio": False},
            response_modalities=["VIDEO"],
        )
    )
    gen = prepared.setup.generation_config
    assert gen is not None
    assert gen.response_modalities == ["VIDEO"]
    assert gen.enable_affective_dialog is True
    rejects(
        "thinking_config",
        "takes no thinking config",
        model=G38,
        auth=vertex(),
        thinking_level="HIGH",
    )
    rejects("response_modalities", "VIDEO", model=NATIVE, response_modalities=["VIDEO"])


def test_extended_thinking_fills_low_when_no_level_is_given() -> None:
    """The server has no default level and refuses the setup without one: LOW is filled in."""
    prepared = prepare(config(model=G38ET))
    gen = prepared.setup.generation_config
    assert gen is not None
    assert gen.thinking_config is not None
    assert gen.thinking_config.thinking_level == "LOW"
    assert '"thinkingConfig":{"thinkingLevel":"LOW"}' in encode_client(prepared.setup).decode()
    # A level the caller chose is kept, and include_thoughts alone still gets the default.
    high = prepare(config(model=G38ET, thinking_level="high")).setup.generation_config
    assert high is not None
    assert high.thinking_config is not None
    assert high.thinking_config.thinking_level == "HIGH"
    thoughts = prepare(config(model=G38ET, include_thoughts=True)).setup.generation_config
    assert thoughts is not None
    assert thoughts.thinking_config is not None
    assert thoughts.thinking_config.thinking_level == "LOW"
    assert thoughts.thinking_config.include_thoughts is True


@pytest.mark.parametrize(
    ("kw", "field", "match"),
    [
        (
            {"thinking_level": "MINIMAL"},
            "thinking_level",
            "'MINIMAL' is not supported.*LOW, MEDIUM, HIGH",
        ),
        ({"thinking_budget": 512}, "thinking_budget", "takes thinking_level"),
        (
            {"setup_overrides": {"generationConfig": {"thinkingConfig": {"thinkingBudget": 1}}}},
            "thinking_budget",
            "takes thinking_level",
        ),
        (
            {"tools": [{"functionDeclarations": [{"name": "f", "behavior": "BLOCKING"}]}]},
            "tools",
            "f: gemini-3.8-live-extended-thinking takes only NON_BLOCKING",
        ),
    ],
)
def test_extended_thinking_refusals(kw: dict[str, Any], field: str, match: str) -> None:
    """Extended thinking refuses an unsupported level, a budget and BLOCKING functions."""
    rejects(field, match, model=G38ET, **kw)


def test_extended_thinking_refuses_a_blocking_python_tool() -> None:
    """A @tool(behavior="BLOCKING") is refused too; without behavior it runs NON_BLOCKING."""

    @tool(behavior="BLOCKING")
    def slow(q: str) -> dict[str, Any]:
        """Slow."""
        return {}

    @tool
    def fast(q: str) -> dict[str, Any]:
        """Fast."""
        return {}

    rejects("tools", "slow: .* takes only NON_BLOCKING", model=G38ET, tools=[slow])
    assert prepare(config(model=G38ET, tools=[fast])).non_blocking == {"fast"}
    rejects("model", "not served on Vertex AI", model=G38ET, auth=vertex())


def test_older_models_keep_blocking_by_default() -> None:
    """Only 3.8 changes the default: on 2.5 a tool without behavior is BLOCKING."""

    @tool
    def fast(q: str) -> dict[str, Any]:
        """Fast."""
        return {}

    assert prepare(config(tools=[fast])).non_blocking == frozenset()
