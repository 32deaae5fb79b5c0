"""Gemini 3.8: the interaction, not the first ``turnComplete``, is the turn (virtual clock).

A scripted server plays an extended-thinking interaction: a filler utterance
that ends ``turnComplete`` + ``IN_PROGRESS``, background work, then the answer
ending ``IDLE``. Times below are exact virtual seconds after the prompt.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from livesvc.session import (
    InteractionStatusChanged,
    KeepalivePolicy,
    ReconnectPolicy,
    open_session,
)
from livesvc.wire import (
    Content,
    GoAway,
    Part,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
)
from supervisors import Backoff

from .fakes import FakeConnection, FakeLive

ET = "gemini-3.8-live-extended-thinking"
EXACT = ReconnectPolicy(
    backoff=Backoff(first=1.0, base=2.0, factor=2.0, max=30.0, jitter=0.0),
    max_attempts=3,
    connect_timeout=10.0,
    close_timeout=1.0,
    handover_margin=5.0,
)
WORK = 8.0  # seconds of background reasoning between the filler and the answer


def opts(live: FakeLive, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": ET,
        "api_key": "k",
        "reconnect": EXACT,
        "keepalive": KeepalivePolicy(interval=60.0, timeout=120.0),
        "dial": live.dial,
        "random_seed": 1,
    }
    base.update(kw)
    return base


def said(text: str) -> ServerMessage:
    reply = Content(role="model", parts=[Part(text=text)])
    return ServerMessage(server_content=ServerContent(model_turn=reply))


def done(status: str) -> ServerMessage:
    return ServerMessage(
        server_content=ServerContent(turn_complete=True, interaction_status=status)
    )


def not_resumable() -> ServerMessage:
    # What Google sends while the model works: no handle to resume with.
    return ServerMessage(session_resumption_update=SessionResumptionUpdate(resumable=False))


async def prompts(conn: FakeConnection) -> list[str]:
    """Read until a clientContent turn arrives; its text."""
    while True:
        message = await conn.receive()
        content = message.client_content
        if content is not None and content.turn_complete:
            return [p.text or "" for t in content.turns or () for p in t.parts or ()]


def thinking_server(*, work: float = WORK, go_away: str | None = None, idle: bool = True) -> Any:
    """Filler, IN_PROGRESS, ``work`` seconds of background work, answer, IDLE, handle."""

    async def behaviour(conn: FakeConnection) -> None:
        await conn.accept_setup()
        while True:
            text = (await prompts(conn))[-1]
            await conn.send(said("let me check"))
            await conn.send(done("IN_PROGRESS"))
            await conn.send(not_resumable())
            if go_away is not None:
                await conn.send(ServerMessage(go_away=GoAway(time_left=go_away)))
            await trio.sleep(work)
            if not idle:
                await trio.sleep_forever()
            await conn.send(said(f"answer: {text}"))
            await conn.send(done("IDLE"))
            await conn.send_handle()

    return behaviour


async def test_a_turn_ends_at_idle_and_an_utterance_at_each_turn_complete(
    autojump_clock: trio.abc.Clock,
):
    seen: list[tuple[float, str, bool, int]] = []

    def on_status(event: InteractionStatusChanged) -> None:
        seen.append((trio.current_time(), event.status, event.ended, event.utterances))

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, thinking_server())
        async with open_session(**opts(live), on_interaction_status=on_status) as session:
            start = trio.current_time()
            await session.send_text("flights to Oslo")
            filler = await session.wait_utterance_complete()
            filler_at = trio.current_time() - start
            turn = await session.wait_turn_complete()
            turn_at = trio.current_time() - start
        nursery.cancel_scope.cancel()
    assert filler_at == 0.0
    assert (filler.in_progress, filler.turn_complete, filler.turns_completed) == (True, False, 0)
    assert turn_at == WORK
    assert (turn.in_progress, turn.turn_complete, turn.turns_completed) == (False, True, 1)
    assert (turn.interaction_status, turn.utterances_completed) == ("IDLE", 2)
    assert [(round(t - start, 6), s, e, n) for t, s, e, n in seen] == [
        (0.0, "IN_PROGRESS", False, 1),
        (WORK, "IDLE", True, 2),
    ]


async def test_go_away_during_background_work_hands_over_after_idle(
    autojump_clock: trio.abc.Clock,
):
    """The handover waits for IDLE (8 s), well before the deadline (20 s - 5 s margin)."""
    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, thinking_server(go_away="20s"), thinking_server())
        resumed = trio.Event()
        async with open_session(
            **opts(live), on_connect=lambda e: e.resumed and resumed.set()
        ) as session:
            start = trio.current_time()
            await session.send_text("flights to Oslo")
            await session.wait_turn_complete()
            with trio.fail_after(100):
                await resumed.wait()
            handovers = session.stats["handovers"]
        nursery.cancel_scope.cancel()
    assert handovers == 1
    assert live.dials[1] - start == pytest.approx(WORK)
    # The answered request was covered by the handle after IDLE: nothing is replayed.
    assert not any(m.client_content for m in live.connections[1].received[1:])


async def test_go_away_hands_over_at_the_deadline_if_the_work_does_not_end(
    autojump_clock: trio.abc.Clock,
):
    """No IDLE in time: the handover happens at goAway + 20 s - 5 s, and the request is replayed once."""
    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, thinking_server(go_away="20s", idle=False), thinking_server())
        async with open_session(**opts(live)) as session:
            start = trio.current_time()
            await session.send_text("flights to Oslo")
            turn = await session.wait_turn_complete()
            answered_at = trio.current_time() - start
        nursery.cancel_scope.cancel()
    assert live.dials[1] - start == pytest.approx(15.0)
    # The new connection answered the replayed request: 15 s handover + 8 s of work.
    assert answered_at == pytest.approx(15.0 + WORK)
    assert turn.turns_completed == 1
    replayed = [m for m in live.connections[1].received[1:] if m.client_content]
    assert len(replayed) == 1


async def test_a_drop_during_background_work_replays_the_request_exactly_once(
    autojump_clock: trio.abc.Clock,
):
    """The connection dies while the server works: no handle covers the request, so it is
    sent again on the next connection, once, and the turn completes there."""

    async def dies_while_working(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await prompts(conn)
        await conn.send(said("let me check"))
        await conn.send(done("IN_PROGRESS"))
        await conn.send(not_resumable())
        await trio.sleep(2)
        await conn.close(1011, "Internal error encountered.")

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, dies_while_working, thinking_server())
        async with open_session(**opts(live)) as session:
            await session.send_text("flights to Oslo")
            turn = await session.wait_turn_complete()
            stats = session.stats
        nursery.cancel_scope.cancel()
    assert turn.turns_completed == 1
    assert stats["resumes"] == 1
    resumed_with = live.connections[1].setup.setup.session_resumption.handle  # type: ignore[union-attr]
    assert resumed_with == "h1"  # the handle from before the request
    assert [
        m.client_content.turns[0].parts[0].text
        for m in live.connections[1].received[1:]
        if m.client_content
    ] == [  # type: ignore[index,union-attr]
        "flights to Oslo"
    ]


async def test_older_models_end_the_turn_at_turn_complete(autojump_clock: trio.abc.Clock):
    """No interactionStatus: the first turnComplete ends the turn, as before."""

    async def plain(conn: FakeConnection) -> None:
        await conn.accept_setup()
        while True:
            await prompts(conn)
            await trio.sleep(1)
            await conn.answer("done")

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, plain)
        async with open_session(
            **opts(live, model="gemini-2.5-flash-native-audio-preview-12-2025")
        ) as session:
            start = trio.current_time()
            await session.send_text("hi")
            turn = await session.wait_turn_complete()
            at = trio.current_time() - start
        nursery.cancel_scope.cancel()
    assert at == 1.0
    assert (turn.turns_completed, turn.utterances_completed, turn.in_progress) == (1, 1, False)
    assert turn.interaction_status is None


async def test_a_context_update_is_sent_in_order_and_kept_until_covered(
    autojump_clock: trio.abc.Clock,
):
    got: list[Any] = []

    async def server(conn: FakeConnection) -> None:
        await conn.accept_setup()
        while True:
            message = await conn.receive()
            got.append(message)

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, server)
        async with open_session(**opts(live)) as session:
            await session.send_context_update(system_instruction="Answer in French.", tools=[])
            ledger = session.stats["ledger_pending"]
        nursery.cancel_scope.cancel()
    update = got[0].context_update
    assert update.system_instruction.parts[0].text == "Answer in French."
    assert update.tools.tools == []
    assert ledger == 1


async def test_go_away_does_not_cut_background_work_after_a_spoken_request(
    autojump_clock: trio.abc.Clock,
):
    """Asked by voice (realtime audio, which no ledger holds): only IN_PROGRESS says the
    model still works, and the handover waits for IDLE rather than leaving at the filler."""

    async def spoken(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await conn.receive()  # the user's audio
        await conn.send(said("let me check"))
        await conn.send(done("IN_PROGRESS"))
        await conn.send(not_resumable())
        await conn.send(ServerMessage(go_away=GoAway(time_left="20s")))
        await trio.sleep(WORK)
        await conn.send(said("it is sunny"))
        await conn.send(done("IDLE"))
        await conn.send_handle()
        await trio.sleep_forever()

    async def quiet(conn: FakeConnection) -> None:
        await conn.accept_setup()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, spoken, quiet)
        second = trio.Event()
        async with open_session(
            **opts(live), on_connect=lambda e: e.connection == 2 and second.set()
        ) as session:
            start = trio.current_time()
            await session.send_realtime_input(audio=b"\x00\x00" * 1600)
            with trio.fail_after(100):  # cut at the filler, the answer would never come
                await session.wait_turn_complete()
                answered_at = trio.current_time() - start
                await second.wait()
        nursery.cancel_scope.cancel()
    assert answered_at == WORK
    assert live.dials[1] - start == pytest.approx(WORK)


async def test_a_drop_during_background_work_on_the_emulator_loses_and_doubles_nothing():
    """The real emulator as the server: the connection drops while the model waits for a
    NON_BLOCKING tool; the request is sent again once and answered once, and the
    emulator's turn counter shows one turn."""
    from livesvc.emulator import open_emulator
    from livesvc.session import ToolCallReceived
    from livesvc.tools import tool

    from .conftest import FAST_RECONNECT, emulator_config

    release = trio.Event()
    asked_again = trio.Event()
    runs: list[float] = []

    @tool(timeout=60)
    async def lookup(k: int) -> dict[str, Any]:
        """Slow lookup (it answers once the test lets it)."""
        runs.append(trio.current_time())
        if len(runs) == 2:
            asked_again.set()
        await release.wait()
        return {"k": k}

    async with open_emulator(emulator_config()) as emu:
        answers: list[str] = []
        async with open_session(
            model=ET,
            api_key="test-key",
            base_url=emu.url,
            response_modalities=["AUDIO"],
            output_audio_transcription=True,
            tools=[lookup],
            reconnect=FAST_RECONNECT,
            keepalive=KeepalivePolicy(interval=30.0, timeout=30.0),
            on_transcription=lambda t: answers.append(t.text),
        ) as session:
            async with session.events() as events:
                await session.send_text("lookup(k=7)")
                async for event in events:
                    if isinstance(event, ToolCallReceived):
                        break
            await session.wait_utterance_complete()  # the filler, IN_PROGRESS
            assert session.turn.in_progress
            with trio.fail_after(20):
                await emu.faults.drop()
                await asked_again.wait()  # resumed, the request replayed, the tool called again
                release.set()
                turn = await session.wait_turn_complete()
        (info,) = emu.sessions()
    assert turn.turns_completed == 1
    assert info.turns == 1  # the replayed request did not count twice
    text = "".join(answers)
    assert text.count('echo #1: lookup -> {"k":7}') == 1
    assert "echo #2" not in text
