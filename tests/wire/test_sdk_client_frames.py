"""Client frames captured from the real google-genai SDK decode and re-encode faithfully.

The SDK (``client.aio.live.connect`` and its ``send_*`` methods) talks to a small
capturing TLS WebSocket server on 127.0.0.1; every frame it sends must decode with
``decode_client``, and ``encode_client`` of the result must carry the same content
(compared after folding key casing, base64 alphabet and int64 spelling).
"""

import asyncio
import json
import ssl
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trustme
import websockets
from google import genai
from google.genai import types

from livesvc.wire import (
    ActivityEnd,
    ActivityStart,
    Blob,
    ClientMessage,
    FunctionResponse,
    decode_client,
    encode_client,
)

IMAGE = bytes([0xFB, 0xFF, 0xFE, 0x00, 0x01, 0x3E, 0x3F])  # "-__-AAE-Pw" in URL-safe base64
PCM = bytes(range(256)) * 2 + bytes([0xFB, 0xFF]) * 64  # 640 bytes = 20 ms of 16 kHz mono


def get_weather(city: str) -> str:
    """Get weather for a city."""
    return "sunny"


def _tools() -> list[Any]:
    return [
        types.Tool(google_search=types.GoogleSearch()),
        types.Tool(code_execution=types.ToolCodeExecution()),
        types.Tool(url_context=types.UrlContext()),
        types.Tool(
            function_declarations=[
                types.FunctionDeclaration(
                    name="turn_on",
                    description="Turns a light on.",
                    parameters=types.Schema(
                        type=types.Type.OBJECT,
                        properties={"room": types.Schema(type=types.Type.STRING)},
                        required=["room"],
                    ),
                    response=types.Schema(type=types.Type.STRING),
                    behavior=types.Behavior.NON_BLOCKING,
                ),
                types.FunctionDeclaration(
                    name="lookup",
                    parameters_json_schema={
                        "type": "object",
                        "properties": {"q": {"type": "string"}},
                    },
                    response_json_schema={"type": "string"},
                    behavior=types.Behavior.BLOCKING,
                ),
            ]
        ),
        get_weather,  # the SDK turns a Python callable into a declaration
    ]


def _full_config(*, vertex: bool) -> types.LiveConnectConfig:
    """A config with every field the SDK can set on this backend."""
    backend_only: dict[str, Any] = (
        {"explicit_vad_signal": True} if vertex else {"labels": {"team": "voice", "env": "test"}}
    )
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        temperature=0.5,
        top_p=0.9,
        top_k=40,
        max_output_tokens=100,
        media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW,
        seed=7,
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore")
            ),
            language_code="en-US",
        ),
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=128),
        enable_affective_dialog=True,
        translation_config=types.TranslationConfig(
            target_language_code="de-DE", echo_target_language=True
        ),
        system_instruction="You are helpful.",
        tools=_tools(),
        session_resumption=types.SessionResumptionConfig(
            handle="H123", transparent=True if vertex else None
        ),
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(language_codes=["en-US"]),
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(
                disabled=False,
                start_of_speech_sensitivity=types.StartSensitivity.START_SENSITIVITY_LOW,
                end_of_speech_sensitivity=types.EndSensitivity.END_SENSITIVITY_HIGH,
                prefix_padding_ms=20,
                silence_duration_ms=100,
            ),
            activity_handling=types.ActivityHandling.NO_INTERRUPTION,
            turn_coverage=types.TurnCoverage.TURN_INCLUDES_ALL_INPUT,
        ),
        context_window_compression=types.ContextWindowCompressionConfig(
            trigger_tokens=25600, sliding_window=types.SlidingWindow(target_tokens=12800)
        ),
        proactivity=types.ProactivityConfig(proactive_audio=True),
        history_config=types.HistoryConfig(initial_history_in_client_content=True),
        avatar_config=types.AvatarConfig(
            avatar_name="ava",
            customized_avatar=types.CustomizedAvatar(image_mime_type="image/png", image_data=IMAGE),
            audio_bitrate_bps=64000,
            video_bitrate_bps=1000000,
        ),
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                threshold=types.HarmBlockThreshold.BLOCK_LOW_AND_ABOVE,
            )
        ],
        **backend_only,
    )


def _alternate_config(*, vertex: bool) -> types.LiveConnectConfig:
    """Fields that exclude those of the full config: a cloned voice, thinking level."""
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                replicated_voice_config=types.ReplicatedVoiceConfig(
                    mime_type="audio/wav",
                    voice_sample_audio=PCM,
                    consent_audio=None if vertex else IMAGE,
                )
            )
        ),
        thinking_config=types.ThinkingConfig(thinking_level=types.ThinkingLevel.LOW),
        system_instruction=types.Content(
            role="user", parts=[types.Part(text="one"), types.Part(text="two")]
        ),
    )


async def _session_traffic(session: Any) -> None:
    """Every kind of frame a session sends after setup."""
    await session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text="hi")]), turn_complete=True
    )
    await session.send_client_content(turn_complete=True)
    await session.send_client_content(
        turns=[
            types.Content(role="user", parts=[types.Part(text="a")]),
            types.Content(role="model", parts=[types.Part(text="b")]),
        ],
        turn_complete=False,
    )
    await session.send_client_content(
        turns=types.Content(
            role="user",
            parts=[
                types.Part(inline_data=types.Blob(data=IMAGE, mime_type="image/jpeg")),
                types.Part(text="thinking", thought=True, thought_signature=IMAGE),
                types.Part(
                    function_call=types.FunctionCall(id="fc0", name="lookup", args={"q": "x"})
                ),
                types.Part(
                    function_response=types.FunctionResponse(
                        id="fc0", name="lookup", response={"output": "y"}
                    )
                ),
                types.Part(
                    file_data=types.FileData(file_uri="gs://b/o.png", mime_type="image/png")
                ),
            ],
        )
    )
    await session.send_realtime_input(audio=types.Blob(data=PCM, mime_type="audio/pcm;rate=16000"))
    await session.send_realtime_input(video=types.Blob(data=IMAGE, mime_type="image/jpeg"))
    await session.send_realtime_input(media=types.Blob(data=PCM, mime_type="audio/pcm;rate=16000"))
    await session.send_realtime_input(text="hello")
    await session.send_realtime_input(activity_start=types.ActivityStart())
    await session.send_realtime_input(activity_end=types.ActivityEnd())
    await session.send_realtime_input(audio_stream_end=True)
    await session.send_tool_response(
        function_responses=types.FunctionResponse(id="fc1", name="f", response={"result": "ok"})
    )
    await session.send_tool_response(
        function_responses=[
            types.FunctionResponse(
                id="fc2",
                name="turn_on",
                response={"result": "on"},
                scheduling=types.FunctionResponseScheduling.INTERRUPT,
                will_continue=True,
            ),
            types.FunctionResponse(
                id="fc3",
                name="snap",
                response={"result": "see image"},
                scheduling=types.FunctionResponseScheduling.WHEN_IDLE,
                parts=[
                    types.FunctionResponsePart(
                        inline_data=types.FunctionResponseBlob(data=IMAGE, mime_type="image/png")
                    )
                ],
            ),
        ]
    )
    await session.send_context_update(system_instruction="Be brief.", tools=_tools()[:1])
    await session.send_context_update(tools=[])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        await session.send(input="legacy text", end_of_turn=True)
        await session.send(input=types.Blob(data=PCM, mime_type="audio/pcm;rate=16000"))


Script = Callable[[Any], Awaitable[None]]


async def _capture(
    ca: trustme.CA, *, vertex: bool, sessions: list[tuple[types.LiveConnectConfig, Script]]
) -> list[list[str | bytes]]:
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    captured: list[list[str | bytes]] = []

    async def handler(ws: Any) -> None:
        frames: list[str | bytes] = []
        captured.append(frames)
        frames.append(await ws.recv())
        await ws.send(b'{"setupComplete": {}}')
        async for frame in ws:
            frames.append(frame)

    async with websockets.serve(handler, "127.0.0.1", 0, ssl=server_ctx) as server:
        port = server.sockets[0].getsockname()[1]
        http_options = types.HttpOptions(
            base_url=f"https://127.0.0.1:{port}", async_client_args={"ssl": client_ctx}
        )
        client = (
            genai.Client(vertexai=True, api_key="VKEY", http_options=http_options)
            if vertex
            else genai.Client(api_key="KEY", http_options=http_options)
        )
        for config, script in sessions:
            async with client.aio.live.connect(
                model="gemini-live-2.5-flash", config=config
            ) as session:
                await script(session)
    return captured


async def _nothing(session: Any) -> None:
    return None


@pytest.fixture(scope="module")
def captured_frames() -> dict[str, list[str | bytes]]:
    """All frames of both backends: {backend: [frame, ...]} (setup frames first per session)."""
    ca = trustme.CA()

    async def run() -> dict[str, list[str | bytes]]:
        out: dict[str, list[str | bytes]] = {}
        for backend, vertex in (("gemini", False), ("vertex", True)):
            sessions: list[tuple[types.LiveConnectConfig, Script]] = [
                (_full_config(vertex=vertex), _session_traffic),
                (_alternate_config(vertex=vertex), _nothing),
            ]
            per_session = await asyncio.wait_for(_capture(ca, vertex=vertex, sessions=sessions), 30)
            out[backend] = [frame for frames in per_session for frame in frames]
        return out

    return asyncio.run(run())


def _frames(captured: dict[str, list[str | bytes]]) -> list[tuple[str, int, str | bytes]]:
    return [
        (backend, i, frame)
        for backend, frames in captured.items()
        for i, frame in enumerate(frames)
    ]


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
def test_capture_covers_every_client_message_kind(
    captured_frames: dict[str, list[str | bytes]], backend: str
) -> None:
    kinds = [next(iter(json.loads(frame))) for frame in captured_frames[backend]]
    assert kinds.count("setup") == 2
    assert {"client_content", "realtime_input", "tool_response", "contextUpdate"} <= set(kinds)
    assert len(kinds) == 2 + 4 + 7 + 2 + 2 + 2


def test_every_captured_frame_round_trips(
    captured_frames: dict[str, list[str | bytes]], fold: Callable[[Any], Any]
) -> None:
    for backend, index, frame in _frames(captured_frames):
        msg = decode_client(frame)
        assert isinstance(msg, ClientMessage)
        original = fold(json.loads(frame))
        again = fold(json.loads(encode_client(msg)))
        assert again == original, (backend, index, frame)
        assert decode_client(encode_client(msg)) == msg


def _setups(captured: dict[str, list[str | bytes]], backend: str) -> list[ClientMessage]:
    return [m for m in map(decode_client, captured[backend]) if m.setup is not None]


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
def test_full_setup_decodes_into_typed_fields(
    captured_frames: dict[str, list[str | bytes]], backend: str
) -> None:
    setup = _setups(captured_frames, backend)[0].setup
    assert setup is not None
    gen = setup.generation_config
    assert gen is not None
    assert gen.response_modalities == ["AUDIO"]
    assert gen.top_k == 40
    assert gen.speech_config is not None
    assert gen.speech_config.voice_config is not None
    assert gen.speech_config.voice_config.prebuilt_voice_config is not None
    assert gen.speech_config.voice_config.prebuilt_voice_config.voice_name == "Kore"
    assert gen.thinking_config is not None
    assert gen.thinking_config.thinking_budget == 128
    assert gen.translation_config is not None
    assert gen.translation_config.target_language_code == "de-DE"
    assert gen.enable_affective_dialog is True
    assert setup.tools is not None
    declarations = [d for tool in setup.tools for d in tool.function_declarations or []]
    assert [d.behavior for d in declarations] == ["NON_BLOCKING", "BLOCKING", None]
    assert declarations[2].name == "get_weather"
    assert declarations[2].parameters_json_schema is not None
    assert setup.realtime_input_config is not None
    aad = setup.realtime_input_config.automatic_activity_detection
    assert aad is not None
    assert aad.silence_duration_ms == 100
    assert setup.realtime_input_config.turn_coverage == "TURN_INCLUDES_ALL_INPUT"
    assert setup.context_window_compression is not None
    assert setup.context_window_compression.trigger_tokens == 25600
    assert setup.context_window_compression.sliding_window is not None
    assert setup.context_window_compression.sliding_window.target_tokens == 12800
    assert setup.proactivity is not None
    assert setup.proactivity.proactive_audio is True
    assert setup.history_config is not None
    assert setup.history_config.initial_history_in_client_content is True
    assert setup.avatar_config is not None
    assert setup.avatar_config.customized_avatar is not None
    assert setup.avatar_config.customized_avatar.image_data == IMAGE
    assert setup.output_audio_transcription is not None
    assert setup.output_audio_transcription.language_codes == ["en-US"]
    assert setup.safety_settings is not None
    assert setup.safety_settings[0].threshold == "BLOCK_LOW_AND_ABOVE"
    assert setup.session_resumption is not None
    assert setup.session_resumption.handle == "H123"
    if backend == "vertex":
        assert setup.session_resumption.transparent is True
        assert setup.explicit_vad_signal is True
    else:
        assert setup.labels == {"team": "voice", "env": "test"}


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
def test_replicated_voice_bytes_decode(
    captured_frames: dict[str, list[str | bytes]], backend: str
) -> None:
    setup = _setups(captured_frames, backend)[1].setup
    assert setup is not None
    assert setup.generation_config is not None
    speech = setup.generation_config.speech_config
    assert speech is not None
    assert speech.voice_config is not None
    voice = speech.voice_config.replicated_voice_config
    assert voice is not None
    assert voice.voice_sample_audio == PCM
    assert voice.consent_audio == (None if backend == "vertex" else IMAGE)


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
def test_realtime_and_tool_frames_decode_to_the_sent_values(
    captured_frames: dict[str, list[str | bytes]], backend: str
) -> None:
    messages = [decode_client(f) for f in captured_frames[backend]]
    realtime = [m.realtime_input for m in messages if m.realtime_input is not None]
    assert realtime[0].audio == Blob(data=PCM, mime_type="audio/pcm;rate=16000")
    assert realtime[1].video == Blob(data=IMAGE, mime_type="image/jpeg")
    assert realtime[2].media_chunks == [Blob(data=PCM, mime_type="audio/pcm;rate=16000")]
    assert realtime[3].text == "hello"
    assert realtime[4].activity_start == ActivityStart()
    assert realtime[5].activity_end == ActivityEnd()
    assert realtime[6].audio_stream_end is True
    tool = [m.tool_response for m in messages if m.tool_response is not None]
    assert tool[1].function_responses is not None
    first, second = tool[1].function_responses
    assert first == FunctionResponse(
        id="fc2",
        name="turn_on",
        response={"result": "on"},
        scheduling="INTERRUPT",
        will_continue=True,
    )
    assert second.parts is not None
    assert second.parts[0].inline_data == Blob(data=IMAGE, mime_type="image/png")
    update = [m.context_update for m in messages if m.context_update is not None]
    assert update[0].system_instruction is not None
    assert update[1].tools is not None
    assert update[1].tools.tools == []
