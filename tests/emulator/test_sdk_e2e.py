"""End to end with the stock google-genai SDK over TLS.

The emulator runs in the test's trio loop; each SDK scenario runs with asyncio in a
worker thread (the SDK is asyncio-only), bounded on both sides.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
from emulator_testkit import fast_config, pcm
from google import genai
from google.genai import errors, types

from livesvc.emulator import Emulator, EmulatorConfig, TlsFiles, open_emulator

pytestmark = pytest.mark.filterwarnings("ignore::Warning")

TEXT_MODEL = "gemini-live-2.5-flash-preview"
AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
TIMEOUT = 20.0


def sdk_client(emu: Emulator, api_key: str = "test-key", **http_options: Any) -> genai.Client:
    context = ssl.create_default_context(cafile=emu.ca_file)
    return genai.Client(
        api_key=api_key,
        http_options={
            "base_url": emu.http_base_url,
            # "ssl" for the Live WebSocket, "verify" for REST (httpx)
            "async_client_args": {"ssl": context, "verify": context},
            **http_options,
        },
    )


async def run_sdk(scenario: Callable[[], Awaitable[Any]]) -> Any:
    """Run an asyncio scenario in a thread; its result (or its exception)."""

    def in_thread() -> Any:
        return asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))

    with trio.fail_after(TIMEOUT + 5):
        return await trio.to_thread.run_sync(in_thread, abandon_on_cancel=True)


def emulator(tls_files: TlsFiles, **overrides: Any):
    values: dict[str, Any] = {"tls": tls_files}
    values.update(overrides)
    return open_emulator(fast_config(**values))


async def receive_turn(session: Any) -> list[types.LiveServerMessage]:
    return [message async for message in session.receive()]


def text_of(messages: list[types.LiveServerMessage]) -> str:
    return "".join(
        m.text or "" for m in messages if m.server_content and m.server_content.model_turn
    )


async def test_text_turns(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            config = types.LiveConnectConfig(response_modalities=["TEXT"])
            async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
                await session.send_client_content(
                    turns=types.Content(role="user", parts=[types.Part(text="hello")]),
                    turn_complete=True,
                )
                first = await receive_turn(session)
                await session.send_realtime_input(text="again")
                second = await receive_turn(session)
                return session.session_id, first, second

        session_id, first, second = await run_sdk(scenario)
    assert text_of(first) == "echo #1: hello"
    assert text_of(second) == "echo #2: again"
    assert first[-1].usage_metadata.response_token_count == 4
    assert session_id
    assert session_id.startswith("emu-")


async def test_audio_turn_with_transcriptions(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            config = types.LiveConnectConfig(
                response_modalities=["AUDIO"],
                input_audio_transcription=types.AudioTranscriptionConfig(),
                output_audio_transcription=types.AudioTranscriptionConfig(),
            )
            async with client.aio.live.connect(model=AUDIO_MODEL, config=config) as session:
                await session.send_realtime_input(
                    audio=types.Blob(data=pcm(3000, 600), mime_type="audio/pcm;rate=16000")
                )
                await session.send_realtime_input(audio_stream_end=True)
                return await receive_turn(session)

        messages = await run_sdk(scenario)
    heard = "".join(
        m.server_content.input_transcription.text
        for m in messages
        if m.server_content and m.server_content.input_transcription
    )
    said = "".join(
        m.server_content.output_transcription.text
        for m in messages
        if m.server_content and m.server_content.output_transcription
    )
    audio = b"".join(m.data or b"" for m in messages)
    assert heard == "<audio 600 ms>"
    assert said == "echo #1: <audio 600 ms>"
    assert len(audio) == len(said) * EmulatorConfig().audio_ms_per_char * 48


async def test_tool_call_round_trip(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            weather = types.FunctionDeclaration(
                name="get_weather",
                parameters=types.Schema(
                    type="OBJECT", properties={"city": types.Schema(type="STRING")}
                ),
            )
            config = types.LiveConnectConfig(
                response_modalities=["TEXT"], tools=[types.Tool(function_declarations=[weather])]
            )
            async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
                await session.send_realtime_input(text="get_weather(city=Paris)")
                call = None
                async for message in session.receive():
                    if message.tool_call:
                        call = message.tool_call.function_calls[0]
                        break
                assert call is not None
                await session.send_tool_response(
                    function_responses=[
                        types.FunctionResponse(id=call.id, name=call.name, response={"temp": 21})
                    ]
                )
                return call, await receive_turn(session)

        call, messages = await run_sdk(scenario)
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    assert text_of(messages) == 'echo #1: get_weather -> {"temp":21}'


async def test_resumption_across_two_connections(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            config = types.LiveConnectConfig(
                response_modalities=["TEXT"], session_resumption=types.SessionResumptionConfig()
            )
            handle = None
            async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
                await session.send_realtime_input(text="one")
                await receive_turn(session)
                async for message in session.receive():
                    update = message.session_resumption_update
                    if update and update.resumable:
                        handle = update.new_handle
                        break
            config.session_resumption = types.SessionResumptionConfig(handle=handle)
            async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
                await session.send_realtime_input(text="two")
                return await receive_turn(session)

        messages = await run_sdk(scenario)
    assert text_of(messages) == "echo #2: two"


async def test_go_away_arrives_before_the_close(tls_files):
    async with emulator(tls_files, session_lifetime=1.0, go_away_notice=0.5) as emu:

        async def scenario():
            client = sdk_client(emu)
            config = types.LiveConnectConfig(response_modalities=["TEXT"])
            async with client.aio.live.connect(model=TEXT_MODEL, config=config) as session:
                go_away = None
                try:
                    async for message in session.receive():
                        go_away = go_away or message.go_away
                except errors.APIError as closed:
                    return go_away, closed
                return go_away, None

        go_away, closed = await run_sdk(scenario)
    assert go_away is not None
    assert go_away.time_left == "0.5s"
    assert closed is not None
    assert closed.code == 1011


async def test_bad_key_is_refused(tls_files):
    async with emulator(tls_files, api_keys=("good-key",)) as emu:

        async def scenario():
            client = sdk_client(emu, api_key="bad-key")
            with pytest.raises(errors.APIError) as refused:
                async with client.aio.live.connect(model=TEXT_MODEL):
                    pass
            return refused.value

        refused = await run_sdk(scenario)
    assert refused.code == 1008
    assert "API key not valid" in str(refused)


async def test_unknown_model_is_refused(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu, api_version="v1beta")
            with pytest.raises(errors.APIError) as refused:
                async with client.aio.live.connect(model="gemini-0-nonexistent"):
                    pass
            return refused.value

        refused = await run_sdk(scenario)
    assert refused.code == 1008
    assert (
        "models/gemini-0-nonexistent is not found for API version v1beta,"
        " or is not supported for bidiGenerateContent." in str(refused)
    )


async def test_ephemeral_token_minted_and_used(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            minting = sdk_client(emu, api_version="v1alpha")
            token = await minting.aio.auth_tokens.create(
                config=types.CreateAuthTokenConfig(
                    uses=1,
                    live_connect_constraints=types.LiveConnectConstraints(
                        model=TEXT_MODEL,
                        config=types.LiveConnectConfig(response_modalities=["TEXT"]),
                    ),
                )
            )
            client = sdk_client(emu, api_key=token.name, api_version="v1alpha")
            # The token locks the model and TEXT responses, whatever the client asks.
            async with client.aio.live.connect(model=AUDIO_MODEL) as session:
                await session.send_realtime_input(text="hi")
                messages = await receive_turn(session)
            with pytest.raises(errors.APIError) as used_up:
                async with client.aio.live.connect(model=AUDIO_MODEL):
                    pass
            return token, messages, used_up.value

        token, messages, used_up = await run_sdk(scenario)
    assert token.name.startswith("auth_tokens/")
    assert text_of(messages) == "echo #1: hi"
    assert used_up.code == 1008
    assert "no uses left" in str(used_up)


async def test_models_list_discovers_live_models(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            return [m async for m in await client.aio.models.list(config={"page_size": 2})]

        models = await run_sdk(scenario)
    names = [m.name for m in models]
    assert "models/gemini-3.1-flash-live-preview" in names
    assert "models/gemini-live-2.5-flash-preview" in names
    assert all("bidiGenerateContent" in (m.supported_actions or []) for m in models)


async def test_vertex_express_mode(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            context = ssl.create_default_context(cafile=emu.ca_file)
            client = genai.Client(
                vertexai=True,
                api_key="vertex-key",
                http_options={
                    "base_url": emu.http_base_url,
                    "async_client_args": {"ssl": context, "verify": context},
                },
            )
            config = types.LiveConnectConfig(response_modalities=["TEXT"])
            async with client.aio.live.connect(
                model="gemini-live-2.5-flash", config=config
            ) as session:
                await session.send_client_content(
                    turns=types.Content(role="user", parts=[types.Part(text="hola")])
                )
                return await receive_turn(session)

        messages = await run_sdk(scenario)
    assert text_of(messages) == "echo #1: hola"
    assert messages[-1].usage_metadata.response_token_count == 4  # from candidatesTokenCount
