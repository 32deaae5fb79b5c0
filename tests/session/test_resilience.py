"""What breaks sessions in production, injected by the emulator: the session survives it.

Each test runs real sockets on 127.0.0.1 against an in-process emulator, bounded
by ``trio.fail_after``. The emulator's per-session turn counter (``echo #N``) is
the witness that nothing was lost or duplicated across a reconnect.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from structlog.testing import capture_logs

from livesvc.emulator import Emulator, open_emulator
from livesvc.session import (
    CloseClass,
    Connected,
    ContextLost,
    ContextLostError,
    Disconnected,
    GoAwayReceived,
    Session,
    SessionFailed,
    SessionStatus,
    extract_text,
    open_session,
)
from livesvc.session._events import SessionEvent

from .conftest import emulator_config, options


class Recorder:
    """Collects events and the model's text, per turn."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self.text: list[str] = []
        self.first_chunk = trio.Event()
        self._changed = trio.Event()

    def on_message(self, message: Any) -> None:
        text = extract_text(message)
        if text:
            self.text.append(text)
            self.first_chunk.set()

    def record(self, event: Any) -> None:
        self.events.append(event)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_connections(self, count: int) -> None:
        """Wait until ``count`` connections were set up (the first plus resumes)."""
        while len(self.of(Connected)) < count:
            await self._changed.wait()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_message": self.on_message,
            "on_connect": self.record,
            "on_disconnect": self.record,
            "on_error": self.record,
            "on_go_away": self.record,
        }

    def reply(self) -> str:
        return "".join(self.text)


async def one_turn(session: Any, text: str) -> None:
    """One user turn, answered and acknowledged (covered by the handle)."""
    await session.send_text(text)
    await session.wait_turn_complete()
    await session.wait_settled()


async def test_drop_mid_turn_resumes_and_replays_the_turn_once() -> None:
    """A TCP drop in the middle of a reply: resume by handle, replay the turn, no gap, no duplicate."""
    rec = Recorder()
    async with open_emulator(emulator_config(reply_interval=0.02, text_chunk_chars=4)) as emu:
        with trio.fail_after(15):
            async with open_session(**options(emu), **rec.callbacks()) as session:
                await one_turn(session, "first")
                rec.text.clear()
                rec.first_chunk = trio.Event()
                await session.send_text("second turn")
                await rec.first_chunk.wait()
                assert await emu.faults.drop() == 1
                await session.wait_turn_complete()
                assert session.stats["resumes"] == 1
        (info,) = emu.sessions()
    assert info.turns == 2  # the replayed turn counted once: no gap, no duplicate
    assert rec.reply().endswith("echo #2: second turn")
    disconnects = rec.of(Disconnected)
    assert [(d.code, d.close_class, d.will_retry) for d in disconnects] == [
        (1006, CloseClass.TRANSIENT, True),
        (1000, None, False),  # the owner's close at the end
    ]
    assert [c.resumed for c in rec.of(Connected)] == [False, True]


async def test_1011_is_resumed(emulator: Emulator) -> None:
    """A 1011 'Internal error' mid-session is transient: resume and keep talking."""
    rec = Recorder()
    with trio.fail_after(15):
        async with open_session(**options(emulator), **rec.callbacks()) as session:
            await one_turn(session, "a")
            await emulator.faults.close(1011)
            await one_turn(session, "b")  # sent while reconnecting or after: delivered either way
            assert session.status is SessionStatus.CONNECTED
    (info,) = emulator.sessions()
    assert info.turns == 2
    assert next((d.code, d.reason) for d in rec.of(Disconnected)) == (
        1011,
        "Internal error encountered.",
    )
    assert rec.reply().endswith("echo #2: b")


async def test_go_away_mid_reply_hands_over_at_the_turn_boundary() -> None:
    """goAway while the model speaks: the reply finishes on the old socket, then a clean handover."""
    rec = Recorder()
    async with open_emulator(emulator_config(reply_interval=0.02, text_chunk_chars=3)) as emu:
        with trio.fail_after(15):
            async with open_session(**options(emu), **rec.callbacks()) as session:
                await one_turn(session, "warm up")
                rec.text.clear()
                rec.first_chunk = trio.Event()
                await session.send_text("a reply long enough to be interrupted")
                await rec.first_chunk.wait()
                await emu.faults.go_away(time_left=5.0)
                await session.wait_turn_complete()
                with trio.fail_after(3):
                    await rec.wait_connections(2)
                assert session.stats["handovers"] == 1
                await one_turn(session, "after")
        (info,) = emu.sessions()
    assert rec.reply() == "echo #2: a reply long enough to be interruptedecho #3: after"
    assert info.turns == 3
    assert info.connections == 2
    # The session closed the old socket itself (1000), long before the 5 s deadline.
    assert [(d.code, d.close_class, d.will_retry) for d in rec.of(Disconnected)] == [
        (1000, None, True),  # the handover
        (1000, None, False),  # the owner's close
    ]
    assert [c.resumed for c in rec.of(Connected)] == [False, True]
    assert [g.time_left for g in rec.of(GoAwayReceived)] == [5.0]


async def test_stalled_server_is_detected_by_the_pinger() -> None:
    """A server that stops answering (no frames, no pongs) is dropped and the session resumes."""
    from livesvc.session import KeepalivePolicy

    rec = Recorder()
    async with open_emulator(emulator_config()) as emu:
        with trio.fail_after(15):
            async with open_session(
                **options(emu, keepalive=KeepalivePolicy(interval=0.2, timeout=0.4)),
                **rec.callbacks(),
            ) as session:
                await one_turn(session, "before")
                await emu.faults.stall()
                await rec.wait_connections(2)
                await one_turn(session, "after")
        (info,) = emu.sessions()
    # How soon: test_virtual_time's black-holed socket test asserts the exact times.
    assert [d.reason for d in rec.of(Disconnected)] == ["keepalive timeout", "closed by the owner"]
    assert info.turns == 2
    assert rec.reply().endswith("echo #2: after")


@pytest.mark.parametrize(
    ("kw", "close_class", "match"),
    [
        ({"api_key": "wrong"}, CloseClass.AUTH, "API key not valid"),
        (
            {"model": "gemini-does-not-exist"},
            CloseClass.FATAL_CONFIG,
            "is not found for API version",
        ),
    ],
)
async def test_bad_key_and_unknown_model_fail_once_without_retries(
    kw: dict[str, Any], close_class: CloseClass, match: str
) -> None:
    """A bad key or a missing model fails at once with a clear error: one dial, no retry storm."""
    async with open_emulator(emulator_config(api_keys=("right",))) as emu:
        with (
            trio.fail_after(10),
            capture_logs() as logs,
            pytest.raises(SessionFailed, match=match) as info,
        ):
            async with open_session(**options(emu, **{"api_key": "right", **kw})):
                pass  # pragma: no cover
    assert info.value.close_class is close_class
    assert info.value.code == 1008
    assert sum(1 for e in logs if e["event"] == "connection.dialing") == 1
    assert "wrong" not in str(info.value)


async def test_resumption_off_reconnect_starts_a_new_session_and_says_so(
    emulator: Emulator,
) -> None:
    """``continue``: a drop means a new, empty server session, reported as ContextLost and on_error."""
    rec = Recorder()
    lost: list[ContextLost] = []
    with trio.fail_after(15):
        async with open_session(
            **options(emulator, session_resumption=False, context_loss="continue"),
            **rec.callbacks(),
        ) as session:
            events = session.events()
            await one_turn(session, "a")
            await emulator.faults.drop()
            await one_turn(session, "b")
            await session.close()
            lost = [e async for e in events if isinstance(e, ContextLost)]
    assert len(lost) == 1
    assert (lost[0].reason, lost[0].outcome) == ("resumption is off", "continued")
    assert rec.reply().endswith("echo #1: b")  # a new session counts from 1 again
    assert len(emulator.sessions()) <= 2
    assert any(type(e).__name__ == "ContextLostError" for e in rec.events)


async def test_reseed_restores_the_conversation_on_a_new_server_session(
    emulator: Emulator,
) -> None:
    """``reseed`` (the default): the new server session starts with the transcript as history."""
    rec = Recorder()
    with trio.fail_after(15):
        async with open_session(
            **options(emulator, session_resumption=False), **rec.callbacks()
        ) as session:
            events = session.events()
            await one_turn(session, "a")
            await one_turn(session, "b")
            await emulator.faults.drop()
            await one_turn(session, "c")
            await session.close()
            lost = [e async for e in events if isinstance(e, ContextLost)]
    # Two user turns came back as history: the emulator's counter goes on.
    assert rec.reply().endswith("echo #3: c")
    assert [(e.outcome, e.restored) for e in lost] == [("reseeded", 4)]
    assert not any(type(e).__name__ == "ContextLostError" for e in rec.events)


async def test_context_loss_fail_ends_the_session_with_a_clear_error(emulator: Emulator) -> None:
    """``fail``: once something was said, a lost context ends the session (no silent reset)."""
    opened: list[Session] = []

    async def talk_then_lose_the_server() -> None:
        async with open_session(
            **options(emulator, session_resumption=False, context_loss="fail")
        ) as session:
            opened.append(session)
            await one_turn(session, "a")
            await emulator.faults.drop()
            await session.wait_closed()

    with trio.fail_after(15), pytest.raises(ContextLostError, match="conversation was lost"):
        await talk_then_lose_the_server()
    (session,) = opened
    assert session.stats["connections"] == 1  # no second server session was opened
    assert session.stats["context_losses"] == 1


async def test_refused_resume_falls_back_to_a_fresh_session(emulator: Emulator) -> None:
    """An expired handle (1007 at setup) is retried once as a new session, with ContextLost."""
    rec = Recorder()
    with trio.fail_after(15):
        async with open_session(
            **options(emulator, resume_handle="expired-handle"), **rec.callbacks()
        ) as session:
            assert session.stats["context_losses"] == 1
            await one_turn(session, "hi")
    assert rec.reply() == "echo #1: hi"
    (lost,) = [e for e in rec.events if type(e).__name__ == "ContextLostError"]
    assert "refused to resume: 1007 Session resumption handle is invalid" in str(lost)
