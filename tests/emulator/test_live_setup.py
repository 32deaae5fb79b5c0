"""Opening a Live session: paths, credentials, the setup, and how refusals close."""

from __future__ import annotations

import pytest
import trio
import trio_websocket
from emulator_testkit import AUDIO_MODEL, TEXT_MODEL, fast_config, live_client

from livesvc.emulator import VERTEX, live_path, open_emulator
from livesvc.wire import GenerationConfig, SessionResumptionConfig, Setup


async def test_setup_complete_carries_the_session_id_listed_by_the_emulator():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                reply = await client.setup(TEXT_MODEL)
                assert reply.setup_complete is not None
                [info] = emu.sessions()
    assert info.session_id == reply.setup_complete.session_id
    assert info.model == "gemini-live-2.5-flash-preview"
    assert info.connected


async def test_server_frames_are_binary_json():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(
                    TEXT_MODEL, generation_config=GenerationConfig(response_modalities=["TEXT"])
                )
                await client.say("hi")
                await client.turn()
    assert client.raw_frames
    assert all(isinstance(frame, bytes) for frame in client.raw_frames)


@pytest.mark.parametrize(
    "path",
    [
        "//ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
        "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent",
        "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent",
    ],
)
async def test_gemini_paths_are_served_after_collapsing_slashes(path):
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.url + path + "?key=k") as client:
                reply = await client.setup(TEXT_MODEL)
    assert reply.setup_complete is not None


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
async def test_vertex_paths_serve_vertex_models(version):
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url(VERTEX, version) + "?key=k") as client:
                reply = await client.setup(
                    "projects/p/locations/us-central1/publishers/google/models/gemini-live-2.5-flash"
                )
    assert reply.setup_complete is not None


async def test_unknown_path_is_rejected_at_the_handshake():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10), pytest.raises(trio_websocket.HandshakeError):
            async with live_client(emu.url + "/ws/nope?key=k"):
                pass


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ([("x-goog-api-key", "good")], ""),
        ([], "?key=good"),
        ([("authorization", "Bearer good")], ""),
    ],
)
async def test_api_key_in_every_place_google_reads_it(headers, query):
    async with open_emulator(fast_config(api_keys=("good",))) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + query, headers=headers) as client:
                reply = await client.setup(TEXT_MODEL)
    assert reply.setup_complete is not None


async def test_wrong_key_closes_1008_after_the_upgrade():
    async with open_emulator(fast_config(api_keys=("good",))) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=bad") as client:
                await client.send(Setup(model=TEXT_MODEL))
                reason = await client.closed()
    assert reason.code == 1008
    assert reason.reason == "API key not valid. Please pass a valid API key."


async def test_missing_key_closes_1008():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url()) as client:
                await client.send(Setup(model=TEXT_MODEL))
                reason = await client.closed()
    assert reason.code == 1008
    assert "unregistered callers" in (reason.reason or "")


async def test_unknown_model_closes_1008_with_googles_text():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url(version="v1alpha") + "?key=k") as client:
                await client.send(Setup(model="models/gemini-9-imaginary"))
                reason = await client.closed()
    assert reason.code == 1008
    assert reason.reason == (
        "models/gemini-9-imaginary is not found for API version v1alpha,"
        " or is not supported for bidiGenerateContent."
    )


async def test_vertex_model_on_a_gemini_path_is_not_found():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.send(Setup(model="models/gemini-live-2.5-flash"))
                reason = await client.closed()
    assert reason.code == 1008


async def test_unsupported_response_modality_closes_1011():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.send(
                    Setup(
                        model=AUDIO_MODEL,
                        generation_config=GenerationConfig(response_modalities=["TEXT"]),
                    )
                )
                reason = await client.closed()
    assert reason.code == 1011
    assert reason.reason == (
        "The requested combination of response modalities (TEXT) is not supported."
    )


@pytest.mark.parametrize(
    "first_frame",
    [
        "not json",
        '{"setup": {"model": 42}}',
        '{"setup": []}',
        '{"clientContent": {"turnComplete": true}}',
        "{}",
        '{"setup": {}}',
        '{"setup": {"model": "models/gemini-live-2.5-flash-preview", '
        '"generationConfig": {"responseModalities": ["TEXT", "AUDIO"]}}}',
    ],
)
async def test_malformed_or_missing_setup_closes_1007(first_frame):
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.ws.send_message(first_frame)
                reason = await client.closed()
    assert reason.code == 1007


async def test_snake_case_setup_is_accepted():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.send_json(
                    {
                        "setup": {
                            "model": TEXT_MODEL,
                            "generation_config": {"response_modalities": ["TEXT"]},
                            "session_resumption": {},
                        }
                    }
                )
                complete = await client.recv()
                update = await client.recv()
    assert complete.setup_complete is not None
    assert update.session_resumption_update is not None
    assert update.session_resumption_update.resumable is True


async def test_bad_resumption_handle_closes_1007():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.send(
                    Setup(
                        model=TEXT_MODEL, session_resumption=SessionResumptionConfig(handle="nope")
                    )
                )
                reason = await client.closed()
    assert reason.code == 1007
    assert "handle" in (reason.reason or "")


async def test_no_setup_in_time_closes(autojump_clock, memory_emulator):
    emulator = memory_emulator(setup_timeout=5.0)
    async with emulator.connect() as client:
        start = trio.current_time()
        reason = await client.closed()
        assert trio.current_time() - start == 5.0
    assert reason.code == 1011


async def test_live_path_names_the_default_versions():
    assert live_path() == (
        "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    assert live_path(VERTEX) == (
        "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
    )
