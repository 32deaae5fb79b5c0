"""Cross-key checks: every problem is reported, each under its own key path."""

import pytest

from livesvc.config import ConfigError, parse_config

BASE = """
[admin]
token_env = "ADMIN_TOKEN"

[profiles.default]
model = "m"
"""
HASH = "sha256:" + "a" * 64
HASH2 = "sha256:" + "b" * 64


def issues_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="f.toml")
    return [
        f"{i.path}: {i.message}" + (f" ({i.hint})" if i.hint else "") for i in info.value.issues
    ]


def test_at_least_one_profile():
    assert issues_of('[admin]\ntoken_env = "T"\n') == [
        "profiles: expected at least one [profiles.NAME] table"
    ]


def test_key_profile_and_default_profile_must_exist():
    text = (
        BASE
        + f'[gateway]\ndefault_profile = "voice"\n[[gateway.keys]]\nname = "a"\nhash = "{HASH}"\nprofile = "nope"\n'
    )
    assert issues_of(text) == [
        "gateway.default_profile: expected one of the profiles (default), got 'voice'",
        "gateway.keys[0].profile: expected one of the profiles (default), got 'nope'",
    ]


def test_duplicate_key_names_and_hashes():
    keys = f'[[gateway.keys]]\nname = "a"\nhash = "{HASH}"\n[[gateway.keys]]\nname = "a"\nhash = "{HASH}"\n'
    assert issues_of(BASE + keys) == [
        "gateway.keys[1].name: duplicate key name (also keys[0])",
        "gateway.keys[1].hash: duplicate key hash (also keys[0])",
    ]


def test_tls_files_mode_needs_both_files():
    assert issues_of(BASE + '[gateway.tls]\nmode = "files"\ncert_file = "c.pem"\n') == [
        'gateway.tls.key_file: required when mode = "files"'
    ]


def test_admin_needs_exactly_one_token_source():
    text = BASE.replace('token_env = "ADMIN_TOKEN"', f'token_env = "T"\ntoken_hash = "{HASH2}"')
    assert issues_of(text) == [
        "admin: expected exactly one of token_hash, token_env, token_file, got 2 (token_hash, token_env)"
    ]
    assert issues_of(BASE.replace('token_env = "ADMIN_TOKEN"', "")) == [
        "admin: expected exactly one of token_hash, token_env, token_file, got 0"
    ]


def test_disabled_admin_needs_no_token():
    config = parse_config(BASE.replace('token_env = "ADMIN_TOKEN"', "enabled = false"))
    assert config.admin.enabled is False


def test_gemini_backend_needs_a_credential_reference_never_a_value():
    assert issues_of(BASE + '[upstream]\nbackend = "gemini"\n') == [
        'upstream.api_key_env: backend "gemini" needs api_key_env (an environment variable name) or api_key_file'
    ]
    # There is no key for an inline credential at all.
    assert issues_of(BASE + '[upstream]\nbackend = "gemini"\napi_key = "AIza..."\n') == [
        'upstream.api_key_env: backend "gemini" needs api_key_env (an environment variable name) or api_key_file',
        "upstream.api_key: unknown key (did you mean `api_key_env`?)",
    ]


def test_vertex_needs_project_and_location_or_a_key():
    assert issues_of(BASE + '[upstream]\nbackend = "vertex"\nproject = "p"\n') == [
        'upstream: backend "vertex" needs project and location (or api_key_env / api_key_file for express mode)'
    ]
    config = parse_config(
        BASE + '[upstream]\nbackend = "vertex"\nproject = "p"\nlocation = "us-central1"\n'
    )
    assert config.upstream.location == "us-central1"


def test_profile_fields_are_checked_against_the_live_setup():
    text = BASE + (
        "generation_config = { temprature = 0.5 }\n"
        'setup = { model = "x", output_audio_transcription = {}, bogus = 1 }\n'
        'client_overridable = ["temperature", "generation_config.temperature"]\n'
    )
    issues = issues_of(text)
    assert issues[0].startswith(
        "profiles.default.generation_config.temprature: unknown generation config field"
    )
    assert (
        issues[1] == "profiles.default.setup.model: set this with `profiles.default.model` instead"
    )
    assert issues[2].startswith("profiles.default.setup.bogus: unknown setup field")
    assert issues[3].startswith(
        "profiles.default.client_overridable[0]: expected a setup field path"
    )
    assert len(issues) == 4


def test_compression_target_below_trigger():
    text = BASE + "[profiles.default.compression]\ntrigger_tokens = 100\ntarget_tokens = 100\n"
    assert issues_of(text) == [
        "profiles.default.compression.target_tokens: expected less than trigger_tokens (100), got 100"
    ]


def test_duplicate_tool_names_and_scheduling_on_blocking_tool():
    text = BASE + (
        '[[profiles.default.tools]]\nfunction = "a:get"\n'
        '[[profiles.default.tools]]\nfunction = "b:get"\nscheduling = "SILENT"\n'
    )
    assert issues_of(text) == [
        "profiles.default.tools[1]: duplicate tool name 'get' (also tools[0])",
        'profiles.default.tools[1].scheduling: only applies to behavior = "NON_BLOCKING"',
    ]


def test_admin_and_gateway_cannot_share_a_port():
    text = BASE.replace("[admin]", "[admin]\nport = 9000") + "[gateway]\nport = 9000\n"
    assert issues_of(text) == ["admin.port: expected a port other than gateway.port (9000)"]


def test_profile_setup_values_are_checked_by_the_wire_decoder():
    text = BASE + (
        'generation_config = { temperature = "hot" }\n'
        "setup = { realtime_input_config = { automatic_activity_detection = { disabled = 3 } } }\n"
    )
    assert issues_of(text) == [
        "profiles.default.generation_config.temperature: expected float, got str"
    ]
    text = (
        BASE
        + "setup = { realtime_input_config = { automatic_activity_detection = { disabled = 3 } } }\n"
    )
    assert issues_of(text) == [
        "profiles.default.setup.realtime_input_config.automatic_activity_detection.disabled: "
        "expected bool, got int"
    ]
