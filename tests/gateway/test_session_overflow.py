"""The session actor's mailboxes on the virtual clock: nobody waits inside the upstream's
reader, model audio is shed oldest-first, a client that cannot keep up is closed with
4003 and its session stays, and a lost upstream conversation follows the policy."""

from __future__ import annotations

import base64

import msgspec
import trio
import trio.testing

from livesvc.close_codes import CLOSE_CLIENT_TOO_SLOW, CLOSE_CONTEXT_LOST
from livesvc.gateway._link import TOO_SLOW_REASON, ClientLink
from livesvc.gateway._session import CONTEXT_LOST_REASON, Attach, Detach
from livesvc.gateway._upstream import ContextLost, Frame
from livesvc.metrics import DaemonMetrics
from livesvc.wire import Blob, Content, Part, ServerContent, ServerMessage

from .conftest import FakeUpstreams, client_link
from .test_session import MemoryStore, make_session


class StuckSocket:
    """A client that never reads again: every write waits forever."""

    def __init__(self) -> None:
        self.writes = 0

    async def send_message(self, frame: bytes) -> None:
        self.writes += 1
        await trio.sleep_forever()


def audio(n: int) -> Frame:
    data = n.to_bytes(4, "big") * 240
    part = Part(inline_data=Blob(data=data, mime_type="audio/pcm;rate=24000"))
    content = ServerContent(model_turn=Content(role="model", parts=[part]))
    return Frame(message=ServerMessage(server_content=content))


def said(text: str) -> Frame:
    content = ServerContent(model_turn=Content(role="model", parts=[Part(text=text)]))
    return Frame(message=ServerMessage(server_content=content))


def audio_number(frame: bytes) -> int:
    part = msgspec.json.decode(frame)["serverContent"]["modelTurn"]["parts"][0]
    return int.from_bytes(base64.b64decode(part["inlineData"]["data"])[:4], "big")


async def test_a_client_that_stops_reading_never_delays_the_upstream_reader(
    autojump_clock, upstreams: FakeUpstreams
):
    """The upstream's reader hands 600 events over while the client reads nothing:
    not one hand-over waits (the reader could answer pings all along), the client is
    closed with 4003 as soon as a conversation frame does not fit, and its session
    stays for a resume with every conversation frame kept, in order."""
    metrics = DaemonMetrics()
    session = make_session(
        upstreams, MemoryStore(), metrics, buffer_frames=4, client_send_timeout=1e6
    )
    other = make_session(upstreams, MemoryStore(), metrics)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        slow_upstream = upstreams.last()
        await nursery.start(other.run)
        other_upstream = upstreams.last()
        stuck = StuckSocket()
        await session.inbox_send.send(
            Attach(
                link=ClientLink(wants_resumption=True, socket=stuck, max_frames=4), resumed=False
            )
        )
        reader = client_link(wants_resumption=False)
        await other.inbox_send.send(Attach(link=reader, resumed=False))
        await trio.testing.wait_all_tasks_blocked()
        slow_link = session.link
        assert slow_link is not None
        start = trio.current_time()
        for n in range(600):
            await slow_upstream.push.send(said(f"t{n}") if n % 50 == 49 else audio(n))
        assert trio.current_time() == start  # no hand-over waited, not even virtually
        await trio.testing.wait_all_tasks_blocked()
        # The other session is untouched: its client gets its frames at once.
        await other_upstream.push.send(said("hello"))
        got = [msgspec.json.decode(await reader.socket.frames.receive()) for _ in range(2)]
        assert got[1]["serverContent"]["modelTurn"]["parts"][0]["text"] == "hello"
        assert trio.current_time() == start
        assert slow_link.closing.is_set()
        assert (slow_link.close_code, slow_link.close_reason) == (
            CLOSE_CLIENT_TOO_SLOW,
            TOO_SLOW_REASON,
        )
        await session.inbox_send.send(Detach(link=slow_link, code=None))
        await trio.testing.wait_all_tasks_blocked()
        assert session.status == "detached"  # kept for a resume
        kept = b"".join(session.buffered_frames())
        texts = [f"t{n}".encode() for n in range(49, 600, 50)]
        kept_texts = [t for t in texts if t + b'"' in kept]
        # Every text frame the client did not get is kept, in order, through the last.
        assert kept_texts == texts[texts.index(kept_texts[0]) :]
        assert kept_texts[-1] == b"t599"
        nursery.cancel_scope.cancel()
    dropped = metrics.registry.get_sample_value(
        "livesvc_media_dropped_total", {"kind": "model_audio"}
    )
    assert dropped is not None
    assert dropped > 0
    assert (
        metrics.registry.get_sample_value("livesvc_errors_total", {"kind": "client_too_slow"}) == 1
    )


async def test_model_audio_is_shed_oldest_first_and_text_is_never_shed(
    autojump_clock, upstreams: FakeUpstreams
):
    metrics = DaemonMetrics()
    session = make_session(
        upstreams, MemoryStore(), metrics, buffer_frames=4, client_send_timeout=1e6
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        stuck = StuckSocket()
        link = ClientLink(wants_resumption=False, socket=stuck, max_frames=4)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await trio.testing.wait_all_tasks_blocked()  # setupComplete is being written
        for n in range(10):
            await upstreams.last().push.send(audio(n))
        await upstreams.last().push.send(said("kept"))
        await trio.testing.wait_all_tasks_blocked()
        assert not link.closing.is_set()
        queued = link.outbox.take_all()
        nursery.cancel_scope.cancel()
    assert [audio_number(f) for f in queued[:-1]] == [7, 8, 9]  # the newest audio stayed
    assert b"kept" in queued[-1]
    assert (
        metrics.registry.get_sample_value("livesvc_media_dropped_total", {"kind": "model_audio"})
        == 7
    )


async def test_a_lost_conversation_closes_the_client_with_4001_by_default(
    autojump_clock, upstreams: FakeUpstreams
):
    metrics = DaemonMetrics()
    session = make_session(upstreams, MemoryStore(), metrics)
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=True)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await upstreams.last().push.send(ContextLost(reason="resume refused", dropped=0))
        await link.closing.wait()
        await session.ended.wait()
    assert (link.close_code, link.close_reason) == (CLOSE_CONTEXT_LOST, CONTEXT_LOST_REASON)
    assert session.last_close_code == CLOSE_CONTEXT_LOST
    assert (session.context_lost, session.context_lost_outcome) == (1, "closed")
    assert (
        metrics.registry.get_sample_value("livesvc_context_lost_total", {"outcome": "closed"}) == 1
    )


async def test_with_reseed_the_client_stays_and_the_loss_is_counted(
    autojump_clock, upstreams: FakeUpstreams
):
    metrics = DaemonMetrics()
    session = make_session(upstreams, MemoryStore(), metrics, context_loss="reseed")
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        link = client_link(wants_resumption=False)
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await upstreams.last().push.send(ContextLost(reason="resume refused", dropped=0))
        await upstreams.last().push.send(said("echo #3"))
        await trio.testing.wait_all_tasks_blocked()
        got = [msgspec.json.decode(link.socket.frames.receive_nowait()) for _ in range(2)]
        assert not link.closing.is_set()
        assert not session.ended.is_set()
        nursery.cancel_scope.cancel()
    assert got[1]["serverContent"]["modelTurn"]["parts"][0]["text"] == "echo #3"
    assert (session.context_lost, session.context_lost_outcome) == (1, "reseeded")
    assert (
        metrics.registry.get_sample_value("livesvc_context_lost_total", {"outcome": "reseeded"})
        == 1
    )
