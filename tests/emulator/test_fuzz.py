"""Any client frames: the connection may close (with a proper code), the emulator survives."""

from __future__ import annotations

import base64
import json

import trio
import trio_websocket
from emulator_testkit import TEXT_MODEL, MemoryEmulator, fast_config, model_text, pcm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from livesvc.wire import (
    FunctionDeclaration,
    GenerationConfig,
    RealtimeInputConfig,
    SessionResumptionConfig,
    Tool,
)

_KEYS = st.sampled_from(
    [
        "clientContent",
        "client_content",
        "realtimeInput",
        "realtime_input",
        "toolResponse",
        "tool_response",
        "contextUpdate",
        "setup",
        "turns",
        "turnComplete",
        "turn_complete",
        "parts",
        "text",
        "role",
        "audio",
        "data",
        "mimeType",
        "mediaChunks",
        "inlineData",
        "functionResponses",
        "id",
        "name",
        "response",
        "scheduling",
        "willContinue",
        "activityStart",
        "activityEnd",
        "audioStreamEnd",
        "tools",
        "functionDeclarations",
    ]
)
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=16)
    | st.sampled_from(
        ["ping", "ping(a=1)", "notify", "user", "model", "audio/pcm;rate=16000", "INTERRUPT"]
    )
)
_JSON = st.recursive(
    _LEAVES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(_KEYS | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=24,
)
_AUDIO = base64.b64encode(pcm(3000, 60)).decode()
_VALID = st.sampled_from(
    [
        {"realtimeInput": {"text": "ping"}},
        {"realtimeInput": {"text": "notify(x=1)"}},
        {"realtimeInput": {"audio": {"data": _AUDIO, "mimeType": "audio/pcm;rate=16000"}}},
        {"realtimeInput": {"audioStreamEnd": True}},
        {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}]}},
        {"clientContent": {"turnComplete": True}},
        {"toolResponse": {"functionResponses": [{"name": "ping", "response": {}}]}},
        {"toolResponse": {"functionResponses": [{"id": "x", "scheduling": "INTERRUPT"}]}},
        {"toolResponse": {"functionResponses": [{"name": "notify", "willContinue": True}]}},
        {"toolResponse": {"functionResponses": [{"name": "notify", "scheduling": "INTERRUPT"}]}},
        {"toolResponse": {"functionResponses": [{"name": "notify", "scheduling": "SILENT"}]}},
    ]
)
# Mostly frames that decode, so the fuzz gets past the first frame into the session.
_WELL_FORMED = st.one_of(
    _VALID,
    st.dictionaries(
        st.sampled_from(["clientContent", "realtimeInput", "toolResponse", "contextUpdate"]),
        st.dictionaries(_KEYS, _JSON, max_size=3),
        min_size=1,
        max_size=1,
    ),
)
_FRAMES = st.lists(
    st.one_of(
        _WELL_FORMED.map(json.dumps),
        _WELL_FORMED.map(json.dumps),
        _WELL_FORMED.map(json.dumps),
        _JSON.map(json.dumps),
        st.text(max_size=40),
        st.binary(max_size=40),
    ),
    max_size=10,
)
_CLOSE_CODES = {1000, 1007, 1008, 1011}
_TOOLS = [
    Tool(
        function_declarations=[
            FunctionDeclaration(name="ping"),
            FunctionDeclaration(name="notify", behavior="NON_BLOCKING"),
        ]
    )
]


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frames=_FRAMES)
async def test_any_frames_never_hurt_the_emulator(frames, nursery, autojump_clock):
    emulator = MemoryEmulator(fast_config(reply_interval=0.01), nursery)
    with capture_logs() as logs:
        async with emulator.connect() as client:
            await client.setup(
                TEXT_MODEL,
                generation_config=GenerationConfig(response_modalities=["TEXT"]),
                tools=_TOOLS,
                session_resumption=SessionResumptionConfig(),
                realtime_input_config=RealtimeInputConfig(),
            )
            code = None
            try:
                for frame in frames:
                    await client.ws.send_message(frame)
                with trio.move_on_after(5):
                    while True:
                        await client.recv()
            except trio_websocket.ConnectionClosed as closed:
                code = closed.reason.code if closed.reason else None
        async with emulator.connect() as probe:
            await probe.setup(
                TEXT_MODEL, generation_config=GenerationConfig(response_modalities=["TEXT"])
            )
            await probe.type_text("still alive")
            with trio.fail_after(60):
                reply = await probe.turn()
    assert code is None or code in _CLOSE_CODES
    assert model_text(reply) == "echo #1: still alive"
    assert not [e for e in logs if e["event"] == "server.connection_failed"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(messages=st.lists(_VALID, max_size=12))
async def test_valid_message_sequences_leave_the_session_answering(
    messages, nursery, autojump_clock
):
    emulator = MemoryEmulator(fast_config(reply_interval=0.01), nursery)
    with capture_logs() as logs:
        async with emulator.connect() as client:
            await client.setup(
                TEXT_MODEL,
                generation_config=GenerationConfig(response_modalities=["TEXT"]),
                tools=_TOOLS,
                session_resumption=SessionResumptionConfig(),
            )
            for message in messages:
                await client.send_json(message)
                await trio.sleep(0.005)  # let replies interleave with the next message
            await client.type_text("final words")
            replies: list[str] = []
            with trio.fail_after(60):  # virtual seconds: a session that stops answering fails
                while not replies or not replies[-1].endswith("final words"):
                    replies.append(model_text(await client.turn()))
    assert not [e for e in logs if e["event"] == "server.connection_failed"]
