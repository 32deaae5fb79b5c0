"""Merging the profile, the client's setup and a token's locks."""

from livesvc.config import parse_config
from livesvc.gateway import build_profile_setup, merge_setup, overridable_paths
from livesvc.wire import (
    Content,
    FunctionDeclaration,
    GenerationConfig,
    Part,
    SessionResumptionConfig,
    Setup,
    Tool,
)

PROFILE = parse_config(
    """
[admin]
token_env = "T"
[profiles.default]
model = "gemini-live-2.5-flash-preview"
system_instruction = "Be brief."
generation_config = { response_modalities = ["TEXT"], temperature = 0.2 }
builtin_tools = ["google_search"]
setup = { output_audio_transcription = {} }
client_overridable = ["generation_config.temperature", "tools", "system_instruction"]
[profiles.default.compression]
trigger_tokens = 1000
"""
).profiles["default"]
DAEMON_TOOL = FunctionDeclaration(name="current_time", description="now")


def profile_setup() -> Setup:
    return build_profile_setup(PROFILE, [DAEMON_TOOL])


def test_profile_becomes_a_live_setup():
    setup = profile_setup()
    assert setup.model == "gemini-live-2.5-flash-preview"
    assert setup.generation_config == GenerationConfig(
        response_modalities=["TEXT"], temperature=0.2
    )
    assert setup.system_instruction == Content(role="user", parts=[Part(text="Be brief.")])
    assert setup.tools == [Tool(function_declarations=[DAEMON_TOOL]), Tool(google_search={})]
    assert setup.context_window_compression is not None
    assert setup.context_window_compression.trigger_tokens == 1000
    assert setup.context_window_compression.sliding_window is not None
    assert setup.context_window_compression.sliding_window.target_tokens == 500
    assert setup.output_audio_transcription is not None


def test_profile_wins_on_fields_the_client_may_not_change():
    client = Setup(
        model="models/something-else",
        generation_config=GenerationConfig(response_modalities=["AUDIO"], temperature=0.9),
        session_resumption=SessionResumptionConfig(handle="h"),
    )
    merged = merge_setup(profile_setup(), client, overridable=overridable_paths(PROFILE))
    assert merged.model == "gemini-live-2.5-flash-preview"
    assert merged.generation_config == GenerationConfig(
        response_modalities=["TEXT"], temperature=0.9
    )
    assert merged.session_resumption is None


def test_client_tools_join_but_never_replace_daemon_tools():
    client = Setup(
        tools=[
            Tool(
                function_declarations=[
                    FunctionDeclaration(name="current_time", description="client's own"),
                    FunctionDeclaration(name="turn_on_lights"),
                ]
            )
        ]
    )
    merged = merge_setup(profile_setup(), client, overridable=overridable_paths(PROFILE))
    assert merged.tools == [
        Tool(function_declarations=[DAEMON_TOOL]),
        Tool(google_search={}),
        Tool(function_declarations=[FunctionDeclaration(name="turn_on_lights")]),
    ]


def test_token_locks_override_the_client_on_masked_paths_only():
    client = Setup(
        generation_config=GenerationConfig(temperature=0.9),
        system_instruction=Content(parts=[Part(text="client")]),
    )
    token = Setup(generation_config=GenerationConfig(temperature=0.5))
    merged = merge_setup(
        profile_setup(),
        client,
        overridable=overridable_paths(PROFILE),
        token=token,
        token_locked=frozenset({"generation_config.temperature"}),
    )
    assert merged.generation_config is not None
    assert merged.generation_config.temperature == 0.5
    assert merged.system_instruction == Content(parts=[Part(text="client")])


def test_token_without_mask_locks_everything():
    client = Setup(
        generation_config=GenerationConfig(temperature=0.9),
        system_instruction=Content(parts=[Part(text="client")]),
        tools=[Tool(function_declarations=[FunctionDeclaration(name="x")])],
    )
    merged = merge_setup(
        profile_setup(),
        client,
        overridable=overridable_paths(PROFILE),
        token=Setup(),
        token_locked=None,
    )
    assert merged == profile_setup()
