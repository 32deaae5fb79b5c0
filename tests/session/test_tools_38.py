"""Gemini 3.8 tool rules through a whole session, on the virtual clock (scripted server).

The server plays an extended-thinking interaction: it calls a lookup twice with the
same arguments, ends an utterance with ``turnComplete`` + ``IN_PROGRESS``, calls it
a third time, ends the interaction with ``IDLE``, and calls it once more.
"""

from __future__ import annotations

from typing import Any

import trio

from livesvc.session import KeepalivePolicy, open_session
from livesvc.tools import tool
from livesvc.wire import (
    FunctionCall,
    FunctionResponse,
    ServerContent,
    ServerMessage,
    ToolCall,
)

from .fakes import FakeConnection, FakeLive

ET = "gemini-3.8-live-extended-thinking"


def tool_call(cid: str, name: str, **args: Any) -> ServerMessage:
    return ServerMessage(
        tool_call=ToolCall(function_calls=[FunctionCall(id=cid, name=name, args=args)])
    )


def status(value: str) -> ServerMessage:
    return ServerMessage(server_content=ServerContent(turn_complete=True, interaction_status=value))


async def responses(conn: FakeConnection, count: int) -> list[FunctionResponse]:
    out: list[FunctionResponse] = []
    while len(out) < count:
        message = await conn.receive()
        if message.tool_response is not None:
            out.extend(message.tool_response.function_responses or ())
    return out


async def test_repeats_are_suppressed_until_the_interaction_is_idle(
    autojump_clock: trio.abc.Clock,
) -> None:
    """IN_PROGRESS keeps the interaction open (repeat answered from the first run); IDLE ends it."""
    runs: list[float] = []
    answered: list[FunctionResponse] = []
    done = trio.Event()

    @tool(suppress_repeats=True)
    async def find(city: str) -> dict[str, Any]:
        """Find flights."""
        runs.append(trio.current_time())
        await trio.sleep(2)
        return {"city": city, "run": len(runs)}

    async def server(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await conn.send(tool_call("1", "find", city="Oslo"))
        await conn.send(tool_call("2", "find", city="Oslo"))
        answered.extend(await responses(conn, 2))
        await conn.send(status("IN_PROGRESS"))
        await conn.send(tool_call("3", "find", city="Oslo"))
        answered.extend(await responses(conn, 1))
        await conn.send(status("IDLE"))
        await conn.send(tool_call("4", "find", city="Oslo"))
        answered.extend(await responses(conn, 1))
        done.set()
        await trio.sleep_forever()

    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            live = FakeLive(nursery, server)
            async with open_session(
                model=ET,
                api_key="k",
                tools=[find],
                dial=live.dial,
                keepalive=KeepalivePolicy(interval=60.0, timeout=120.0),
            ) as session:
                await done.wait()
                stats = session.stats
            nursery.cancel_scope.cancel()
    assert live.connections[0].setup is not None
    setup = live.connections[0].setup.setup
    assert setup is not None
    assert setup.generation_config is not None
    assert setup.generation_config.thinking_config is not None
    assert setup.generation_config.thinking_config.thinking_level == "LOW"
    assert len(runs) == 2
    assert [(r.id, r.response) for r in answered] == [
        ("1", {"city": "Oslo", "run": 1}),
        ("2", {"city": "Oslo", "run": 1}),
        ("3", {"city": "Oslo", "run": 1}),
        ("4", {"city": "Oslo", "run": 2}),
    ]
    assert stats["tools_completed"] == 2


async def test_a_failing_tool_is_answered_informatively_on_38(
    autojump_clock: trio.abc.Clock,
) -> None:
    """On 3.8 the model learns the failure is not worth retrying; on 2.5 the old shape stays."""

    @tool
    async def broken() -> str:
        """Always fails."""
        raise ValueError("no luck")

    async def run(model: str) -> FunctionResponse:
        got: list[FunctionResponse] = []
        done = trio.Event()

        async def server(conn: FakeConnection) -> None:
            await conn.accept_setup()
            await conn.send(tool_call("1", "broken"))
            got.extend(await responses(conn, 1))
            done.set()
            await trio.sleep_forever()

        with trio.fail_after(600):
            async with trio.open_nursery() as nursery:
                live = FakeLive(nursery, server)
                async with open_session(
                    model=model,
                    api_key="k",
                    tools=[broken],
                    dial=live.dial,
                    keepalive=KeepalivePolicy(interval=60.0, timeout=120.0),
                ):
                    await done.wait()
                nursery.cancel_scope.cancel()
        return got[0]

    on_38 = await run("gemini-3.8-live")
    assert on_38.response == {
        "status": "error",
        "retryable": False,
        "error_type": "ValueError",
        "message": "no luck",
    }
    on_25 = await run("gemini-2.5-flash-native-audio-preview-12-2025")
    assert on_25.response == {"error": {"type": "ValueError", "message": "no luck"}}
