"""A slow store never holds up the relay; a daemon handle reaches the client only once durable."""

import msgspec
import trio
import trio.testing

from livesvc.gateway._session import (
    Attach,
    Close,
    FromClient,
    GatewaySession,
    SessionSettings,
)
from livesvc.gateway._upstream import UpstreamRequest
from livesvc.metrics import DaemonMetrics
from livesvc.store import SessionRecord, SessionWriter
from livesvc.wire import Setup

from .conftest import FakeUpstreams, client_link
from .test_session import frames, make_session, text_turn


class BlockedStore:
    """A store whose every write waits until ``release`` is set (a stalled disk)."""

    def __init__(self) -> None:
        self.release = trio.Event()
        self.records: dict[str, SessionRecord] = {}
        self.handles: list[str] = []
        self.writes = 0

    async def put_session(self, record: SessionRecord) -> None:
        await self.release.wait()
        self.writes += 1
        self.records[record.session_id] = record

    async def issue_handle(self, session_id: str, *, now: float) -> str:
        await self.release.wait()
        self.handles.append(f"lsh_{len(self.handles)}")
        return self.handles[-1]


async def test_a_blocked_store_delays_neither_setup_complete_nor_relayed_frames(
    autojump_clock, upstreams: FakeUpstreams
):
    store = BlockedStore()
    session = make_session(upstreams, store)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=True)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        started = trio.current_time()
        assert "setupComplete" in (await frames(link, 1))[0]
        for n in range(3):
            await session.send_to_upstream(FromClient(message=text_turn(f"t{n}"), size=2))
            got = await frames(link, 2)
            assert got[0]["serverContent"]["modelTurn"]["parts"][0] == {"text": f"echo: t{n}"}
            assert got[1]["serverContent"]["turnComplete"] is True
        assert trio.current_time() == started  # no virtual time passed waiting for the store
        await trio.testing.wait_all_tasks_blocked()
        # The handle is not durable yet, so the client has not been given it.
        assert store.writes == 0
        assert link.socket.frames.statistics().current_buffer_used == 0
        store.release.set()
        update = (await frames(link, 1))[0]
        assert update == {"sessionResumptionUpdate": {"newHandle": "lsh_0", "resumable": True}}
        # By the time the client holds the handle, the newest upstream handle is stored.
        assert store.records["ls_1"].upstream_handle == "up-ls_1-3"
        nursery.cancel_scope.cancel()
    assert store.handles == ["lsh_0"]


async def test_each_handle_update_reaches_the_client_after_its_commit(
    autojump_clock, upstreams: FakeUpstreams
):
    store = BlockedStore()
    store.release.set()
    metrics = DaemonMetrics()
    session = make_session(upstreams, store, metrics)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=True)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await frames(link, 1)
        for n in range(1, 3):
            await session.send_to_upstream(FromClient(message=text_turn("x"), size=1))
            got = await frames(link, 3)
            assert got[2] == {"sessionResumptionUpdate": {"newHandle": "lsh_0", "resumable": True}}
            assert store.records["ls_1"].upstream_handle == f"up-ls_1-{n}"
        nursery.cancel_scope.cancel()
    assert store.handles == ["lsh_0"]  # one daemon handle per attachment
    assert msgspec.json.encode(store.records["ls_1"]).count(b"lsh_") == 0


async def test_a_session_ending_after_the_shared_writer_stopped_still_stores_its_end(
    autojump_clock, upstreams: FakeUpstreams
):
    """At a drain the gateway (which runs the writer) stops before the sessions do."""
    store = BlockedStore()
    store.release.set()
    writer = SessionWriter(store)  # type: ignore[arg-type]
    base = make_session(upstreams, store)  # type: ignore[arg-type]
    session = GatewaySession(
        record=base.record,
        request=UpstreamRequest(session_id="ls_1", setup=Setup(model="m")),
        upstream_factory=upstreams,
        store=store,  # type: ignore[arg-type]
        metrics=DaemonMetrics(),
        settings=SessionSettings(grace_period=30.0),
        wall_clock=lambda: 1000.0,
        writer=writer,
    )
    async with trio.open_nursery() as nursery:
        async with trio.open_nursery() as gateway:
            await gateway.start(writer.run)
            await nursery.start(session.run)
            link = client_link(wants_resumption=True)
            await session.inbox_send.send(Attach(link=link, resumed=False))
            await frames(link, 1)
            gateway.cancel_scope.cancel()
        await session.send_to_upstream(FromClient(message=text_turn("last"), size=4))
        await frames(link, 2)
        await session.inbox_send.send(Close(reason="bye"))
        await session.ended.wait()
    assert not writer.running
    assert store.records["ls_1"].status == "closed"
    assert store.records["ls_1"].upstream_handle == "up-ls_1-1"
