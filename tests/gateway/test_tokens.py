"""Minting tokens shaped like Google's auth_tokens.create."""

import pytest

from livesvc.config import parse_config
from livesvc.gateway import (
    AuthTokenRequest,
    TokenMinter,
    TokenRequestError,
    locked_paths,
    token_setup,
)
from livesvc.gateway._tokens import format_time, parse_field_mask
from livesvc.store import Store

CONFIG = parse_config(
    """
[admin]
token_env = "T"
[profiles.default]
model = "gemini-live-2.5-flash-preview"
client_overridable = ["generation_config", "system_instruction"]
"""
)
NOW = 1_000_000.0


async def test_defaults_match_google(store: Store):
    token = await TokenMinter(CONFIG, store).mint(AuthTokenRequest(), now=NOW)
    assert token.name.startswith("auth_tokens/")
    assert token.uses == 1
    assert token.expire_time == format_time(NOW + 1800)
    assert token.new_session_expire_time == format_time(NOW + 60)
    assert token.profile == "default"
    record = await store.get_token(token.name)
    assert record is not None
    assert (record.uses_left, record.field_mask) == (1, None)


async def test_sdk_body_with_setup_and_field_mask_is_stored(store: Store):
    body = {
        "uses": 2,
        "expireTime": format_time(NOW + 600),
        "newSessionExpireTime": format_time(NOW + 120),
        "bidiGenerateContentSetup": {
            "model": "models/gemini-live-2.5-flash-preview",
            "generationConfig": {"temperature": 0.7},
            "systemInstruction": {"parts": [{"text": "sys"}], "role": "user"},
        },
        "fieldMask": "model,generationConfig.temperature,systemInstruction.parts,systemInstruction.role",
    }
    import msgspec

    request = msgspec.convert(body, AuthTokenRequest)
    token = await TokenMinter(CONFIG, store).mint(request, now=NOW)
    record = await store.get_token(token.name)
    assert record is not None
    assert locked_paths(record) == {"model", "generation_config.temperature", "system_instruction"}
    setup = token_setup(record)
    assert setup.generation_config is not None
    assert setup.generation_config.temperature == 0.7
    assert record.expire_time == NOW + 600


@pytest.mark.parametrize(
    ("request_fields", "message"),
    [
        ({"uses": -1}, "uses: expected 0 (unlimited) or more, got -1"),
        ({"expire_time": "tomorrow"}, "expireTime: expected an RFC 3339 time"),
        ({"expire_time": "2030-01-01T00:00:00"}, "expireTime: expected a time zone"),
        ({"expire_time": format_time(NOW - 1)}, "expireTime: must be in the future"),
        ({"expire_time": format_time(NOW + 21 * 3600)}, "expireTime: must be within 20 hours"),
        (
            {
                "expire_time": format_time(NOW + 100),
                "new_session_expire_time": format_time(NOW + 200),
            },
            "newSessionExpireTime: must not be after expireTime",
        ),
        ({"profile": "nope"}, "profile: no profile named 'nope'"),
        ({"field_mask": "bogus"}, "fieldMask: unknown setup field 'bogus'"),
        (
            {"bidi_generate_content_setup": {"generationConfig": {"temperature": "hot"}}},
            "bidiGenerateContentSetup.generationConfig.temperature: Expected `float | null`, got `str`",
        ),
        (
            {"bidi_generate_content_setup": {"model": "models/other"}},
            "profile 'default' fixes 'model'; a token cannot set it",
        ),
        (
            {
                "bidi_generate_content_setup": {
                    "realtimeInputConfig": {"activityHandling": "NO_INTERRUPTION"}
                }
            },
            "profile 'default' fixes 'realtime_input_config'",
        ),
    ],
)
async def test_bad_requests_say_what_is_wrong(store: Store, request_fields, message):
    with pytest.raises(TokenRequestError) as info:
        await TokenMinter(CONFIG, store).mint(AuthTokenRequest(**request_fields), now=NOW)
    assert message in str(info.value)


async def test_locking_the_profiles_own_model_is_allowed(store: Store):
    request = AuthTokenRequest(
        bidi_generate_content_setup={"model": "gemini-live-2.5-flash-preview"}
    )
    token = await TokenMinter(CONFIG, store).mint(request, now=NOW)
    assert token.uses == 1


def test_field_mask_normalisation():
    assert parse_field_mask("generationConfig.top_k, output_audio_transcription") == {
        "generation_config.top_k",
        "output_audio_transcription",
    }
