"""Gemini 3.8 Live against the emulator, with the stock google-genai SDK (its receive()
runs until the interaction is IDLE, not to the first turnComplete)."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import errors, types

from .test_sdk_e2e import emulator, run_sdk, sdk_client

pytestmark = pytest.mark.filterwarnings("ignore::Warning")

LIVE = "gemini-3.8-live"
ET = "gemini-3.8-live-extended-thinking"


def config(**kw: Any) -> types.LiveConnectConfig:
    base: dict[str, Any] = {
        "response_modalities": ["AUDIO"],
        "output_audio_transcription": types.AudioTranscriptionConfig(),
    }
    base.update(kw)
    return types.LiveConnectConfig(**base)


def thinking(level: str = "LOW") -> types.ThinkingConfig:
    return types.ThinkingConfig(thinking_level=level)


def weather_tool(behavior: str | None = None) -> types.Tool:
    declaration: dict[str, Any] = {
        "name": "get_weather",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}},
    }
    if behavior is not None:
        declaration["behavior"] = behavior
    return types.Tool(function_declarations=[types.FunctionDeclaration(**declaration)])


def said(messages: list[types.LiveServerMessage]) -> str:
    return "".join(
        m.server_content.output_transcription.text or ""
        for m in messages
        if m.server_content and m.server_content.output_transcription
    )


def statuses(messages: list[types.LiveServerMessage]) -> list[str | None]:
    return [
        m.server_content.interaction_status.value
        if m.server_content.interaction_status is not None
        else None
        for m in messages
        if m.server_content and m.server_content.turn_complete
    ]


async def ask(session: Any, text: str) -> None:
    await session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True
    )


async def test_a_plain_turn_ends_idle(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            async with client.aio.live.connect(model=LIVE, config=config()) as session:
                await ask(session, "hello")
                return [m async for m in session.receive()]

        messages = await run_sdk(scenario)
    assert said(messages) == "echo #1: hello"
    assert statuses(messages) == ["IDLE"]


async def test_extended_thinking_fills_calls_in_the_background_then_answers(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            setup = config(
                thinking_config=thinking(),
                tools=[weather_tool()],
                session_resumption=types.SessionResumptionConfig(),
            )
            async with client.aio.live.connect(model=ET, config=setup) as session:
                await ask(session, "get_weather(city=Oslo)")
                before: list[types.LiveServerMessage] = []
                calls = []
                async for message in session.receive():
                    before.append(message)
                    if message.tool_call is not None:
                        calls.extend(message.tool_call.function_calls or [])
                    content = message.server_content
                    if content is not None and content.turn_complete:
                        break  # the filler's turnComplete: the interaction goes on
                call = calls[0]
                await session.send_tool_response(
                    function_responses=[
                        types.FunctionResponse(
                            id=call.id, name=call.name, response={"sky": "clear"}
                        )
                    ]
                )
                after = [m async for m in session.receive()]
                return before, after, call

        before, after, call = await run_sdk(scenario)
    assert (call.name, call.args) == ("get_weather", {"city": "Oslo"})
    assert said(before) == "echo #1: get_weather(city=Oslo)"  # the filler
    assert statuses(before) == ["IN_PROGRESS"]
    assert said(after) == 'echo #1: get_weather -> {"sky":"clear"}'
    assert statuses(after) == ["IDLE"]
    # No handle to resume with while the model works (the next comes after IDLE).
    updates = [
        (m.session_resumption_update.resumable, bool(m.session_resumption_update.new_handle))
        for m in after
        if m.session_resumption_update is not None
    ]
    assert updates
    assert set(updates) == {(False, False)}


async def test_a_blocking_call_is_cancelled_by_new_input(tls_files):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            setup = config(tools=[weather_tool("BLOCKING")])
            async with client.aio.live.connect(model=LIVE, config=setup) as session:
                await ask(session, "get_weather(city=Oslo)")
                async for message in session.receive():
                    if message.tool_call is not None:
                        call_id = message.tool_call.function_calls[0].id
                        break
                await ask(session, "never mind")
                cancelled: list[str] = []
                messages = []
                async for message in session.receive():
                    messages.append(message)
                    if message.tool_call_cancellation is not None:
                        cancelled.extend(message.tool_call_cancellation.ids or [])
                rest = [m async for m in session.receive()]
                return call_id, cancelled, messages + rest

        call_id, cancelled, messages = await run_sdk(scenario)
    assert cancelled == [call_id]
    assert said(messages).endswith("echo #2: never mind")


@pytest.mark.parametrize(
    ("model", "setup", "field"),
    [
        (LIVE, {"thinking_config": thinking()}, "generationConfig.thinkingConfig"),
        (
            LIVE,
            {"proactivity": types.ProactivityConfig(proactive_audio=False)},
            "proactivity.proactiveAudio",
        ),
        (LIVE, {"enable_affective_dialog": True}, "generationConfig.enableAffectiveDialog"),
        (ET, {}, "generationConfig.thinkingConfig.thinkingLevel"),
        (ET, {"thinking_config": thinking("MINIMAL")}, "thinkingLevel: MINIMAL"),
        (
            ET,
            {"thinking_config": types.ThinkingConfig(thinking_level="LOW", thinking_budget=512)},
            "generationConfig.thinkingConfig.thinkingBudget",
        ),
        (
            ET,
            {"thinking_config": thinking(), "tools": [weather_tool("BLOCKING")]},
            "tools.functionDeclarations.behavior",
        ),
    ],
)
async def test_each_invalid_setup_is_refused_with_1007_naming_the_field(
    tls_files, model, setup, field
):
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            async with client.aio.live.connect(model=model, config=config(**setup)) as session:
                await ask(session, "hello")
                return [m async for m in session.receive()]

        with pytest.raises(errors.APIError) as refused:
            await run_sdk(scenario)
    assert refused.value.code == 1007
    assert field in str(refused.value)


def transcripts(messages: list[types.LiveServerMessage]) -> list[tuple[str, str]]:
    """(direction, text) in arrival order, merging consecutive pieces of one direction."""
    out: list[tuple[str, str]] = []
    for m in messages:
        content = m.server_content
        if content is None:
            continue
        for direction, tr in (
            ("in", content.input_transcription),
            ("out", content.output_transcription),
        ):
            if tr is not None and tr.text:
                if out and out[-1][0] == direction:
                    out[-1] = (direction, out[-1][1] + tr.text)
                else:
                    out.append((direction, tr.text))
    return out


async def filler_and_call(session: Any, text: str) -> Any:
    await ask(session, text)
    call = None
    async for message in session.receive():
        if message.tool_call is not None:
            call = message.tool_call.function_calls[0]
        if message.server_content and message.server_content.turn_complete:
            break
    return call


async def test_an_interrupt_result_waits_for_the_user_to_finish_speaking(tls_files):
    """On 3.8 an INTERRUPT-scheduled result is not spoken over the user: it comes once the
    user's speech ends, before the answer to what the user said."""
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            setup = config(
                thinking_config=thinking(),
                tools=[weather_tool()],
                input_audio_transcription=types.AudioTranscriptionConfig(),
                realtime_input_config=types.RealtimeInputConfig(
                    automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
                ),
            )
            async with client.aio.live.connect(model=ET, config=setup) as session:
                call = await filler_and_call(session, "get_weather(city=Oslo)")
                await session.send_realtime_input(activity_start=types.ActivityStart())
                await session.send_tool_response(
                    function_responses=[
                        types.FunctionResponse(
                            id=call.id,
                            name=call.name,
                            response={"t": 3},
                            scheduling=types.FunctionResponseScheduling.INTERRUPT,
                        )
                    ]
                )
                await session.send_realtime_input(
                    audio=types.Blob(data=b"\x00\x00" * 16000, mime_type="audio/pcm;rate=16000")
                )
                await session.send_realtime_input(activity_end=types.ActivityEnd())
                first = [m async for m in session.receive()]
                return first

        messages = await run_sdk(scenario)
    heard = transcripts(messages)
    assert heard[0] == ("in", "<audio 1000 ms>")  # the user finished first...
    assert heard[1] == ("out", 'echo #1: get_weather -> {"t":3}')  # ...then the result


async def test_barge_in_during_background_work_keeps_the_interaction_open(tls_files):
    """New input while the model works: the new request is answered, the interaction stays
    IN_PROGRESS until the pending call is answered, then ends IDLE."""
    async with emulator(tls_files) as emu:

        async def scenario():
            client = sdk_client(emu)
            setup = config(thinking_config=thinking(), tools=[weather_tool()])
            async with client.aio.live.connect(model=ET, config=setup) as session:
                call = await filler_and_call(session, "get_weather(city=Oslo)")
                await ask(session, "also, hello")
                middle = []
                async for message in session.receive():
                    middle.append(message)
                    if message.server_content and message.server_content.turn_complete:
                        break
                await session.send_tool_response(
                    function_responses=[
                        types.FunctionResponse(id=call.id, name=call.name, response={"t": 4})
                    ]
                )
                end = [m async for m in session.receive()]
                return middle, end

        middle, end = await run_sdk(scenario)
    assert said(middle) == "echo #2: also, hello"
    assert statuses(middle) == ["IN_PROGRESS"]
    assert said(end) == 'echo #1: get_weather -> {"t":4}'
    assert statuses(end) == ["IDLE"]
