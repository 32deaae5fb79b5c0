"""A client that stops reading, against the daemon's real upstream (a library session on
an in-process emulator, real sockets): its upstream's reader keeps reading, so the
liveness check never fires and the other session is not touched."""

from __future__ import annotations

from types import SimpleNamespace

import msgspec
import trio
import trio.testing

from livesvc.config import GatewayConfig, UpstreamConfig
from livesvc.daemon._upstream import library_upstream
from livesvc.emulator import Emulator, EmulatorConfig, open_emulator
from livesvc.gateway._commands import Attach, FromClient
from livesvc.gateway._link import ClientLink
from livesvc.gateway._session import GatewaySession, SessionSettings
from livesvc.gateway._upstream import UpstreamRequest
from livesvc.metrics import DaemonMetrics
from livesvc.store import SessionRecord
from livesvc.wire import ClientContent, ClientMessage, Content, Part, Setup

from .test_session import MemoryStore

MODEL = "gemini-live-2.5-flash-preview"
SEND_TIMEOUT = 60.0  # far beyond the test's bound: a reader waiting on the client shows


class StuckSocket:
    """A client that reads nothing until ``release`` (the test's end): every write waits."""

    def __init__(self) -> None:
        self.release = trio.Event()

    async def send_message(self, frame: bytes) -> None:
        await self.release.wait()


class ReadingSocket:
    def __init__(self) -> None:
        self.send, self.frames = trio.open_memory_channel[bytes](1000)

    async def send_message(self, frame: bytes) -> None:
        await self.send.send(frame)


def _session(emulator: Emulator, session_id: str, metrics: DaemonMetrics) -> GatewaySession:
    daemon = SimpleNamespace(
        config=SimpleNamespace(upstream=UpstreamConfig(), gateway=GatewayConfig()),
        emulator=emulator,
        emulator_key="emulator-key",
        metrics=metrics,
    )
    record = SessionRecord(
        session_id=session_id,
        principal="key:web",
        profile="default",
        model=MODEL,
        status="active",
        created_at=0.0,
        updated_at=0.0,
    )
    setup = msgspec.convert(
        {"model": MODEL, "generation_config": {"response_modalities": ["TEXT"]}}, Setup
    )
    return GatewaySession(
        record=record,
        request=UpstreamRequest(session_id=session_id, setup=setup),
        upstream_factory=library_upstream(daemon),  # type: ignore[arg-type]
        store=MemoryStore(),  # type: ignore[arg-type]
        metrics=metrics,
        settings=SessionSettings(grace_period=30.0, client_send_timeout=SEND_TIMEOUT),
    )


def _turn(text: str) -> FromClient:
    message = ClientMessage(
        client_content=ClientContent(
            turns=[Content(role="user", parts=[Part(text=text)])], turn_complete=True
        )
    )
    return FromClient(message=message, size=len(text))


async def test_a_client_that_stops_reading_does_not_hold_up_its_upstream():
    metrics = DaemonMetrics()
    with trio.fail_after(20):
        async with (
            open_emulator(EmulatorConfig(reply_interval=0.002)) as emulator,
            trio.open_nursery() as nursery,
        ):
            stuck_session = _session(emulator, "ls_stuck", metrics)
            other_session = _session(emulator, "ls_other", metrics)
            await nursery.start(stuck_session.run)
            await nursery.start(other_session.run)
            stuck_socket = StuckSocket()
            stuck = ClientLink(wants_resumption=True, socket=stuck_socket)
            reading = ReadingSocket()
            other = ClientLink(wants_resumption=False, socket=reading)
            await stuck_session.inbox_send.send(Attach(link=stuck, resumed=False))
            await other_session.inbox_send.send(Attach(link=other, resumed=False))
            # Five turns for the client that reads nothing (its writer is stuck on
            # setupComplete): the upstream's reader hands every reply over at once.
            for n in range(5):
                await stuck_session.send_to_upstream(_turn(f"q{n}"))
                while stuck_session.record.turns <= n:
                    await stuck_session._idle.wait()
            # The other session is served meanwhile, unaware.
            await other_session.send_to_upstream(_turn("hello"))
            replies: list[str] = []
            while True:
                frame = msgspec.json.decode(await reading.frames.receive())
                content = frame.get("serverContent", {})
                replies += [
                    p.get("text", "") for p in content.get("modelTurn", {}).get("parts", ())
                ]
                if content.get("turnComplete"):
                    break
            assert "".join(replies) == "echo #1: hello"
            assert stuck_session.upstream_reconnects == 0  # the link was never declared dead
            assert not stuck.closing.is_set()  # still within its send timeout
            # The five replies wait for the client in its link's queue.
            assert sum(b"turnComplete" in f for f in stuck.take_unsent()) == 5
            stuck_socket.release.set()  # a write is never cut: let the one under way end
            nursery.cancel_scope.cancel()
