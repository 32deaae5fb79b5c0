"""The emulator's pure parts: model rules, VAD, catalogue, credentials, tokens."""

from __future__ import annotations

import array

import pytest
from emulator_testkit import pcm

from livesvc._server import Headers, HttpError
from livesvc.emulator import DEFAULT_CATALOGUE, GEMINI, VERTEX, ModelSpec
from livesvc.emulator._auth import API_KEY, TOKEN, ApiKeys, extract_credential
from livesvc.emulator._catalogue import Catalogue
from livesvc.emulator._endpoints import route_live_path
from livesvc.emulator._model import (
    echo,
    parse_tool_invocation,
    speech_pcm,
    split_text,
    tool_result_text,
)
from livesvc.emulator._tokens import TokenRejected, TokenStore, apply_constraints
from livesvc.emulator._vad import EnergyVad, SpeechEnded, SpeechStarted, VadSettings
from livesvc.wire import (
    AutomaticActivityDetection,
    FunctionDeclaration,
    GenerationConfig,
    SessionResumptionConfig,
    Setup,
)


class TestModelRules:
    def test_echo_and_tool_result_text(self):
        assert echo(3, "hi") == "echo #3: hi"
        assert tool_result_text(2, "f", {"a": [1, "x"]}) == 'echo #2: f -> {"a":[1,"x"]}'

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("lights", ("lights", {})),
            ("lights()", ("lights", {})),
            ("  lights(on=true, level=0.5)  ", ("lights", {"on": True, "level": 0.5})),
            ('lights(room="kitchen, left")', ("lights", {"room": "kitchen, left"})),
            ("lights(room='hall')", ("lights", {"room": "hall"})),
            ('lights(rooms=[1,2], opts={"a": 1})', ("lights", {"rooms": [1, 2], "opts": {"a": 1}})),
            ("lights(room=hall way)", ("lights", {"room": "hall way"})),
            ("turn on the lights", None),
            ("lights(", None),
            ("lights(on)", None),
            ("doors(open=1)", None),
        ],
    )
    def test_tool_invocations(self, text, expected):
        functions = {"lights": FunctionDeclaration(name="lights")}
        found = parse_tool_invocation(text, functions)
        assert (None if found is None else (found.name, found.args)) == expected

    def test_split_text_keeps_every_character(self):
        text = "echo #12: a reply of some length"
        chunks = split_text(text, 5)
        assert "".join(chunks) == text
        assert all(len(c) <= 5 for c in chunks)

    def test_speech_is_continuous_across_chunks(self):
        assert speech_pcm(0, 100) + speech_pcm(100, 50) == speech_pcm(0, 150)


class TestVad:
    def test_default_settings_per_backend(self):
        assert VadSettings.from_setup(None, GEMINI) == VadSettings(
            threshold=300, prefix_ms=20, silence_ms=500
        )
        assert VadSettings.from_setup(None, VERTEX) == VadSettings(
            threshold=1500, prefix_ms=20, silence_ms=1000
        )
        explicit = AutomaticActivityDetection(
            start_of_speech_sensitivity="START_SENSITIVITY_LOW",
            end_of_speech_sensitivity="END_SENSITIVITY_HIGH",
            prefix_padding_ms=100,
            silence_duration_ms=250,
        )
        assert VadSettings.from_setup(explicit, GEMINI) == VadSettings(
            threshold=1500, prefix_ms=100, silence_ms=250
        )

    def test_start_needs_the_prefix_and_end_needs_the_silence(self):
        vad = EnergyVad(VadSettings(threshold=300, prefix_ms=50, silence_ms=200))
        assert vad.feed(pcm(1000, 40), 16000) == []  # too short to start
        assert vad.feed(pcm(0, 20) + pcm(1000, 60), 16000) == [SpeechStarted(at_ms=60)]
        assert vad.feed(pcm(0, 190), 16000) == []
        assert vad.feed(pcm(0, 10), 16000) == [SpeechEnded(duration_ms=60)]

    def test_quiet_audio_below_the_threshold_is_silence(self):
        vad = EnergyVad(VadSettings(threshold=1500))
        assert vad.feed(pcm(1000, 500), 16000) == []
        assert not vad.in_speech

    def test_odd_sized_chunks_are_carried_over(self):
        vad = EnergyVad(VadSettings(silence_ms=100))
        audio = pcm(3000, 300) + pcm(0, 100)
        events = []
        for offset in range(0, len(audio), 333):
            events += vad.feed(audio[offset : offset + 333], 16000)
        assert events == [SpeechStarted(at_ms=0), SpeechEnded(duration_ms=300)]

    def test_other_sample_rates(self):
        vad = EnergyVad(VadSettings(silence_ms=100))
        loud = array.array("h", [3000, -3000] * 2400).tobytes()  # 200 ms at 24 kHz
        assert vad.feed(loud + bytes(4800), 24000) == [
            SpeechStarted(at_ms=0),
            SpeechEnded(duration_ms=200),
        ]

    def test_end_of_stream_flushes_speech(self):
        vad = EnergyVad(VadSettings())
        vad.feed(pcm(3000, 120), 16000)
        assert vad.end_of_stream() == SpeechEnded(duration_ms=120)
        assert vad.end_of_stream() is None


class TestCatalogueAndPaths:
    def test_names_resolve_per_backend(self):
        catalogue = Catalogue(DEFAULT_CATALOGUE)
        assert catalogue.find("models/gemini-2.5-flash-native-audio-latest", GEMINI).name == (
            "gemini-2.5-flash-native-audio-preview-12-2025"
        )
        assert catalogue.find("gemini-live-2.5-flash", VERTEX) is not None
        assert catalogue.find("publishers/google/models/gemini-live-2.5-flash", VERTEX) is not None
        assert catalogue.find("publishers/google/models/gemini-live-2.5-flash", GEMINI) is None
        assert catalogue.find("tunedModels/x", GEMINI) is None

    def test_default_catalogue_has_what_the_docs_promise(self):
        by_name = {m.name: m for m in DEFAULT_CATALOGUE}
        assert by_name["gemini-3.1-flash-live-preview"].response_modalities == ("AUDIO",)
        assert not by_name["gemini-3.1-flash-live-preview"].non_blocking_tools
        assert "TEXT" in by_name["gemini-live-2.5-flash-preview"].response_modalities
        assert any(m.backend == VERTEX for m in DEFAULT_CATALOGUE)

    def test_model_spec_validation(self):
        with pytest.raises(ValueError, match="backend"):
            ModelSpec(name="x", backend="openai")
        with pytest.raises(ValueError, match="modality"):
            ModelSpec(name="x", response_modalities=())

    @pytest.mark.parametrize(
        "path",
        [
            "/ws/google.ai.generativelanguage.v2.GenerativeService.BidiGenerateContent",
            "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateMusic",
            "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContentConstrained",
            "/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
        ],
    )
    def test_other_paths_are_not_live(self, path):
        assert route_live_path(path) is None


class TestCredentials:
    def test_token_header_wins_and_is_recognised_anywhere(self):
        headers = Headers(
            [(b"authorization", b"Token auth_tokens/abc"), (b"x-goog-api-key", b"auth_tokens/abc")]
        )
        credential = extract_credential(headers, {})
        assert (credential.kind, credential.value) == (TOKEN, "auth_tokens/abc")
        assert extract_credential(Headers([]), {"access_token": "auth_tokens/q"}).kind == TOKEN
        assert extract_credential(Headers([]), {"key": "k"}).kind == API_KEY
        assert extract_credential(Headers([(b"authorization", b"Basic x")]), {}) is None

    def test_credentials_never_show_in_reprs(self):
        credential = extract_credential(Headers([(b"x-goog-api-key", b"s3cret")]), {})
        assert "s3cret" not in repr(credential)
        assert "s3cret" not in repr(ApiKeys(["s3cret"]))
        assert "s3cret" not in repr(Headers([(b"x-goog-api-key", b"s3cret")]))

    def test_keys(self):
        keys = ApiKeys(["a", "b"])
        assert keys.accepts("a")
        assert keys.accepts("b")
        assert not keys.accepts("c")
        assert not keys.accepts("")
        assert ApiKeys([]).accepts("anything")


class TestTokens:
    def test_uses_expiry_and_new_session_window(self):
        now = [1000.0]
        store = TokenStore(lambda: now[0])
        token = store.mint(
            {
                "uses": 2,
                "expireTime": "1970-01-01T00:26:40Z",  # 1600
                "newSessionExpireTime": "1970-01-01T00:18:20.000000001Z",  # 1100
            }
        )
        store.admit(token.name, resuming=False)
        store.admit(token.name, resuming=False)
        with pytest.raises(TokenRejected, match="no uses left"):
            store.admit(token.name, resuming=False)
        store.admit(token.name, resuming=True)  # resuming is not a use
        now[0] = 1200.0
        with pytest.raises(TokenRejected, match="new sessions"):
            store.admit(token.name, resuming=False)
        store.admit(token.name, resuming=True)
        now[0] = 1600.0
        with pytest.raises(TokenRejected, match="expired"):
            store.admit(token.name, resuming=True)
        with pytest.raises(TokenRejected, match="not valid"):
            store.admit("auth_tokens/unknown", resuming=False)

    def test_zero_uses_is_unlimited_and_both_spellings_work(self):
        store = TokenStore()
        token = store.mint({"uses": 0})
        for _ in range(5):
            store.admit(token.name.replace("auth_tokens/", "authTokens/"), resuming=False)

    @pytest.mark.parametrize(
        "body",
        [
            {"uses": -1},
            {"uses": "many"},
            {"expireTime": "tomorrow"},
            {"expireTime": "2001-01-01T00:00:00Z"},
            {"expireTime": "2999-01-01T00:00:00Z"},
            {"bidiGenerateContentSetup": {"model": 5}},
            {"bidiGenerateContentSetup": {"model": "m"}, "fieldMask": "notAField"},
            {"fieldMask": "model"},
        ],
    )
    def test_bad_bodies_are_400(self, body):
        with pytest.raises(HttpError) as error:
            TokenStore().mint(body)
        assert error.value.status == 400

    def test_field_mask_locks_the_named_fields_only(self):
        token = TokenStore().mint(
            {
                "bidiGenerateContentSetup": {
                    "model": "models/locked",
                    "generationConfig": {"temperature": 0.7},
                },
                "fieldMask": "model,generationConfig.temperature,generationConfig.top_k",
            }
        )
        client = Setup(
            model="models/mine",
            generation_config=GenerationConfig(
                temperature=0.1, top_k=3, response_modalities=["TEXT"]
            ),
            session_resumption=SessionResumptionConfig(handle="h"),
        )
        merged = apply_constraints(token, client)
        assert merged.model == "models/locked"
        assert merged.generation_config == GenerationConfig(
            temperature=0.7, response_modalities=["TEXT"]
        )
        assert merged.session_resumption.handle == "h"

    def test_without_a_mask_every_set_field_is_locked_but_the_handle_survives(self):
        token = TokenStore().mint(
            {
                "bidiGenerateContentSetup": {
                    "model": "models/locked",
                    "generationConfig": {"responseModalities": ["TEXT"]},
                    "sessionResumption": {},
                }
            }
        )
        merged = apply_constraints(
            token,
            Setup(
                model="models/mine",
                generation_config=GenerationConfig(response_modalities=["AUDIO"], temperature=1.0),
                session_resumption=SessionResumptionConfig(handle="h"),
            ),
        )
        assert merged.model == "models/locked"
        assert merged.generation_config == GenerationConfig(
            response_modalities=["TEXT"], temperature=1.0
        )
        assert merged.session_resumption == SessionResumptionConfig(handle="h")
