"""Tools against the emulator: answered, timed out, failed, cancelled by barge-in, across a goAway.

The emulator calls a declared function when a user turn's whole text is its
name (``slow`` or ``add(a=1, b=2)``), and answers with
``echo #N: name -> <the response as JSON>`` once the response arrives.
"""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from livesvc.emulator import open_emulator
from livesvc.session import Connected, Disconnected, extract_text, open_session
from livesvc.tools import tool
from livesvc.wire import FunctionResponse, ToolCall

from .conftest import emulator_config, options


class Transcript:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.events: list[Any] = []
        self.tool_call = trio.Event()
        self.cancelled: list[list[str]] = []
        self.resumed = trio.Event()
        self.go_away = trio.Event()

    def on_connect(self, event: Connected) -> None:
        self.events.append(event)
        if event.resumed:
            self.resumed.set()

    def on_message(self, message: Any) -> None:
        if message.tool_call is not None:
            self.tool_call.set()
        text = extract_text(message)
        if text:
            self.text.append(text)

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_message": self.on_message,
            "on_tool_call_cancellation": self.cancelled.append,
            "on_connect": self.on_connect,
            "on_disconnect": self.events.append,
            "on_go_away": lambda event: self.go_away.set(),
        }

    def reply(self) -> str:
        return "".join(self.text)


async def ask(session: Any, text: str) -> None:
    await session.send_text(text)
    await session.wait_turn_complete()


async def test_registered_tool_is_answered_and_the_model_continues() -> None:
    """A registered async tool's result goes back as a toolResponse; the model speaks it."""

    @tool
    async def add(a: int, b: int) -> int:
        return a + b

    t = Transcript()
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            async with open_session(**options(emu, tools=[add]), **t.callbacks()) as session:
                await ask(session, "add(a=2, b=3)")
                assert session.stats["tools_completed"] == 1
    assert t.reply() == 'echo #1: add -> {"result":5}'


async def test_tool_timeout_and_tool_error_become_error_responses() -> None:
    """A tool that overruns its timeout and one that raises are both answered with errors."""

    @tool(timeout=0.2)
    async def slow() -> str:
        await trio.sleep(30)
        return "never"

    @tool
    def broken() -> str:
        raise ValueError("no luck")

    t = Transcript()
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            async with open_session(
                **options(emu, tools=[slow, broken]), **t.callbacks()
            ) as session:
                await ask(session, "slow")
                await ask(session, "broken")
    assert t.reply() == (
        'echo #1: slow -> {"error":{"type":"timeout","message":"tool slow timed out after 0.2s"}}'
        'echo #2: broken -> {"error":{"type":"ValueError","message":"no luck"}}'
    )


async def test_barge_in_cancels_the_running_tool_and_sends_no_response() -> None:
    """The user interrupts a tool call: the call is cancelled, no toolResponse goes out."""
    started = trio.Event()
    cancelled = trio.Event()

    @tool
    async def lookup() -> str:
        started.set()
        try:
            await trio.sleep(30)
        except trio.Cancelled:
            cancelled.set()
            raise
        return "late"

    t = Transcript()
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            async with open_session(**options(emu, tools=[lookup]), **t.callbacks()) as session:
                await session.send_text("lookup")
                await started.wait()
                await session.send_text(
                    "never mind"
                )  # barge-in: interrupts the turn awaiting the tool
                await cancelled.wait()
                await session.wait_turns(2)  # the interrupted turn, then the answer
                assert session.stats["tools_cancelled"] == 1
                assert session.turn.pending_tool_calls == 0
                ledger_messages = session.stats["ledger_last_seq"]
        (info,) = emu.sessions()
    assert len(t.cancelled) == 1
    assert ledger_messages == 2  # the two user turns; no tool response was ever sent
    assert t.reply().endswith("echo #2: never mind")
    assert info.turns == 2


async def test_on_tool_call_fallback_returns_responses() -> None:
    """Without a registered tool, on_tool_call answers (the seeds' callback protocol)."""
    seen: list[ToolCall] = []

    def on_tool_call(call: ToolCall) -> list[FunctionResponse]:
        seen.append(call)
        return [
            FunctionResponse(id=fc.id, response={"temp": 21}) for fc in call.function_calls or ()
        ]

    t = Transcript()
    declaration = {
        "function_declarations": [{"name": "get_weather", "parameters": {"type": "OBJECT"}}]
    }
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            async with open_session(
                **options(emu, tools=[declaration]),
                on_tool_call=on_tool_call,
                on_message=t.on_message,
            ) as session:
                await ask(session, "get_weather(city=Paris)")
    assert seen[0].function_calls is not None
    assert seen[0].function_calls[0].args == {"city": "Paris"}
    assert t.reply() == 'echo #1: get_weather -> {"temp":21}'


async def test_manual_tool_response_from_the_events_iterator() -> None:
    """An app can answer tool calls itself with send_tool_response."""
    t = Transcript()
    declaration = {"function_declarations": [{"name": "ping"}]}
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            async with open_session(
                **options(emu, tools=[declaration]), on_message=t.on_message
            ) as session:
                await session.send_text("ping")
                await t.tool_call.wait()
                (call_id,) = [c for c in _pending_ids(session)]
                await session.send_tool_response(
                    [{"id": call_id, "name": "ping", "response": {"pong": True}}]
                )
                await session.wait_turn_complete()
    assert t.reply() == 'echo #1: ping -> {"pong":true}'


def _pending_ids(session: Any) -> list[str]:
    return sorted(session._core._pending_tools)


async def test_go_away_mid_tool_call_hands_over_after_the_turn() -> None:
    """goAway while a tool runs: the tool finishes, the reply completes, then the handover."""
    release = trio.Event()

    @tool
    async def fetch() -> dict[str, str]:
        await release.wait()
        return {"data": "ok"}

    t = Transcript()
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            async with open_session(**options(emu, tools=[fetch]), **t.callbacks()) as session:
                await session.send_text("fetch")
                await t.tool_call.wait()
                await emu.faults.go_away(time_left=5.0)
                await t.go_away.wait()
                # Every task waits now (the reconnector for a turn boundary): had it
                # decided to hand over mid-tool, it would have done so by this point.
                await trio.testing.wait_all_tasks_blocked()
                # Not at a turn boundary yet: the tool is still running, no handover.
                assert session.stats["handovers"] == 0
                release.set()
                await session.wait_turns(1)
                await t.resumed.wait()  # handed over at the turn boundary, long before the deadline
                assert session.stats["handovers"] == 1
                await ask(session, "next")
        (info,) = emu.sessions()
    assert t.reply() == 'echo #1: fetch -> {"data":"ok"}echo #2: next'
    assert info.turns == 2
    assert [(e.code, e.will_retry) for e in t.events if isinstance(e, Disconnected)] == [
        (1000, True),
        (1000, False),
    ]
