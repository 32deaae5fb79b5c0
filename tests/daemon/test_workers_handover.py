"""The handover between worker gateways, in one process: release, claim, races, bounds.

Several :class:`Gateway` instances share one store, as worker processes do;
:class:`InProcessPeers` routes a release straight to the owner (the master
does it over HTTP). The upstream is a fake echo model that hands out handles.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio_websocket

from livesvc.config import hash_key, parse_config
from livesvc.gateway import ClientAuth
from livesvc.gateway._gateway import Gateway, GatewaySettings, Handover
from livesvc.gateway._profiles import build_profiles
from livesvc.gateway._upstream import Frame, UpstreamEvent, UpstreamRequest
from livesvc.metrics import DaemonMetrics
from livesvc.store import SessionRecord, Store, StoreServer, open_store_channel
from livesvc.wire import (
    ClientMessage,
    Content,
    Part,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    Setup,
    encode_client,
)
from supervisors import DynamicSupervisor

LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
KEY = "web-key"
CONFIG = f"""
[admin]
token_env = "UNUSED"
[gateway]
port = 0
grace_period_seconds = 30
[[gateway.keys]]
name = "web"
hash = "{hash_key(KEY)}"
[profiles.default]
model = "gemini-live-2.5-flash-preview"
generation_config = {{ response_modalities = ["TEXT"] }}
"""


class EchoUpstream:
    """Echoes text turns (its turn counter continues from a resumed handle)."""

    def __init__(self, request: UpstreamRequest) -> None:
        self.request = request
        self.turns = int((request.resume_handle or "up-0").rsplit("-", 1)[1])
        self.push, self._events = trio.open_memory_channel[UpstreamEvent](100)
        self.closed = False

    async def send(self, message: ClientMessage) -> None:
        if message.client_content is not None and message.client_content.turns:
            text = message.client_content.turns[-1].parts[0].text
            await self.say(f"echo #{self.turns + 1}: {text}")

    async def say(self, text: str) -> None:
        """One model turn, then a handle that resumes after it."""
        self.turns += 1
        content = Content(role="model", parts=[Part(text=text)])
        await self.push.send(
            Frame(message=ServerMessage(server_content=ServerContent(model_turn=content)))
        )
        await self.push.send(
            Frame(message=ServerMessage(server_content=ServerContent(turn_complete=True)))
        )
        update = SessionResumptionUpdate(new_handle=f"up-{self.turns}", resumable=True)
        await self.push.send(Frame(message=ServerMessage(session_resumption_update=update)))

    def events(self) -> trio.MemoryReceiveChannel[UpstreamEvent]:
        return self._events

    def restarts(self) -> dict[str, int]:
        return {}


class Upstreams:
    def __init__(self) -> None:
        self.opened: list[EchoUpstream] = []

    @asynccontextmanager
    async def __call__(self, request: UpstreamRequest) -> AsyncIterator[EchoUpstream]:
        upstream = EchoUpstream(request)
        self.opened.append(upstream)
        try:
            yield upstream
        finally:
            upstream.closed = True


class InProcessPeers:
    """Routes a release to the owner's gateway; an owner not listed is gone."""

    def __init__(self) -> None:
        self.gateways: dict[str, Gateway] = {}
        self.asked: list[tuple[str, str, str]] = []
        # With race_of = N, an answer about a gone owner waits until N claimants asked:
        # they then claim at the same time, as racing workers do (a race on purpose).
        self.race_of = 0
        self._all_asked = trio.Event()

    async def release(self, owner: str, session_id: str, claimant: str) -> Handover:
        self.asked.append((owner, session_id, claimant))
        gateway = self.gateways.get(owner)
        if gateway is None:
            if len(self.asked) >= self.race_of:
                self._all_asked.set()
            if self.race_of:
                await self._all_asked.wait()
            return Handover(released=False, owner_gone=True)
        return await gateway.release_session(session_id, claimant)


class Worker:
    """One gateway as one worker would run it."""

    def __init__(self, instance: str, store: Store, peers: InProcessPeers) -> None:
        config = parse_config(CONFIG)
        self.upstreams = Upstreams()
        self.sessions = DynamicSupervisor("sessions", max_children=20)
        settings = GatewaySettings(
            config=config, profiles=build_profiles(config), auth=ClientAuth(config.gateway, store)
        )
        self.gateway = Gateway(
            settings=lambda: settings,
            store=store,
            metrics=DaemonMetrics(),
            sessions=self.sessions,
            upstream_factory=self.upstreams,
            wall_clock=time.time,
            instance=instance,
            peers=peers,
        )
        peers.gateways[instance] = self.gateway
        self.port = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.sessions.run)
            self.port = await nursery.start(self.gateway.run)
            task_status.started()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{LIVE_PATH}"


@pytest.fixture
async def store(tmp_path: Path, nursery: trio.Nursery) -> Store:
    send, receive = open_store_channel()
    await nursery.start(StoreServer(receive, path=str(tmp_path / "live.db")).run)
    return Store(send)


@pytest.fixture
def peers() -> InProcessPeers:
    return InProcessPeers()


async def start(nursery: trio.Nursery, store: Store, peers: InProcessPeers, name: str) -> Worker:
    worker = Worker(name, store, peers)
    await nursery.start(worker.run)
    return worker


@asynccontextmanager
async def client(url: str) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    async with trio_websocket.open_websocket_url(
        url, extra_headers=[("x-goog-api-key", KEY)]
    ) as ws:
        yield ws


async def receive(ws: trio_websocket.WebSocketConnection) -> dict[str, Any]:
    return json.loads(await ws.get_message())


async def setup(
    ws: trio_websocket.WebSocketConnection, handle: str | None = None
) -> dict[str, Any]:
    resumption = {"handle": handle} if handle else {}
    await ws.send_message(json.dumps({"setup": {"model": "m", "sessionResumption": resumption}}))
    return await receive(ws)


async def say(ws: trio_websocket.WebSocketConnection, text: str) -> tuple[str, str | None]:
    """A turn: its text, and the daemon handle that followed it (if one came)."""
    turn = {"turns": [{"role": "user", "parts": [{"text": text}]}], "turnComplete": True}
    await ws.send_message(json.dumps({"clientContent": turn}))
    texts = []
    while True:
        frame = await receive(ws)
        content = frame.get("serverContent", {})
        texts += [p["text"] for p in content.get("modelTurn", {}).get("parts", [])]
        if content.get("turnComplete"):
            break
    update = await receive(ws)
    return "".join(texts), update["sessionResumptionUpdate"]["newHandle"]


async def test_a_resume_on_another_worker_takes_the_session_over(
    store: Store, peers: InProcessPeers, nursery: trio.Nursery
):
    a = await start(nursery, store, peers, "A")
    b = await start(nursery, store, peers, "B")
    with trio.fail_after(10):
        async with client(a.url) as ws:
            first = await setup(ws)
            reply, handle = await say(ws, "one")
        # Said while the client is away: A keeps it for the client.
        await a.upstreams.opened[0].say("while you were away")
        async with client(b.url) as ws:
            again = await setup(ws, handle)
            missed = [await receive(ws) for _ in range(2)]
            after, _ = await say(ws, "two")
        record = await store.get_session(first["setupComplete"]["sessionId"])
    assert reply == "echo #1: one"
    assert again["setupComplete"]["sessionId"] == first["setupComplete"]["sessionId"]
    assert missed[0]["serverContent"]["modelTurn"]["parts"][0]["text"] == "while you were away"
    assert missed[1]["serverContent"]["turnComplete"] is True
    # B resumed A's upstream from the newest handle A committed (turn 2 was A's last).
    assert b.upstreams.opened[0].request.resume_handle == "up-2"
    assert after == "echo #3: two"
    assert a.upstreams.opened[0].closed
    assert a.gateway.live_sessions() == []
    assert record is not None
    assert record.owner == "B"


async def test_a_resume_on_the_owner_stays_local(
    store: Store, peers: InProcessPeers, nursery: trio.Nursery
):
    a = await start(nursery, store, peers, "A")
    with trio.fail_after(10):
        async with client(a.url) as ws:
            await setup(ws)
            _, handle = await say(ws, "one")
        async with client(a.url) as ws:
            await setup(ws, handle)
            after, _ = await say(ws, "two")
    assert after == "echo #2: two"
    assert peers.asked == []
    assert len(a.upstreams.opened) == 1


async def dead_owners_session(store: Store) -> tuple[str, str]:
    """A session whose owner crashed: its record and a daemon handle, as left in the store."""
    now = time.time()
    await store.put_session(
        SessionRecord(
            session_id="ls_dead",
            principal="key:web",
            profile="default",
            model="models/gemini-live-2.5-flash-preview",
            status="active",
            created_at=now,
            updated_at=now,
            setup=encode_client(Setup(model="models/gemini-live-2.5-flash-preview")),
            upstream_handle="up-5",
            owner="crashed",
        )
    )
    return "ls_dead", await store.issue_handle("ls_dead", now=now)


async def test_a_session_of_a_crashed_worker_is_claimed_from_the_store(
    store: Store, peers: InProcessPeers, nursery: trio.Nursery
):
    b = await start(nursery, store, peers, "B")
    session_id, handle = await dead_owners_session(store)
    with trio.fail_after(10):
        async with client(b.url) as ws:
            again = await setup(ws, handle)
            after, _ = await say(ws, "still there?")
        record = await store.get_session(session_id)
    assert again["setupComplete"]["sessionId"] == session_id
    assert after == "echo #6: still there?"
    assert peers.asked == [("crashed", session_id, "B")]
    assert record is not None
    assert record.owner == "B"


async def test_two_workers_racing_for_one_handle_exactly_one_wins(
    store: Store, peers: InProcessPeers, nursery: trio.Nursery
):
    workers = [await start(nursery, store, peers, name) for name in ("B", "C")]
    session_id, handle = await dead_owners_session(store)
    outcomes: list[Any] = []

    async def resume(worker: Worker) -> None:
        async with client(worker.url) as ws:
            try:
                outcomes.append(await setup(ws, handle))
            except trio_websocket.ConnectionClosed as closed:
                reason = closed.reason
                outcomes.append((reason.code, reason.reason) if reason else None)

    peers.race_of = len(workers)  # both find the owner gone, then both claim at once
    with trio.fail_after(10):
        async with trio.open_nursery() as racers:
            for worker in workers:
                racers.start_soon(resume, worker)
        record = await store.get_session(session_id)
    # One restores the session; the other is told to try again (and would then
    # take it over from the winner, as a second connection on one worker does).
    won = [o for o in outcomes if isinstance(o, dict)]
    lost = [o for o in outcomes if isinstance(o, tuple)]
    assert len(won) == 1
    assert won[0]["setupComplete"]["sessionId"] == session_id
    assert lost == [(1013, "The session is being resumed elsewhere; try again.")]
    opened = [u for w in workers for u in w.upstreams.opened if not u.closed]
    assert len(opened) == 1  # one upstream, never two
    assert record is not None
    assert record.owner in ("B", "C")
