"""ToolCallFinished: exactly one event per tool call, with its outcome, against the emulator.

The emulator calls a declared function when a user turn's whole text is its
name, so each turn below makes exactly one call.
"""

from __future__ import annotations

import trio

from livesvc.emulator import open_emulator
from livesvc.session import Closed, SessionEvent, ToolCallFinished, open_session
from livesvc.tools import tool

from .conftest import emulator_config, options


@tool
async def add(a: int, b: int) -> int:
    return a + b


@tool
def broken() -> str:
    raise ValueError("no luck")


@tool(timeout=0.2)
async def slow() -> str:
    await trio.sleep(30)
    return "never"


async def collect(
    events: trio.MemoryReceiveChannel[SessionEvent], into: list[SessionEvent]
) -> None:
    async for event in events:
        into.append(event)


async def test_ok_error_bad_arguments_and_timeout_each_give_one_event() -> None:
    """Each call ends in exactly one ToolCallFinished, on events() and on the callback alike."""
    seen: list[SessionEvent] = []
    called_back: list[ToolCallFinished] = []
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            # The collector outlives the session: it ends after Closed.
            async with (
                trio.open_nursery() as nursery,
                open_session(
                    **options(emu, tools=[add, broken, slow]),
                    on_tool_call_finished=called_back.append,
                ) as session,
            ):
                nursery.start_soon(collect, session.events(), seen)
                for text in ("add(a=2, b=3)", "broken", "add(a=x)", "slow"):
                    await session.send_text(text)
                    await session.wait_turn_complete()
    finished = [e for e in seen if isinstance(e, ToolCallFinished)]
    assert [(e.name, e.outcome) for e in finished] == [
        ("add", "ok"),
        ("broken", "error"),
        ("add", "bad_arguments"),
        ("slow", "timeout"),
    ]
    assert all(e.call_id for e in finished)
    assert len({e.call_id for e in finished}) == 4
    assert finished[3].duration_seconds >= 0.2  # the whole timeout
    assert called_back == finished
    assert isinstance(seen[-1], Closed)


async def test_a_call_cancelled_by_barge_in_gives_one_cancelled_event() -> None:
    """The user interrupts a running tool: one ToolCallFinished(outcome="cancelled")."""
    started = trio.Event()

    @tool
    async def lookup() -> str:
        started.set()
        await trio.sleep(30)
        return "late"

    seen: list[SessionEvent] = []
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            async with (
                trio.open_nursery() as nursery,
                open_session(**options(emu, tools=[lookup])) as session,
            ):
                nursery.start_soon(collect, session.events(), seen)
                await session.send_text("lookup")
                await started.wait()
                await session.send_text("never mind")  # barge-in
                await session.wait_turns(2)
                assert session.stats["tools_cancelled"] == 1
    finished = [e for e in seen if isinstance(e, ToolCallFinished)]
    assert [(e.name, e.outcome) for e in finished] == [("lookup", "cancelled")]
    assert 0 < finished[0].duration_seconds < 30
