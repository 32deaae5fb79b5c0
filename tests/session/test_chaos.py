"""Actors killed mid-session, callbacks that raise or block, messages sent while disconnected."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from structlog.testing import capture_logs

from livesvc.emulator import Emulator, open_emulator
from livesvc.session import (
    CallbackError,
    Connected,
    Disconnected,
    SessionStatus,
    extract_text,
    open_session,
)
from livesvc.tools import tool

from .conftest import emulator_config, options


class Witness:
    def __init__(self) -> None:
        self.text: list[str] = []
        self.errors: list[Exception] = []
        self.connects: list[Connected] = []
        self.disconnected = trio.Event()
        self._connected = trio.Event()

    def on_message(self, message: Any) -> None:
        text = extract_text(message)
        if text:
            self.text.append(text)

    def on_connect(self, event: Connected) -> None:
        self.connects.append(event)
        self._connected.set()
        self._connected = trio.Event()

    def on_disconnect(self, event: Disconnected) -> None:
        self.disconnected.set()

    async def wait_connects(self, count: int) -> None:
        while len(self.connects) < count:
            await self._connected.wait()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_message": self.on_message,
            "on_error": self.errors.append,
            "on_connect": self.on_connect,
            "on_disconnect": self.on_disconnect,
        }

    def reply(self) -> str:
        return "".join(self.text)


async def turn(session: Any, text: str) -> None:
    await session.send_text(text)
    await session.wait_turn_complete()
    await session.wait_settled()


@pytest.mark.parametrize("actor", ["connection", "pinger", "reconnector", "tool_executor"])
async def test_an_actor_killed_mid_session_costs_at_most_a_resume(
    emulator: Emulator, actor: str
) -> None:
    """Each actor is crashed mid-conversation; no turn is lost or repeated."""
    w = Witness()
    with trio.fail_after(15):
        async with open_session(**options(emulator), **w.callbacks()) as session:
            await turn(session, "one")
            session.inject_crash(actor)
            if actor == "connection":
                await w.wait_connects(2)  # the only actor whose crash costs a resume
            await turn(session, "two")
            restarts = session.stats["actor_restarts"]
            resumes = session.stats["resumes"]
            assert session.status is SessionStatus.CONNECTED
    (info,) = emulator.sessions()
    assert info.turns == 2
    assert w.reply() == "echo #1: oneecho #2: two"
    assert restarts[actor] == 1
    assert resumes == (1 if actor == "connection" else 0)


async def test_killing_the_connection_mid_tool_call_keeps_the_tool_and_its_answer(
    emulator: Emulator,
) -> None:
    """The tool keeps running through the connection's restart; its response is replayed on the new socket."""
    release = trio.Event()
    started = trio.Event()

    @tool
    async def fetch() -> dict[str, str]:
        started.set()
        await release.wait()
        return {"v": "ok"}

    w = Witness()
    with trio.fail_after(15):
        async with open_session(**options(emulator, tools=[fetch]), **w.callbacks()) as session:
            await session.send_text("fetch")
            await started.wait()
            session.inject_crash("connection")
            await w.wait_connects(2)
            release.set()
            await session.wait_turns(1)
            await session.wait_settled()
            stats = session.stats
        (info,) = emulator.sessions()
    # The handle predates "fetch", so the resume replayed the turn and the model
    # called the tool again: the first call (kept alive through the restart) and
    # the second were both answered; the conversation holds the turn once.
    assert stats["tools_completed"] == 2
    assert stats["resumes"] == 1
    assert info.turns == 1
    assert w.reply() == 'echo #1: fetch -> {"v":"ok"}'


async def test_a_raising_callback_is_reported_and_the_session_goes_on(emulator: Emulator) -> None:
    """on_message raising every time: each failure reaches on_error; replies still arrive."""
    w = Witness()

    def explode(message: Any) -> None:
        w.on_message(message)
        raise ValueError("callback bug")

    with trio.fail_after(10):
        async with open_session(
            **options(emulator), **{**w.callbacks(), "on_message": explode}
        ) as session:
            await turn(session, "a")
            await turn(session, "b")
            failures = session.stats["callback_failures"]
    assert w.reply() == "echo #1: aecho #2: b"
    assert failures >= 4
    assert all(isinstance(e, CallbackError) and e.callback == "on_message" for e in w.errors)
    assert isinstance(w.errors[0], CallbackError)
    assert isinstance(w.errors[0].error, ValueError)


async def test_callback_timeout_cancels_and_reports() -> None:
    """With callback_timeout, a hung callback is cancelled and reported through on_error."""
    w = Witness()

    async def hang(event: Any) -> None:
        await trio.sleep_forever()

    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(10):
            async with open_session(
                **options(emu, callback_timeout=0.1), on_connect=hang, on_error=w.errors.append
            ) as session:
                await turn(session, "x")
    assert [type(e).__name__ for e in w.errors] == ["CallbackError"]
    assert "on_connect failed: timed out" in str(w.errors[0])


async def test_messages_sent_while_reconnecting_are_delivered_once_in_order() -> None:
    """Three turns sent while the session cannot connect all arrive, once each, in order."""
    w = Witness()
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(15):
            async with open_session(**options(emu), **w.callbacks()) as session:
                await turn(session, "zero")
                await emu.faults.refuse(code=1011, count=2)
                await emu.faults.drop()
                await w.disconnected.wait()
                for text in ("a", "b", "c"):
                    await session.send_text(text, wait=False)
                await session.wait_turns(4)
                await session.wait_settled()
                stats = session.stats
        (info,) = emu.sessions()
    assert info.turns == 4  # zero + a, b, c: no gap, no duplicate
    assert w.reply().endswith("echo #4: c")
    assert stats["resumes"] == 1
    assert stats["ledger_pending"] == 0


async def test_audio_sent_while_disconnected_is_bounded_and_drops_are_counted() -> None:
    """Ten 1 s chunks during an outage with a 3 s buffer: 7 dropped (oldest), 3 sent on resume."""
    w = Witness()
    second = b"\x00\x00" * 16000
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(15), capture_logs() as logs:
            async with open_session(
                **options(emu, media_buffer_seconds=3.0), **w.callbacks()
            ) as session:
                await turn(session, "zero")
                await emu.faults.refuse(code=1011, count=2)
                await emu.faults.drop()
                await w.disconnected.wait()
                for _ in range(10):
                    await session.send_realtime_input(audio=second)
                await w.wait_connects(2)
                await session.wait_connected()
                stats = session.stats
    assert stats["media_dropped"] == 7
    assert stats["media_dropped_seconds"] == 7.0
    replayed = [e for e in logs if e["event"] == "connection.replayed"]
    assert replayed[-1]["media"] == 3
    assert [e["dropped"] for e in logs if e["event"] == "session.media_buffer_flushed"] == [7]
