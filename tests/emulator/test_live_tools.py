"""Tool calls: blocking round trips, cancellation on barge-in, NON_BLOCKING scheduling."""

from __future__ import annotations

import trio
from emulator_testkit import TEXT_MODEL, fast_config, live_client, model_text

from livesvc.emulator import open_emulator
from livesvc.wire import (
    ContextUpdate,
    ContextUpdateTools,
    FunctionDeclaration,
    FunctionResponse,
    GenerationConfig,
    ServerMessage,
    Tool,
    ToolResponse,
)

TEXT = GenerationConfig(response_modalities=["TEXT"])
TOOLS = [
    Tool(
        function_declarations=[
            FunctionDeclaration(name="get_weather", description="weather"),
            FunctionDeclaration(name="notify", behavior="NON_BLOCKING"),
        ]
    )
]


def _tool_call(message: ServerMessage) -> bool:
    return message.tool_call is not None


async def test_blocking_tool_call_round_trip():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT, tools=TOOLS)
                await client.say("get_weather(city=Paris, days=2)")
                [*_, call_frame] = await client.until(_tool_call)
                [call] = call_frame.tool_call.function_calls
                await client.send(
                    ToolResponse(
                        function_responses=[
                            FunctionResponse(id=call.id, name=call.name, response={"temp": 21})
                        ]
                    )
                )
                frames = await client.turn()
    assert call.name == "get_weather"
    assert call.args == {"city": "Paris", "days": 2}
    assert call.id
    assert model_text(frames) == 'echo #1: get_weather -> {"temp":21}'


async def test_state_is_awaiting_tool_until_the_response():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT, tools=TOOLS)
                await client.say("get_weather")
                [*_, call_frame] = await client.until(_tool_call)
                [info] = emu.sessions()
                [call] = call_frame.tool_call.function_calls
                await client.send(
                    ToolResponse(function_responses=[FunctionResponse(id=call.id, response={})])
                )
                await client.turn()
    assert info.state == "awaiting_tool"
    assert call.args == {}


async def test_response_without_id_is_matched_by_name():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT, tools=TOOLS)
                await client.say("get_weather")
                await client.until(_tool_call)
                await client.send(
                    ToolResponse(
                        function_responses=[
                            FunctionResponse(name="get_weather", response={"ok": 1})
                        ]
                    )
                )
                frames = await client.turn()
    assert model_text(frames) == 'echo #1: get_weather -> {"ok":1}'


async def test_barge_in_cancels_the_pending_call():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT, tools=TOOLS)
                await client.say("get_weather")
                [*_, call_frame] = await client.until(_tool_call)
                await client.type_text("never mind")
                cut = await client.turn()
                reply = await client.turn()
    [call] = call_frame.tool_call.function_calls
    assert cut[0].server_content.interrupted is True
    assert cut[1].tool_call_cancellation.ids == [call.id]
    assert cut[2].server_content.turn_complete is True
    assert model_text(reply) == "echo #2: never mind"


async def test_undeclared_name_is_just_text():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT, tools=TOOLS)
                await client.say("launch(rockets=1)")
                frames = await client.turn()
    assert not any(f.tool_call for f in frames)
    assert model_text(frames) == "echo #1: launch(rockets=1)"


async def test_context_update_replaces_the_tools():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup(TEXT_MODEL, generation_config=TEXT, tools=TOOLS)
                await client.send(ContextUpdate(tools=ContextUpdateTools(tools=[])))
                await client.say("get_weather")
                frames = await client.turn()
    assert not any(f.tool_call for f in frames)


async def _non_blocking_turn(client):
    """Start a NON_BLOCKING call; returns (call, frames of the turn that issued it)."""
    await client.setup(TEXT_MODEL, generation_config=TEXT, tools=TOOLS)
    await client.say("notify(msg=hi)")
    frames = await client.turn()
    [call] = next(f for f in frames if f.tool_call).tool_call.function_calls
    return call, frames


async def test_non_blocking_reply_goes_on_and_when_idle_result_follows():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                call, frames = await _non_blocking_turn(client)
                await client.send(
                    ToolResponse(
                        function_responses=[
                            FunctionResponse(
                                id=call.id, response={"sent": True}, scheduling="WHEN_IDLE"
                            )
                        ]
                    )
                )
                result = await client.turn()
    assert model_text(frames) == "echo #1: notify(msg=hi)"
    assert model_text(result) == 'echo #1: notify -> {"sent":true}'


async def test_silent_result_gets_no_reply():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                call, _ = await _non_blocking_turn(client)
                await client.send(
                    ToolResponse(
                        function_responses=[
                            FunctionResponse(id=call.id, response={}, scheduling="SILENT")
                        ]
                    )
                )
                await client.say("next")
                frames = await client.turn()
    assert model_text(frames) == "echo #2: next"


async def test_interrupt_result_cuts_the_current_reply(autojump_clock, memory_emulator):
    emulator = memory_emulator(reply_interval=1.0, text_chunk_chars=4)
    async with emulator.connect() as client:
        call, _ = await _non_blocking_turn(client)
        await client.say("a long second question")
        await client.until(lambda f: f.server_content and f.server_content.model_turn)
        await client.send(
            ToolResponse(
                function_responses=[
                    FunctionResponse(id=call.id, response={"n": 1}, scheduling="INTERRUPT")
                ]
            )
        )
        cut = await client.turn()
        result = await client.turn()
    assert cut[-2].server_content.interrupted is True
    assert model_text(result) == 'echo #1: notify -> {"n":1}'


async def test_when_idle_result_waits_for_the_current_reply(autojump_clock, memory_emulator):
    emulator = memory_emulator(reply_interval=1.0, text_chunk_chars=4)
    async with emulator.connect() as client:
        call, _ = await _non_blocking_turn(client)
        await client.say("second")
        started = await client.until(lambda f: f.server_content and f.server_content.model_turn)
        await client.send(
            ToolResponse(function_responses=[FunctionResponse(id=call.id, response={"n": 2})])
        )
        current = started + await client.turn()
        result = await client.turn()
    assert model_text(current) == "echo #2: second"
    assert model_text(result) == 'echo #1: notify -> {"n":2}'


async def test_models_without_async_calls_treat_non_blocking_as_blocking():
    async with open_emulator(fast_config()) as emu:
        with trio.fail_after(10):
            async with live_client(emu.live_url() + "?key=k") as client:
                await client.setup("models/gemini-3.1-flash-live-preview", tools=TOOLS)
                await client.say("notify")
                [*before, call_frame] = await client.until(_tool_call)
                [call] = call_frame.tool_call.function_calls
                await client.send(
                    ToolResponse(
                        function_responses=[FunctionResponse(id=call.id, response={"a": 1})]
                    )
                )
                frames = await client.turn()
    assert not any(f.server_content and f.server_content.model_turn for f in before)
    assert any(f.server_content and f.server_content.model_turn for f in frames)
