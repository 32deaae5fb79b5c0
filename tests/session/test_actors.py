"""Each actor of the session alone, driven through its mailboxes on trio's virtual clock.

No Session, no supervisor: a SessionCore (the state and the mailboxes) and one
actor; the test plays every other actor by reading and writing the mailboxes.
"""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from livesvc.session import KeepalivePolicy, ReconnectPolicy, SessionConfig
from livesvc.session._close_codes import CloseClass
from livesvc.session._connection import ConnectionActor
from livesvc.session._core import SessionCore
from livesvc.session._envelopes import (
    Dial,
    DropLink,
    Link,
    LinkDown,
    LinkEnd,
    LinkPhase,
    LinkUp,
    RunTools,
    WriteEntry,
    WriteRealtime,
)
from livesvc.session._pinger import PingerActor
from livesvc.session._prepare import prepare
from livesvc.session._reconnector import ReconnectorActor
from livesvc.session._tool_actor import ToolExecutorActor
from livesvc.tools import ToolRunner, tool
from livesvc.wire import (
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    FunctionCall,
    Part,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    ToolCall,
)
from supervisors import Backoff, ChildContext

from .fakes import FakeConnection, FakeLive, echo_server

EXACT = ReconnectPolicy(
    backoff=Backoff(first=1.0, base=2.0, factor=2.0, max=30.0, jitter=0.0),
    max_attempts=3,
    stable_after=30.0,
    connect_timeout=10.0,
    close_timeout=1.0,
    handover_margin=5.0,
)


def core_for(live: FakeLive | None = None, **options: Any) -> SessionCore:
    config = SessionConfig(
        model="gemini-live-2.5-flash-preview",
        api_key="k",
        response_modalities=["TEXT"],
        reconnect=EXACT,
        keepalive=KeepalivePolicy(interval=15.0, timeout=40.0),
        dial=live.dial if live is not None else None,
        **options,
    )
    return SessionCore(prepare(config))


def ctx(name: str) -> ChildContext:
    return ChildContext(id=name, incarnation=1, supervisor="test")


def said(text: str) -> ClientMessage:
    return ClientMessage(
        client_content=ClientContent(
            turns=[Content(role="user", parts=[Part(text=text)])], turn_complete=True
        )
    )


class BlackHole:
    """A socket whose pings are never answered."""

    async def ping(self, payload: bytes) -> None:
        await trio.sleep_forever()


async def test_reconnector_backs_off_exactly_then_gives_up(autojump_clock: Any) -> None:
    """Transient ends: Dial after 1, 2, 4 s of backoff, then the session fails."""
    core = core_for()
    transient = LinkEnd(code=1011, reason="internal", close_class=CloseClass.TRANSIENT)
    dials: list[tuple[float, Dial]] = []
    async with trio.open_nursery() as nursery:
        with core.control.receiver() as commands:
            await nursery.start(ReconnectorActor(core, core.reconnect).run, ctx("reconnector"))
            for _ in range(4):
                command = await commands.receive()
                assert isinstance(command, Dial)
                dials.append((trio.current_time(), command))
                generation, _setup = core.begin_dial(handle=None, fresh=False)  # as the connection
                await core.link_events.send(
                    LinkDown(generation=generation, end=transient, at=trio.current_time())
                )
                if len(dials) == 4:
                    break
            await core.wait_for(lambda: core.error is not None)
        nursery.cancel_scope.cancel()
    assert [t for t, _ in dials] == [0.0, 1.0, 3.0, 7.0]
    assert core.error is not None
    assert "gave up after 3 failed attempts" in str(core.error)


async def test_reconnector_dials_fresh_once_when_a_resume_is_refused(autojump_clock: Any) -> None:
    core = core_for()
    core.handle = "h1"
    core.connections = 1
    refused = LinkEnd(
        code=1007,
        reason="invalid handle",
        close_class=CloseClass.FATAL_CONFIG,
        during_setup=True,
        resumed_with="h1",
    )
    async with trio.open_nursery() as nursery:
        with core.control.receiver() as commands:
            await nursery.start(ReconnectorActor(core, core.reconnect).run, ctx("reconnector"))
            first = await commands.receive()
            generation, _ = core.begin_dial(handle="h1", fresh=False)
            await core.link_events.send(LinkDown(generation=generation, end=refused, at=0.0))
            second = await commands.receive()
        nursery.cancel_scope.cancel()
    assert first == Dial(handle="h1", fresh=False, reason="")
    assert isinstance(second, Dial)
    assert (second.handle, second.fresh) == (None, True)
    assert "refused to resume: 1007 invalid handle" in second.reason
    assert trio.current_time() == 0.0  # no backoff before the fresh dial


async def test_pinger_drops_a_silent_link_after_interval_plus_timeout(autojump_clock: Any) -> None:
    core = core_for()
    link = Link(1, BlackHole(), now=0.0)
    async with trio.open_nursery() as nursery:
        with core.control.receiver() as commands:
            await nursery.start(PingerActor(core).run, ctx("pinger"))
            core.pinger_events.send_nowait(LinkUp(generation=1, link=link, at=0.0))
            command = await commands.receive()
        nursery.cancel_scope.cancel()
    assert command == DropLink(generation=1, reason="keepalive timeout")
    assert trio.current_time() == 55.0


async def test_pinger_stops_watching_a_link_that_went_down(autojump_clock: Any) -> None:
    core = core_for()
    link = Link(1, BlackHole(), now=0.0)
    async with trio.open_nursery() as nursery:
        with core.control.receiver() as commands:
            await nursery.start(PingerActor(core).run, ctx("pinger"))
            core.pinger_events.send_nowait(LinkUp(generation=1, link=link, at=0.0))
            await trio.sleep(20)
            core.pinger_events.send_nowait(
                LinkDown(generation=1, end=LinkEnd(reason="closed"), at=20.0)
            )
            await trio.sleep(300)
            assert commands.statistics().current_buffer_used == 0
        nursery.cancel_scope.cancel()


async def test_connection_writes_queued_frames_in_order_in_one_batch(autojump_clock: Any) -> None:
    """Frames queued while the writer is busy are written in order, nothing dropped."""
    received: list[ClientMessage] = []
    got_all = trio.Event()

    async def recorder(conn: FakeConnection) -> None:
        await conn.accept_setup()
        while True:
            received.append(await conn.receive())
            if len(received) == 5:
                got_all.set()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, recorder)
        core = core_for(live)
        with core.link_events.receiver() as events:
            await nursery.start(ConnectionActor(core).run, ctx("connection"))
            await core.control.send(Dial())
            up = await events.receive()
            assert isinstance(up, LinkUp)
            assert core.link_phase is LinkPhase.UP
            await trio.testing.wait_all_tasks_blocked()  # the replay is done: the writer waits
            entry = core.ledger.append(said("hello"))
            chunks = [
                ClientMessage(
                    realtime_input=RealtimeInput(
                        audio=Blob(data=bytes([i]) * 640, mime_type="audio/pcm;rate=16000")
                    )
                )
                for i in range(4)
            ]
            for chunk in chunks[:2]:
                core.outbox.send_nowait(WriteRealtime(message=chunk, kind="audio", seconds=0.02))
            core.outbox.send_nowait(WriteEntry(seq=entry.seq))
            for chunk in chunks[2:]:
                core.outbox.send_nowait(WriteRealtime(message=chunk, kind="audio", seconds=0.02))
            await got_all.wait()
        nursery.cancel_scope.cancel()
    assert received == [chunks[0], chunks[1], said("hello"), chunks[2], chunks[3]]
    assert entry.is_written


async def test_connection_buffers_media_while_down_and_sends_it_after_setup(
    autojump_clock: Any,
) -> None:
    received: list[ClientMessage] = []
    got = trio.Event()

    async def recorder(conn: FakeConnection) -> None:
        await conn.accept_setup()
        received.append(await conn.receive())
        got.set()
        await trio.sleep_forever()

    chunk = ClientMessage(
        realtime_input=RealtimeInput(audio=Blob(data=bytes(640), mime_type="audio/pcm;rate=16000"))
    )
    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, recorder)
        core = core_for(live)
        await nursery.start(ConnectionActor(core).run, ctx("connection"))
        core.outbox.send_nowait(WriteRealtime(message=chunk, kind="audio", seconds=0.02))
        await trio.testing.wait_all_tasks_blocked()
        assert len(core.media) == 1  # no link: kept, bounded
        await core.control.send(Dial())
        await got.wait()
        nursery.cancel_scope.cancel()
    assert received == [chunk]


async def test_connection_seeds_a_fresh_session_with_the_transcript(autojump_clock: Any) -> None:
    """After a lost context, the history goes first, then the unanswered prompt."""
    received: list[ClientMessage] = []
    got = trio.Event()

    async def recorder(conn: FakeConnection) -> None:
        await conn.accept_setup()
        for _ in range(2):
            received.append(await conn.receive())
        got.set()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, recorder)
        core = core_for(live)  # a resume was refused: the ledger still holds "b"
        assert core.transcript is not None
        # An earlier server session heard "a" and answered; "b" is unanswered.
        answered = core.ledger.append(said("a"))
        core.record_written(answered, generation=1, conn_index=1)
        await core.on_server_message(
            ServerMessage(
                server_content=ServerContent(model_turn=Content(parts=[Part(text="echo a")]))
            ),
            1,
        )
        await core.on_server_message(
            ServerMessage(server_content=ServerContent(turn_complete=True)), 1
        )
        pending = core.ledger.append(said("b"))
        core.record_written(pending, generation=1, conn_index=2)
        core.generation = 1
        core.connections = 1
        await nursery.start(ConnectionActor(core).run, ctx("connection"))
        await core.control.send(Dial(fresh=True, reason="the server refused to resume"))
        await got.wait()
        setup = live.connections[0].setup
        nursery.cancel_scope.cancel()
    assert setup is not None
    assert setup.setup.history_config is not None
    history, replayed = received
    assert history.client_content is not None
    assert [(c.role, (c.parts or [])[0].text) for c in history.client_content.turns or []] == [
        ("user", "a"),
        ("model", "echo a"),
    ]
    assert history.client_content.turn_complete is True  # ends the history: no reply to it
    assert replayed == said("b")
    assert core.context_losses == 1


async def test_tool_executor_runs_a_call_and_answers_through_the_runner(
    autojump_clock: Any,
) -> None:
    answers: list[Any] = []
    answered = trio.Event()

    @tool
    async def add(a: int, b: int) -> int:
        await trio.sleep(2)
        return a + b

    async def respond(responses: list[Any]) -> None:
        answers.append((trio.current_time(), responses))
        answered.set()

    core = core_for()
    runner = ToolRunner(tools={"add": add}, respond=respond)
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.serve)
        await nursery.start(ToolExecutorActor(core, runner).run, ctx("tool_executor"))
        call = ToolCall(function_calls=[FunctionCall(id="c1", name="add", args={"a": 2, "b": 3})])
        await core.tool_commands.send(RunTools(call=call))
        with trio.fail_after(10):
            await answered.wait()
        nursery.cancel_scope.cancel()
    ((at, responses),) = answers
    assert at == 2.0
    assert [(r.id, r.name, r.response) for r in responses] == [("c1", "add", {"result": 5})]


async def test_echo_server_still_serves_the_whole_tree(autojump_clock: Any) -> None:
    """The actors composed (the supervisor's job) still talk to a plain server."""
    from livesvc.session import open_session

    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, echo_server)
        async with open_session(
            model="gemini-live-2.5-flash-preview",
            api_key="k",
            response_modalities=["TEXT"],
            dial=live.dial,
        ) as session:
            await session.send_text("x")
            await session.wait_turn_complete()
        nursery.cancel_scope.cancel()
