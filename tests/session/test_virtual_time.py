"""Backoff, keepalive and goAway deadlines on trio's virtual clock, with exact times.

The server is scripted over memory streams (``fakes.FakeLive``), so autojump can
run minutes of reconnect schedule in milliseconds.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from livesvc.auth import ApiKey
from livesvc.session import (
    CloseClass,
    Disconnected,
    KeepalivePolicy,
    ReconnectPolicy,
    SessionFailed,
    SessionStatus,
    extract_text,
    open_session,
)
from livesvc.session._connection import HANDOVER_CLOSE_WAIT
from livesvc.wire import Content, GoAway, Part, ServerContent, ServerMessage
from supervisors import Backoff

from .fakes import FakeConnection, FakeLive, echo_server

EXACT = ReconnectPolicy(
    backoff=Backoff(first=1.0, base=2.0, factor=2.0, max=30.0, jitter=0.0),
    rate_limited_backoff=Backoff(first=10.0, base=20.0, factor=2.0, max=60.0, jitter=0.0),
    max_attempts=3,
    stable_after=30.0,
    connect_timeout=10.0,
    close_timeout=1.0,
    handover_margin=5.0,
)


def hang_guard(fn: Any) -> Any:
    """Fail (in virtual time) instead of hanging if a test deadlocks."""
    import functools

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> None:
        with trio.fail_after(3600):
            await fn(*args, **kwargs)

    return wrapper


def opts(live: FakeLive, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": "gemini-live-2.5-flash-preview",
        "api_key": "k",
        "response_modalities": ["TEXT"],
        "reconnect": EXACT,
        "keepalive": KeepalivePolicy(interval=15.0, timeout=40.0),
        "dial": live.dial,
        "random_seed": 1,
    }
    base.update(kw)
    return base


def closes_after_setup(code: int, reason: str) -> Any:
    async def behaviour(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await conn.close(code, reason)

    return behaviour


def refuses_setup(code: int, reason: str) -> Any:
    async def behaviour(conn: FakeConnection) -> None:
        await conn.receive()  # the setup, refused before setupComplete
        await conn.close(code, reason)

    return behaviour


@hang_guard
async def test_transient_failures_back_off_exactly_then_give_up(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Every connection dies with 1011: dials at 0, 1, 3, 7 (first fast, then doubling), then a clear failure."""
    seen: list[Any] = []

    async def listen(session: Any) -> None:
        async for event in session.events():
            seen.append(event)

    async def run(live: FakeLive, nursery: trio.Nursery) -> None:
        async with open_session(**opts(live), connect=False) as session:
            nursery.start_soon(listen, session)
            await session.connect()
            await session.wait_closed()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, closes_after_setup(1011, "Internal error encountered."))
        with pytest.raises(SessionFailed, match="gave up after 3 failed attempts") as info:
            await run(live, nursery)
        nursery.cancel_scope.cancel()
    # Every connection is set up, then cut at once.
    assert [round(t - live.dials[0], 6) for t in live.dials] == [0.0, 1.0, 3.0, 7.0]
    assert info.value.close_class is CloseClass.TRANSIENT
    # The owner hears the truth: retries while they happen, then the fatal error, then Closed.
    assert [e.will_retry for e in seen if isinstance(e, Disconnected)] == [True, True, True, False]
    assert [type(e).__name__ for e in seen[-2:]] == ["ErrorOccurred", "Closed"]
    assert seen[-1].status is SessionStatus.FAILED
    assert seen[-2].fatal is True


@hang_guard
async def test_rate_limited_closes_wait_longer(autojump_clock: trio.abc.Clock) -> None:
    """RESOURCE_EXHAUSTED uses the rate-limited schedule: 10 s, then 20 s, then 40 s."""
    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, closes_after_setup(1011, "RESOURCE_EXHAUSTED: quota"))
        with pytest.raises(SessionFailed) as info:
            async with open_session(**opts(live)) as session:
                await session.wait_closed()
        nursery.cancel_scope.cancel()
    assert [round(t - live.dials[0], 6) for t in live.dials] == [0.0, 10.0, 30.0, 70.0]
    assert info.value.close_class is CloseClass.RATE_LIMITED


@hang_guard
async def test_a_stable_connection_resets_the_failure_count(autojump_clock: trio.abc.Clock) -> None:
    """After a connection lived past stable_after, the next drop is retried fast again."""

    async def lives_60s_then_dies(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await trio.sleep(60)
        await conn.close(1011, "Internal error encountered.")

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, lives_60s_then_dies)
        async with open_session(**opts(live)) as session:
            await trio.sleep(200)
            assert session.status is not SessionStatus.FAILED
        nursery.cancel_scope.cancel()
    # Each drop comes 60 s after its connection; each resume 1 s (the fast first retry) later.
    gaps = [round(b - a, 6) for a, b in zip(live.dials, live.dials[1:], strict=False)]
    assert gaps[:3] == [61.0, 61.0, 61.0]


class RefreshingAuth(ApiKey):
    """An API key whose refresh 'works' (as a Vertex token refresh would)."""

    refreshed = 0
    refreshable = True

    async def refresh(self) -> bool:
        type(self).refreshed += 1
        return True


@hang_guard
async def test_auth_close_refreshes_once_then_fails(autojump_clock: trio.abc.Clock) -> None:
    """An auth close refreshes the credential and retries once, at once; a second one is fatal."""
    RefreshingAuth.refreshed = 0
    async with trio.open_nursery() as nursery:
        live = FakeLive(
            nursery, refuses_setup(1008, "Request had invalid authentication credentials.")
        )
        with pytest.raises(SessionFailed, match="authentication failed") as info:
            async with open_session(**opts(live, api_key=None, auth=RefreshingAuth("k"))):
                pass  # pragma: no cover
        nursery.cancel_scope.cancel()
    assert RefreshingAuth.refreshed == 1
    assert len(live.dials) == 2
    assert live.dials[1] == live.dials[0]  # no backoff after a refresh
    assert info.value.close_class is CloseClass.AUTH


@hang_guard
async def test_black_holed_socket_is_detected_after_interval_plus_timeout(
    autojump_clock: trio.abc.Clock,
) -> None:
    """No pong and no frame: the link is dropped 15 + 40 s after it went silent, then resumed."""

    async def goes_dark(conn: FakeConnection) -> None:
        await conn.accept_setup()
        conn.black_hole()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, goes_dark, echo_server)
        resumed_event = trio.Event()
        async with open_session(
            **opts(live), on_connect=lambda e: e.resumed and resumed_event.set()
        ) as session:
            with trio.fail_after(200):
                await resumed_event.wait()
            resumed = session.stats["resumes"]
        nursery.cancel_scope.cancel()
    assert resumed == 1
    assert [round(t - live.dials[0], 6) for t in live.dials] == [
        0.0,
        56.0,
    ]  # 15 + 40, then the 1 s first retry
    assert live.connections[1].setup is not None
    handle = live.connections[1].setup.setup.session_resumption.handle  # type: ignore[union-attr]
    assert handle == "h1"


@hang_guard
async def test_frames_count_as_life_while_a_pong_is_late(autojump_clock: trio.abc.Clock) -> None:
    """A server that streams but never pongs is not declared dead."""

    async def chatty_no_pongs(conn: FakeConnection) -> None:
        await conn.accept_setup()
        conn.black_hole()  # pings (and everything else from us) vanish...
        while True:  # ...but the server keeps talking
            await trio.sleep(5)
            await conn.send(
                ServerMessage(
                    server_content=ServerContent(model_turn=Content(parts=[Part(text=".")]))
                )
            )

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, chatty_no_pongs)
        async with open_session(**opts(live)) as session:
            await trio.sleep(300)
            assert session.stats["resumes"] == 0
        nursery.cancel_scope.cancel()
    assert len(live.dials) == 1


@hang_guard
async def test_go_away_without_a_turn_boundary_hands_over_at_deadline_minus_margin(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A reply that never ends: the handover happens at goAway + timeLeft - margin, exactly."""
    sent_at: list[float] = []

    async def endless_reply(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await conn.receive()  # the user's turn
        await conn.send(
            ServerMessage(
                server_content=ServerContent(model_turn=Content(parts=[Part(text="...")]))
            )
        )
        sent_at.append(trio.current_time())
        await conn.send(ServerMessage(go_away=GoAway(time_left="20s")))
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, endless_reply, echo_server)
        resumed = trio.Event()
        async with open_session(
            **opts(live), on_connect=lambda e: e.resumed and resumed.set()
        ) as session:
            await session.send_text("talk forever")
            with trio.fail_after(100):
                await resumed.wait()
            assert session.stats["handovers"] == 1
        nursery.cancel_scope.cancel()
    assert live.dials[1] - sent_at[0] == pytest.approx(15.0)  # 20 s notice - 5 s margin
    # The unanswered turn was replayed on the new connection.
    assert any(m.client_content for m in live.connections[1].received[1:])


@hang_guard
async def test_a_message_sent_during_a_handover_close_does_not_stall_the_close(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A turn sent while the old socket's close handshake is under way is kept for
    the new connection; writing it on the closing socket used to end the link in
    the middle of the handshake (trio-websocket's reader cancelled), so the close
    waited out HANDOVER_CLOSE_WAIT every time a turn came in just after a goAway."""
    go_away_at: list[float] = []
    went_away = trio.Event()

    async def slow_close(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await conn.receive()  # the user's turn
        await conn.answer("echo: hi")
        conn.hold()  # the client's close frame reaches us 0.1 s late
        go_away_at.append(trio.current_time())
        went_away.set()
        await conn.send(ServerMessage(go_away=GoAway(time_left="20s")))
        await trio.sleep(0.1)
        await conn.release()  # trio-websocket answers the close now
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, slow_close, echo_server)
        async with open_session(**opts(live)) as session:
            await session.send_text("hi")
            await session.wait_turn_complete()
            await went_away.wait()
            await trio.sleep_until(go_away_at[0] + 0.05)  # the close is under way
            await session.send_text("again")
            await session.wait_turn_complete()
            assert session.stats["handovers"] == 1
        nursery.cancel_scope.cancel()
    # Dialled once the close handshake completed, not after the 0.25 s cap.
    assert live.dials[1] - go_away_at[0] == pytest.approx(0.1, abs=0.01)
    replies = [m for c in live.connections for m in c.received if m.client_content]
    assert [m.client_content.turns[0].parts[0].text for m in replies] == ["hi", "again"]


@hang_guard
async def test_go_away_handover_does_not_wait_for_a_close_handshake_that_never_comes(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Handover at a turn boundary: the old socket gets HANDOVER_CLOSE_WAIT (0.25 s) to
    finish its close handshake, then is aborted and the new one dialled; the client's
    gap does not depend on a stuck old connection (it used to wait close_timeout, 2 s)."""
    go_away_at: list[float] = []

    async def answers_then_goes_deaf(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await conn.receive()  # the user's turn
        await conn.answer("echo: hi")
        conn.black_hole()  # the close frame will never arrive, so no close reply either
        go_away_at.append(trio.current_time())
        await conn.send(ServerMessage(go_away=GoAway(time_left="20s")))
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, answers_then_goes_deaf, echo_server)
        resumed = trio.Event()
        async with open_session(
            **opts(live), on_connect=lambda e: e.resumed and resumed.set()
        ) as session:
            await session.send_text("hi")
            with trio.fail_after(100):
                await resumed.wait()
            assert session.stats["handovers"] == 1
        nursery.cancel_scope.cancel()
    assert live.dials[1] - go_away_at[0] == pytest.approx(HANDOVER_CLOSE_WAIT)


@hang_guard
async def test_a_restarted_pinger_keeps_watching_the_current_connection(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Crash the pinger, then black-hole the socket: the new pinger still detects it."""
    dark = trio.Event()

    async def goes_dark_on_cue(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await dark.wait()
        conn.black_hole()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, goes_dark_on_cue, echo_server)
        resumed = trio.Event()
        async with open_session(
            **opts(live), on_connect=lambda e: e.resumed and resumed.set()
        ) as session:
            session.inject_crash("pinger")
            await trio.sleep(1)  # the pinger restarts (no backoff on a first restart)
            assert session.stats["actor_restarts"]["pinger"] == 1
            dark.set()
            went_dark = trio.current_time()
            await resumed.wait()
        nursery.cancel_scope.cancel()
    # Detected within interval + timeout of going dark, then the 1 s first retry.
    assert live.dials[1] - went_dark <= 15.0 + 40.0 + 1.0


@hang_guard
async def test_a_restarted_reconnector_still_hands_over(autojump_clock: trio.abc.Clock) -> None:
    """Crash the reconnector after a goAway: the handover still happens before the deadline."""
    notice_sent: list[float] = []
    noticed = trio.Event()

    async def endless_reply(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await conn.receive()
        await conn.send(
            ServerMessage(
                server_content=ServerContent(model_turn=Content(parts=[Part(text="...")]))
            )
        )
        notice_sent.append(trio.current_time())
        await conn.send(ServerMessage(go_away=GoAway(time_left="20s")))
        noticed.set()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, endless_reply, echo_server)
        resumed = trio.Event()
        async with open_session(
            **opts(live), on_connect=lambda e: e.resumed and resumed.set()
        ) as session:
            await session.send_text("talk forever")
            await noticed.wait()
            await trio.sleep(1)
            session.inject_crash("reconnector")
            await resumed.wait()
            assert session.stats["handovers"] == 1
        nursery.cancel_scope.cancel()
    assert live.dials[1] - notice_sent[0] == pytest.approx(15.0)


@hang_guard
async def test_a_failure_mid_block_cancels_the_block_and_raises(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The owner's block is cancelled when the session fails for good; SessionFailed comes out."""
    reached: list[str] = []

    async def run(live: FakeLive) -> None:
        async with open_session(**opts(live)):
            try:
                await trio.sleep_forever()
            finally:
                reached.append("cancelled")

    async def dies_with_1007(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await trio.sleep(10)
        await conn.close(1007, "Request contains an invalid argument.")

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, dies_with_1007)
        with pytest.raises(SessionFailed, match="refused the session") as info:
            await run(live)
        nursery.cancel_scope.cancel()
    assert reached == ["cancelled"]
    assert info.value.code == 1007
    assert info.value.close_class is CloseClass.FATAL_CONFIG
    assert len(live.dials) == 1


@hang_guard
async def test_connections_that_complete_turns_never_exhaust_the_attempts(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Six connections in a row each answer a turn and then die: progress resets the count (max 3)."""

    async def one_turn_then_1011(conn: FakeConnection) -> None:
        await conn.accept_setup()
        message = await conn.receive()
        while message.client_content is None:
            message = await conn.receive()
        await conn.answer("ok")
        await conn.close(1011, "Internal error encountered.")

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, one_turn_then_1011)
        async with open_session(**opts(live)) as session:
            for _ in range(6):
                await session.send_text("again")
                await session.wait_turn_complete()
            assert session.status is not SessionStatus.FAILED
        nursery.cancel_scope.cancel()
    assert len(live.dials) >= 6


@hang_guard
async def test_a_blocking_callback_never_stalls_the_socket(autojump_clock: trio.abc.Clock) -> None:
    """A callback stuck for 120 s (8 pings, 3 pong timeouts): no dead link, no resume, nothing lost."""
    heard: list[tuple[float, str]] = []
    both = trio.Event()

    async def slow(message: Any) -> None:
        text = extract_text(message)
        if not text:
            return
        if not heard:
            await trio.sleep(120)
        heard.append((trio.current_time(), text))
        if len(heard) == 2:
            both.set()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, echo_server)
        async with open_session(**opts(live), on_message=slow) as session:
            start = trio.current_time()
            await session.send_text("patience")
            await session.wait_turn_complete()  # the socket side is done at once
            assert trio.current_time() == start
            await session.send_text("more")
            await session.wait_turn_complete()
            with trio.fail_after(200):
                await both.wait()
            resumes = session.stats["resumes"]
        nursery.cancel_scope.cancel()
    assert resumes == 0
    assert len(live.dials) == 1
    assert [(round(t - start, 6), text) for t, text in heard] == [
        (120.0, "echo: patience"),
        (120.0, "echo: more"),
    ]
