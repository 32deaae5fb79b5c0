"""The session actor on a virtual clock: grace period, admin close, drain, slow clients."""

from __future__ import annotations

import msgspec
import pytest
import trio
import trio_websocket

from livesvc.gateway._session import (
    Attach,
    ClientLink,
    Close,
    Detach,
    FromClient,
    GatewaySession,
    SessionSettings,
)
from livesvc.gateway._upstream import Frame, SendRefused, UpstreamRequest
from livesvc.metrics import DaemonMetrics
from livesvc.store import SessionRecord
from livesvc.wire import (
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    Part,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    Setup,
    decode_server,
)
from supervisors import ChildContext

from .conftest import FakeUpstreams, QueueSocket, client_link


class MemoryStore:
    """The store calls a session makes, kept in memory (no threads under the virtual clock)."""

    def __init__(self) -> None:
        self.records: dict[str, SessionRecord] = {}
        self.handles: list[str] = []

    async def put_session(self, record: SessionRecord) -> None:
        self.records[record.session_id] = record

    async def issue_handle(self, session_id: str, *, now: float) -> str:
        self.handles.append(f"lsh_{len(self.handles)}")
        return self.handles[-1]


def make_session(
    upstreams: FakeUpstreams,
    store: MemoryStore,
    metrics: DaemonMetrics | None = None,
    **settings,
) -> GatewaySession:
    record = SessionRecord(
        session_id="ls_1",
        principal="key:web",
        profile="default",
        model="m",
        status="active",
        created_at=0.0,
        updated_at=0.0,
    )
    return GatewaySession(
        record=record,
        request=UpstreamRequest(session_id="ls_1", setup=Setup(model="m")),
        upstream_factory=upstreams,
        store=store,  # type: ignore[arg-type]
        metrics=metrics or DaemonMetrics(),
        settings=SessionSettings(**{"grace_period": 30.0, **settings}),
        wall_clock=lambda: 1000.0,
    )


def text_turn(text: str) -> ClientMessage:
    return ClientMessage(
        client_content=ClientContent(
            turns=[Content(role="user", parts=[Part(text=text)])], turn_complete=True
        )
    )


async def frames(link: ClientLink, n: int) -> list[dict]:
    return [msgspec.json.decode(await link.socket.frames.receive()) for _ in range(n)]


async def test_grace_period_ends_a_detached_session_at_the_exact_time(
    autojump_clock, upstreams: FakeUpstreams
):
    store = MemoryStore()
    session = make_session(upstreams, store)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=True)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await frames(link, 1)  # setupComplete
        await trio.sleep(100)  # attached: no grace period runs
        assert not session.ended.is_set()
        await session.inbox_send.send(Detach(link=link))
        detached_at = trio.current_time()
        await session.ended.wait()
    assert trio.current_time() == detached_at + 30
    assert store.records["ls_1"].status == "closed"
    assert upstreams.last().closed


async def test_a_zero_grace_period_still_serves_the_first_client_then_ends_on_detach(
    autojump_clock, upstreams: FakeUpstreams
):
    """grace_period = 0 means "end when the client leaves", not "end before it arrives"."""
    session = make_session(upstreams, MemoryStore(), grace_period=0.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=False)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        with trio.fail_after(60):  # virtual seconds: a session ended unborn never answers
            assert "setupComplete" in (await frames(link, 1))[0]
        await session.send_to_upstream(FromClient(message=text_turn("hi"), size=1))
        assert (await frames(link, 2))[0]["serverContent"]["modelTurn"]["parts"][0] == {
            "text": "echo: hi"
        }
        await session.inbox_send.send(Detach(link=link))
        detached_at = trio.current_time()
        await session.ended.wait()
    assert trio.current_time() == detached_at


async def test_reattach_within_grace_keeps_the_session(autojump_clock, upstreams: FakeUpstreams):
    store = MemoryStore()
    session = make_session(upstreams, store)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=True)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await session.inbox_send.send(Detach(link=link))
        await trio.sleep(29)
        again = client_link(wants_resumption=True)
        await session.inbox_send.send(Attach(link=again, resumed=True))
        await frames(again, 1)
        await trio.sleep(60)
        assert not session.ended.is_set()
        assert store.records["ls_1"].client_resumes == 1
        nursery.cancel_scope.cancel()


async def test_admin_close_closes_the_client(autojump_clock, upstreams: FakeUpstreams):
    session = make_session(upstreams, MemoryStore())
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=False)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await session.inbox_send.send(Close(reason="maintenance"))
        await link.closing.wait()
    assert (link.close_code, link.close_reason) == (1000, "maintenance")


async def test_drain_waits_for_the_running_turn_then_says_going_away(
    autojump_clock, upstreams: FakeUpstreams
):
    store = MemoryStore()
    session = make_session(upstreams, store)
    ctx = ChildContext(id="ls_1")
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run, ctx)
        link = client_link(wants_resumption=True)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await frames(link, 1)
        upstream = upstreams.last()

        async def silent_send(message: ClientMessage) -> None:  # the model thinks for a while
            upstream.sent.append(message)

        upstream.send = silent_send  # type: ignore[method-assign]
        await session.send_to_upstream(FromClient(message=text_turn("long question"), size=1))
        await trio.testing.wait_all_tasks_blocked()
        assert session.busy
        ctx.request_stop()
        await trio.sleep(5)
        assert not link.closing.is_set()  # still answering
        await upstream.reply("the answer")
        await link.closing.wait()
        answer = await frames(link, 2)
    assert answer[0]["serverContent"]["modelTurn"]["parts"][0]["text"] == "the answer"
    assert link.close_code == 1001
    assert store.records["ls_1"].status == "detached"  # resumable after the restart


async def test_a_client_that_reads_nothing_is_closed(autojump_clock, upstreams: FakeUpstreams):
    metrics = DaemonMetrics()
    session = make_session(upstreams, MemoryStore(), metrics, client_send_timeout=10.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=False, capacity=1)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await trio.testing.wait_all_tasks_blocked()
        start = trio.current_time()
        await upstreams.last().reply("one")  # the client's queue (size 1) is already full
        await link.closing.wait()
        assert trio.current_time() == start + 10
        assert (link.close_code, link.close_reason) == (4003, "Client is not reading its messages.")
        # The write was cut: the connection is to be aborted (no close frame can
        # follow half a frame), and once the client is gone its frames are kept for a resume.
        assert link.broken
        await session.inbox_send.send(Detach(link=link, code=1006))
        await trio.testing.wait_all_tasks_blocked()
        assert b"one" in b"".join(session.buffered_frames())
        nursery.cancel_scope.cancel()
    sample = metrics.registry.get_sample_value("livesvc_errors_total", {"kind": "client_too_slow"})
    assert sample == 1.0


@pytest.mark.parametrize("wants", [True, False])
async def test_resumption_updates_carry_daemon_handles_only_when_asked(
    autojump_clock, upstreams: FakeUpstreams, wants: bool
):
    store = MemoryStore()
    session = make_session(upstreams, store)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=wants)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await frames(link, 1)
        await session.send_to_upstream(FromClient(message=text_turn("hi"), size=1))
        got = await frames(link, 3 if wants else 2)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert store.records["ls_1"].upstream_handle == "up-ls_1-1"
    if wants:
        assert got[2] == {"sessionResumptionUpdate": {"newHandle": "lsh_0", "resumable": True}}
    assert b"up-ls_1" not in b"".join(msgspec.json.encode(g) for g in got)
    assert decode_server(msgspec.json.encode(got[0])).server_content is not None


async def test_a_spent_memory_budget_closes_the_client_with_4004_and_the_session_goes_on(
    autojump_clock, upstreams: FakeUpstreams
):
    """The client learns its message was not delivered; resuming gets it a working session."""
    metrics = DaemonMetrics()
    session = make_session(upstreams, MemoryStore(), metrics)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=False)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await frames(link, 1)
        await upstreams.last().push.send(SendRefused(reason="the outbound ledger is full"))
        await link.closing.wait()
        assert link.close_code == 4004
        await session.inbox_send.send(Detach(link=link, code=4004))
        again = client_link(wants_resumption=False)
        await session.inbox_send.send(Attach(link=again, resumed=True))
        await frames(again, 1)
        await session.send_to_upstream(FromClient(message=text_turn("still there?"), size=1))
        assert (await frames(again, 2))[0]["serverContent"]["modelTurn"]["parts"][0] == {
            "text": "echo: still there?"
        }
        assert not session.ended.is_set()
        nursery.cancel_scope.cancel()
    value = metrics.registry.get_sample_value(
        "livesvc_errors_total", {"kind": "session_memory_budget"}
    )
    assert value == 1


async def test_a_message_read_from_a_leaving_client_still_reaches_the_upstream(
    autojump_clock, upstreams: FakeUpstreams
):
    """The client's reading task hands its message over itself; if the client leaves
    (its task is cancelled) while the upstream has no room yet, the message still
    goes up once there is room: nothing read from a client is dropped."""
    session = make_session(upstreams, MemoryStore())
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        upstream = upstreams.last()
        room = trio.Event()
        original = upstream.send

        async def slow_send(message: ClientMessage) -> None:
            await room.wait()
            await original(message)

        upstream.send = slow_send  # type: ignore[method-assign]

        async def room_at_two() -> None:
            await trio.sleep(2.0)
            room.set()

        nursery.start_soon(room_at_two)
        with trio.CancelScope() as reader:  # the client's reading task
            reader.deadline = trio.current_time() + 1.0  # the client leaves at t = 1
            await session.send_to_upstream(FromClient(message=text_turn("hi"), size=10))
            await trio.sleep(10)  # the reader's next wait: cancelled at once
        assert reader.cancelled_caught
        assert trio.current_time() == 2.0  # the hand-over finished when room came, then it ended
        assert [m.client_content.turns[0].parts[0].text for m in upstream.sent] == ["hi"]
        nursery.cancel_scope.cancel()


async def test_client_messages_are_refused_once_the_session_ended(
    autojump_clock, upstreams: FakeUpstreams
):
    session = make_session(upstreams, MemoryStore())
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        await session.inbox_send.send(Close(reason="bye", code=1000))
        await session.ended.wait()
        with pytest.raises(trio.ClosedResourceError):
            await session.send_to_upstream(FromClient(message=text_turn("late"), size=4))
        assert upstreams.last().sent == []


async def test_a_new_client_gets_a_handle_at_once_when_the_upstream_was_resumable_first(
    autojump_clock, upstreams: FakeUpstreams
):
    """The upstream's first handle can arrive before the client attaches (it follows
    setupComplete): the client is then offered its daemon handle right after its own
    setupComplete, not only after its first turn."""

    store = MemoryStore()
    session = make_session(upstreams, store)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        update = SessionResumptionUpdate(new_handle="up-early", resumable=True)
        await upstreams.last().push.send(
            Frame(message=ServerMessage(session_resumption_update=update))
        )
        await trio.testing.wait_all_tasks_blocked()
        link = client_link(wants_resumption=True)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        got = await frames(link, 2)
        nursery.cancel_scope.cancel()
    assert got == [
        {"setupComplete": {"sessionId": "ls_1"}},
        {"sessionResumptionUpdate": {"newHandle": "lsh_0", "resumable": True}},
    ]
    assert store.records["ls_1"].upstream_handle == "up-early"


async def _turn_running(session: GatewaySession, upstreams: FakeUpstreams) -> None:
    """A client turn sent, no answer yet (the fake upstream stays silent)."""

    async def silent(message: ClientMessage) -> None:
        upstreams.last().sent.append(message)

    upstreams.last().send = silent  # type: ignore[method-assign]
    await session.send_to_upstream(FromClient(message=text_turn("hi"), size=2))
    await trio.testing.wait_all_tasks_blocked()  # the actor took the client's note
    assert session.busy


async def test_wait_turn_settled_returns_when_the_turn_and_its_handle_are_in(
    autojump_clock, upstreams: FakeUpstreams
):

    session = make_session(upstreams, MemoryStore())
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        await _turn_running(session, upstreams)

        async def turn_ends() -> None:
            push = upstreams.last().push
            await trio.sleep(2.5)
            await push.send(
                Frame(message=ServerMessage(server_content=ServerContent(turn_complete=True)))
            )
            await trio.sleep(0.1)
            update = SessionResumptionUpdate(new_handle="up-after", resumable=True)
            await push.send(Frame(message=ServerMessage(session_resumption_update=update)))

        nursery.start_soon(turn_ends)
        await session.wait_turn_settled(turn_timeout=10, handle_timeout=1)
        assert trio.current_time() == 2.6
        assert session.record.upstream_handle == "up-after"
        nursery.cancel_scope.cancel()


async def test_wait_turn_settled_gives_up_after_its_bounds(
    autojump_clock, upstreams: FakeUpstreams
):
    session = make_session(upstreams, MemoryStore())
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        await _turn_running(session, upstreams)
        await session.wait_turn_settled(turn_timeout=10, handle_timeout=1)
        assert trio.current_time() == 11.0  # 10 s for the turn, 1 s for a handle
        nursery.cancel_scope.cancel()


async def test_wait_turn_settled_returns_at_once_when_idle_or_ended(
    autojump_clock, upstreams: FakeUpstreams
):
    session = make_session(upstreams, MemoryStore())
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        await session.wait_turn_settled(turn_timeout=10, handle_timeout=1)
        assert trio.current_time() == 0.0
        await _turn_running(session, upstreams)

        async def close_at_three() -> None:
            await trio.sleep(3)
            await session.inbox_send.send(Close(reason="bye", code=1000))

        nursery.start_soon(close_at_three)
        await session.wait_turn_settled(turn_timeout=10, handle_timeout=1)
        assert trio.current_time() == 3.0  # the end wakes it
        nursery.cancel_scope.cancel()


async def test_frames_arriving_while_a_client_catches_up_come_after_what_it_missed(
    autojump_clock, upstreams: FakeUpstreams
):

    def said(text: str) -> Frame:
        turn = Content(role="model", parts=[Part(text=text)])
        return Frame(message=ServerMessage(server_content=ServerContent(model_turn=turn)))

    session = make_session(upstreams, MemoryStore())
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        push = upstreams.last().push
        await push.send(said("a"))
        await push.send(said("b"))  # nobody attached: both are kept
        await trio.testing.wait_all_tasks_blocked()
        link = client_link(wants_resumption=False, capacity=1)  # the flush waits on the client
        await session.inbox_send.send(Attach(link=link, resumed=True))
        await trio.testing.wait_all_tasks_blocked()
        await push.send(said("c"))  # arrives in the middle of the catch-up
        await trio.testing.wait_all_tasks_blocked()
        got = await frames(link, 4)
        nursery.cancel_scope.cancel()
    texts = [f["serverContent"]["modelTurn"]["parts"][0]["text"] for f in got[1:]]
    assert "setupComplete" in got[0]
    assert texts == ["a", "b", "c"]


class GoneSocket:
    """A client WebSocket whose peer has gone: every write finds it closed."""

    async def send_message(self, frame: bytes) -> None:
        raise trio_websocket.ConnectionClosed(None)  # type: ignore[arg-type]


async def test_frames_for_a_gone_client_are_kept_for_its_resume(
    autojump_clock, upstreams: FakeUpstreams
):
    session = make_session(upstreams, MemoryStore())
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = ClientLink(wants_resumption=False, socket=GoneSocket())
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await trio.testing.wait_all_tasks_blocked()
        assert link.closing.is_set()  # the writer found the client gone
        assert not link.offer(b"{}")  # and the link takes nothing more
        await session.inbox_send.send(Detach(link=link, code=1006))
        await trio.testing.wait_all_tasks_blocked()
        assert [msgspec.json.decode(f) for f in session.buffered_frames()] == [
            {"setupComplete": {"sessionId": "ls_1"}}
        ]
        nursery.cancel_scope.cancel()


def _audio_frame(i: int) -> Frame:
    chunk = Blob(data=bytes([i % 256]) * 960, mime_type="audio/pcm;rate=24000")
    return Frame(
        message=ServerMessage(
            server_content=ServerContent(model_turn=Content(parts=[Part(inline_data=chunk)]))
        )
    )


async def test_a_client_that_stops_reading_never_holds_up_its_upstream(
    autojump_clock, upstreams: FakeUpstreams
):
    """The upstream's reader hands frames over without waiting for the client: audio
    past the link's bound is dropped (counted), a conversation frame that does not fit
    closes the client with 4003, and all of it happens at once, at the same virtual time."""
    metrics = DaemonMetrics()
    session = make_session(upstreams, MemoryStore(), metrics, client_send_timeout=10.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        # A client whose socket holds one frame (setupComplete fills it) and reads nothing.
        link = ClientLink(wants_resumption=True, socket=QueueSocket(capacity=1), max_frames=8)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await trio.testing.wait_all_tasks_blocked()
        upstream = upstreams.last()
        start = trio.current_time()
        for i in range(50):
            await upstream.push.send(_audio_frame(i))
        await trio.testing.wait_all_tasks_blocked()
        # The reader delivered all 50 without waiting: nothing left in its channel.
        assert upstream._events.statistics().current_buffer_used == 0
        assert trio.current_time() == start
        assert not link.closing.is_set()  # audio alone never closes a client
        assert link.audio_dropped == 42  # 8 queued (the head being written), 42 dropped
        # Conversation frames are never dropped: audio makes room for them, and once
        # only they are left, the next one that does not fit closes the client.
        for i in range(8):
            text = Content(role="model", parts=[Part(text=f"words {i}")])
            await upstream.push.send(
                Frame(message=ServerMessage(server_content=ServerContent(model_turn=text)))
            )
        await trio.testing.wait_all_tasks_blocked()
        assert trio.current_time() == start
        assert link.closing.is_set()
        assert (link.close_code, link.close_reason) == (4003, "Client is not reading its messages.")
        nursery.cancel_scope.cancel()
    dropped = metrics.registry.get_sample_value(
        "livesvc_media_dropped_total", {"kind": "client_audio"}
    )
    slow = metrics.registry.get_sample_value("livesvc_errors_total", {"kind": "client_too_slow"})
    assert (dropped, slow) == (49.0, 1.0)  # every queued audio frame but the one in flight
