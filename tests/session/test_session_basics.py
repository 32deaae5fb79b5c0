"""A session against the emulator: connect, talk, observe, close."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from livesvc.emulator import Emulator
from livesvc.session import (
    Closed,
    Connected,
    LiveSessionError,
    MessageReceived,
    SessionClosed,
    SessionConfigError,
    SessionStatus,
    extract_text,
    open_session,
)

from .conftest import options


async def test_text_round_trip_with_callbacks_and_state(emulator: Emulator) -> None:
    """A text turn is answered; callbacks, status, handle, session id, usage are all visible."""
    seen: dict[str, list[Any]] = {"message": [], "connect": [], "resumption": [], "close": []}
    with trio.fail_after(10):
        async with open_session(
            **options(emulator),
            on_message=seen["message"].append,
            on_connect=seen["connect"].append,
            on_session_resumption=seen["resumption"].append,
            on_close=seen["close"].append,
        ) as session:
            assert session.status is SessionStatus.CONNECTED
            assert session.session_id is not None
            assert session.session_id.startswith("emu-")
            await session.send_text("hello")
            turn = await session.wait_turn_complete()
            assert turn.turn_complete
            assert turn.turns_completed == 1
            assert session.usage is not None
            assert session.usage.output_tokens is not None
        assert session.status is SessionStatus.CLOSED
    text = "".join(t for t in (extract_text(m) for m in seen["message"]) if t)
    assert text == "echo #1: hello"
    assert [c.resumed for c in seen["connect"]] == [False]
    assert seen["resumption"][-1].handle == session.session_handle
    assert [c.status for c in seen["close"]] == [SessionStatus.CLOSED]
    (info,) = emulator.sessions()
    assert info.turns == 1


async def test_events_iterator_ends_with_closed(emulator: Emulator) -> None:
    """events() yields typed events in order and ends after Closed."""
    with trio.fail_after(10):
        async with open_session(**options(emulator), connect=False) as session:
            events = session.events()
            await session.connect()
            await session.send_text("one")
            await session.wait_turn_complete()
            await session.close()
            kinds = [type(e).__name__ async for e in events]
    assert kinds[0] == Connected.__name__
    assert kinds[-1] == Closed.__name__
    assert MessageReceived.__name__ in kinds


async def test_messages_iterator_and_raw_send(emulator: Emulator) -> None:
    """The gateway path: send raw ClientMessages, read every ServerMessage."""
    from livesvc.wire import ClientContent, ClientMessage, Content, Part

    with trio.fail_after(10):
        async with open_session(**options(emulator)) as session:
            messages = session.messages()
            seq = await session.send(
                ClientMessage(
                    client_content=ClientContent(
                        turns=[Content(role="user", parts=[Part(text="raw")])], turn_complete=True
                    )
                )
            )
            assert seq == 1
            texts = []
            async for msg in messages:
                texts.append(extract_text(msg) or "")
                if msg.server_content and msg.server_content.turn_complete:
                    break
    assert "".join(texts) == "echo #1: raw"


async def test_close_is_idempotent_and_sends_fail_after(emulator: Emulator) -> None:
    """close() twice is fine; sending afterwards raises SessionClosed."""
    with trio.fail_after(10):
        async with open_session(**options(emulator)) as session:
            await session.close()
            await session.close()
            with pytest.raises(SessionClosed):
                await session.send_text("late")
    assert emulator.sessions()[0].connected is False


async def test_config_error_before_any_socket(emulator: Emulator) -> None:
    """An invalid option fails before dialling: the emulator never sees a connection."""
    with pytest.raises(SessionConfigError, match="transparent"):
        async with open_session(**options(emulator), transparent_resumption=True):
            pass  # pragma: no cover
    assert emulator.sessions() == []


async def test_send_before_connect_is_refused(emulator: Emulator) -> None:
    """With connect=False, sending before connect() is a clear error."""
    with trio.fail_after(10):
        async with open_session(**options(emulator), connect=False) as session:
            assert session.status is SessionStatus.DISCONNECTED
            with pytest.raises(LiveSessionError, match="connect"):
                await session.send_text("too early")


async def test_exception_in_the_block_comes_out_unwrapped(emulator: Emulator) -> None:
    """The block's own exception propagates as itself, not inside an exception group."""
    with trio.fail_after(10), pytest.raises(KeyError, match="mine"):
        async with open_session(**options(emulator)):
            raise KeyError("mine")


async def test_events_after_close_end_at_once(emulator: Emulator) -> None:
    """An iterator opened after the session ended yields nothing instead of hanging."""
    with trio.fail_after(10):
        async with open_session(**options(emulator)) as session:
            pass
        assert [e async for e in session.events()] == []


async def test_wait_turn_complete_does_not_miss_a_fast_reply(emulator: Emulator) -> None:
    """If the reply finished before the wait began, wait_turn_complete returns at once."""
    with trio.fail_after(10):
        async with open_session(**options(emulator)) as session:
            await session.send_text("quick")
            await session.wait_turns(1)  # the reply is already complete...
            with trio.fail_after(1):
                turn = await session.wait_turn_complete()  # ...so this must not wait for another
            assert turn.turns_completed == 1
            await session.send_text("two")
            await session.send_text("three")  # sent mid-reply: its answer is the turn after
            turn = await session.wait_turn_complete()
            assert turn.turns_completed == 3
