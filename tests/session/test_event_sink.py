"""Direct delivery to an event sink (``open_session(event_sink=...)``), as a relay uses it."""

from __future__ import annotations

import pytest
import trio

from livesvc.emulator import Emulator
from livesvc.session import (
    Closed,
    Connected,
    Disconnected,
    LiveSessionError,
    MessageReceived,
    SessionConfigError,
    SessionEvent,
    SessionResumptionUpdated,
    SessionStatus,
    open_session,
)

from .conftest import options


def _joined(events: list[SessionEvent]) -> str:
    return "".join(_texts(events))


def _texts(events: list[SessionEvent]) -> list[str]:
    out = []
    for event in events:
        if isinstance(event, MessageReceived) and event.message.server_content is not None:
            turn = event.message.server_content.model_turn
            for part in (turn.parts or []) if turn is not None else []:
                if part.text:
                    out.append(part.text)
    return out


async def test_every_event_reaches_the_sink_in_order_through_a_resume(
    emulator: Emulator,
) -> None:
    events: list[SessionEvent] = []

    async def sink(event: SessionEvent) -> None:
        events.append(event)

    with trio.fail_after(20):
        async with open_session(**options(emulator), event_sink=sink) as session:
            await session.send_text("one")
            await session.wait_turn_complete()
            await emulator.faults.close(1011)
            await session.send_text("two")
            await session.wait_turn_complete()
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Connected"
    assert kinds[-1] == "Closed"
    assert events[-1].status is SessionStatus.CLOSED  # type: ignore[attr-defined]
    # Both replies, in order, each once; the drop shows as a disconnect then a resume.
    text = _joined(events)
    assert text.count("echo #1: one") == 1
    assert text.count("echo #2: two") == 1
    assert text.index("echo #1: one") < text.index("echo #2: two")
    down = next(i for i, e in enumerate(events) if isinstance(e, Disconnected))
    up = [i for i, e in enumerate(events) if isinstance(e, Connected)]
    assert up[0] < down < up[1]
    assert events[up[1]].resumed  # type: ignore[attr-defined]
    # Events emitted from synchronous code (handle updates) are delivered too.
    assert any(isinstance(e, SessionResumptionUpdated) for e in events)


async def test_a_slow_sink_holds_up_delivery_but_loses_nothing(emulator: Emulator) -> None:
    seen: list[SessionEvent] = []

    async def slow(event: SessionEvent) -> None:
        await trio.sleep(0.001)
        seen.append(event)

    with trio.fail_after(20):
        async with open_session(**options(emulator), event_sink=slow) as session:
            for i in range(5):
                await session.send_text(f"t{i}")
                await session.wait_turn_complete()
    text = _joined(seen)
    positions = [text.index(f"echo #{i + 1}: t{i}") for i in range(5)]
    assert positions == sorted(positions)
    assert all(text.count(f"echo #{i + 1}: t{i}") == 1 for i in range(5))
    assert isinstance(seen[-1], Closed)


async def test_a_raising_sink_is_counted_and_the_session_goes_on(emulator: Emulator) -> None:
    delivered: list[SessionEvent] = []

    async def flaky(event: SessionEvent) -> None:
        if isinstance(event, MessageReceived) and len(delivered) % 2 == 0:
            delivered.append(event)
            raise RuntimeError("owner bug")
        delivered.append(event)

    with trio.fail_after(20):
        async with open_session(**options(emulator), event_sink=flaky) as session:
            await session.send_text("a")
            await session.wait_turn_complete()
            await session.send_text("b")
            await session.wait_turn_complete()
            assert session.status is SessionStatus.CONNECTED
            assert session.stats["callback_failures"] > 0
    assert isinstance(delivered[-1], Closed)


async def test_sink_excludes_callbacks_and_iterators(emulator: Emulator) -> None:
    async def sink(event: SessionEvent) -> None:
        pass

    with pytest.raises(SessionConfigError, match="event_sink"):
        async with open_session(**options(emulator), event_sink=sink, on_message=print):
            pass
    with trio.fail_after(20):
        async with open_session(**options(emulator), event_sink=sink) as session:
            with pytest.raises(LiveSessionError, match="event_sink"):
                session.events()
            with pytest.raises(LiveSessionError, match="event_sink"):
                session.messages()


async def test_a_delivery_cut_by_cancellation_is_retried_with_the_same_event(
    emulator: Emulator,
) -> None:
    """The connection's reader is cancelled while inside the sink (a forced drop):
    the event it was delivering reaches the sink again, and nothing is skipped."""
    calls: list[SessionEvent] = []
    gate, inside = trio.Event(), trio.Event()
    blocked_once = False

    async def sink(event: SessionEvent) -> None:
        nonlocal blocked_once
        calls.append(event)
        if isinstance(event, MessageReceived) and not blocked_once:
            text = _texts([event])
            if text and text[0].startswith("echo"):
                blocked_once = True
                inside.set()
                await gate.wait()  # held here until the reader is cancelled

    with trio.fail_after(20):
        async with open_session(**options(emulator), event_sink=sink) as session:
            await session.send_text("x", wait=False)
            await inside.wait()
            session.inject_crash("connection")  # cancels the reader inside the sink
            gate.set()
            await session.wait_connected()
            await session.wait_turns(1)
    echoes = [e for e in calls if _texts([e]) and _texts([e])[0].startswith("echo")]
    # The first delivery was cut off, then the same event object came again.
    assert len(echoes) >= 2
    assert echoes[0] is echoes[1]
