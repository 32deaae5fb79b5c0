"""Fixtures: a real store, and a gateway on loopback with a fake upstream (an echo model)."""

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

from livesvc.config import Config, hash_key, parse_config
from livesvc.gateway import ClientAuth
from livesvc.gateway._gateway import Gateway, GatewaySettings
from livesvc.gateway._profiles import build_profiles
from livesvc.gateway._session import ClientLink
from livesvc.gateway._upstream import (
    Failed,
    Frame,
    UpstreamEvent,
    UpstreamRequest,
    UpstreamUnavailable,
)
from livesvc.metrics import DaemonMetrics
from livesvc.store import Store, StoreServer, open_store_channel
from livesvc.wire import (
    ClientMessage,
    Content,
    Part,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
)
from supervisors import DynamicSupervisor

LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
CONSTRAINED_PATH = (
    "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained"
)
KEY = "web-key"
OTHER_KEY = "other-key"

CONFIG = f"""
[admin]
token_env = "UNUSED"
[gateway]
port = 0
grace_period_seconds = 30
[gateway.limits]
sessions_per_key = 3
messages_per_second = 50
message_burst = 20
setup_timeout_seconds = 5
max_frame_bytes = 65536
[[gateway.keys]]
name = "web"
hash = "{hash_key(KEY)}"
[[gateway.keys]]
name = "other"
hash = "{hash_key(OTHER_KEY)}"
[profiles.default]
model = "gemini-live-2.5-flash-preview"
system_instruction = "Be brief."
generation_config = {{ response_modalities = ["TEXT"] }}
client_overridable = ["generation_config.temperature", "tools"]
[[profiles.default.tools]]
function = "livesvc.daemon.demo_tools:current_time"
"""


@pytest.fixture
async def store(tmp_path: Path, nursery: trio.Nursery) -> Store:
    send, receive = open_store_channel()
    await nursery.start(StoreServer(receive, path=str(tmp_path / "live.db")).run)
    return Store(send)


class FakeUpstream:
    """An upstream that echoes text turns and hands out resumption handles."""

    def __init__(self, request: UpstreamRequest) -> None:
        self.request = request
        self.sent: list[ClientMessage] = []
        self.push, self._events = trio.open_memory_channel[UpstreamEvent](100)
        # As production (SessionUpstream) does: with a ``deliver`` in the request,
        # events are handed to it by the upstream's own task (pump), and events()
        # only ends when the upstream does.
        self._ended_send, self._ended = trio.open_memory_channel[UpstreamEvent](0)
        self.handles = 0
        self.closed = False

    async def send(self, message: ClientMessage) -> None:
        self.sent.append(message)
        text = None
        if message.client_content is not None and message.client_content.turns:
            text = message.client_content.turns[-1].parts[0].text
        elif message.realtime_input is not None:
            text = message.realtime_input.text
        if text is not None:
            await self.reply(f"echo: {text}")

    async def reply(self, text: str) -> None:
        await self.push.send(
            Frame(
                message=ServerMessage(
                    server_content=ServerContent(
                        model_turn=Content(role="model", parts=[Part(text=text)])
                    )
                )
            )
        )
        await self.push.send(
            Frame(message=ServerMessage(server_content=ServerContent(turn_complete=True)))
        )
        if self.request.resumption:
            self.handles += 1
            await self.push.send(
                Frame(
                    message=ServerMessage(
                        session_resumption_update=SessionResumptionUpdate(
                            new_handle=f"up-{self.request.session_id}-{self.handles}",
                            resumable=True,
                        )
                    )
                )
            )

    def events(self) -> trio.MemoryReceiveChannel[UpstreamEvent]:
        return self._ended if self.request.deliver is not None else self._events

    async def pump(self) -> None:
        """The upstream's reader: each event into the gateway session's ``deliver``."""
        assert self.request.deliver is not None
        async with self._ended_send:
            async for event in self._events:
                await self.request.deliver(event)

    def restarts(self) -> dict[str, int]:
        return {"connection": 0}


class QueueSocket:
    """A client's WebSocket as the session sees it; the test reads ``frames``.

    ``capacity`` frames fit before a write waits (a client that reads nothing
    fills it, as a real one fills its socket buffers).
    """

    def __init__(self, capacity: int = 64) -> None:
        self._send, self.frames = trio.open_memory_channel[bytes](capacity)

    async def send_message(self, frame: bytes) -> None:
        await self._send.send(frame)


def client_link(*, wants_resumption: bool, capacity: int = 64) -> ClientLink:
    """A link to a test client reading through a :class:`QueueSocket`."""
    return ClientLink(wants_resumption=wants_resumption, socket=QueueSocket(capacity))


class FakeUpstreams:
    """The factory: records every upstream opened; can refuse the next one."""

    def __init__(self) -> None:
        self.opened: list[FakeUpstream] = []
        self.refuse: UpstreamUnavailable | None = None

    @asynccontextmanager
    async def __call__(self, request: UpstreamRequest) -> AsyncIterator[FakeUpstream]:
        if self.refuse is not None:
            raise self.refuse
        upstream = FakeUpstream(request)
        self.opened.append(upstream)
        async with trio.open_nursery() as nursery:
            if request.deliver is not None:
                nursery.start_soon(upstream.pump)
            try:
                yield upstream
            finally:
                upstream.closed = True
                nursery.cancel_scope.cancel()

    def last(self) -> FakeUpstream:
        return self.opened[-1]


class Harness:
    def __init__(
        self, config: Config, store: Store, upstreams: FakeUpstreams, metrics: DaemonMetrics
    ) -> None:
        self.config = config
        self.store = store
        self.upstreams = upstreams
        self.metrics = metrics
        self.settings = GatewaySettings(
            config=config, profiles=build_profiles(config), auth=ClientAuth(config.gateway, store)
        )
        self.sessions = DynamicSupervisor("sessions", max_children=20)
        self.gateway: Gateway | None = None
        self.port = 0
        self.scope = trio.CancelScope()

    async def start(self, nursery: trio.Nursery) -> Gateway:
        await nursery.start(self._run)
        assert self.gateway is not None
        return self.gateway

    async def _run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with self.scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.sessions.run)
                self.gateway = Gateway(
                    settings=lambda: self.settings,
                    store=self.store,
                    metrics=self.metrics,
                    sessions=self.sessions,
                    upstream_factory=self.upstreams,
                    wall_clock=time.time,
                )
                self.port = await nursery.start(self.gateway.run)
                task_status.started()

    def url(self, path: str = LIVE_PATH, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}{path}{query}"

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def upstreams() -> FakeUpstreams:
    return FakeUpstreams()


@pytest.fixture
async def harness(store: Store, upstreams: FakeUpstreams, nursery: trio.Nursery) -> Harness:
    h = Harness(parse_config(CONFIG), store, upstreams, DaemonMetrics())
    await h.start(nursery)
    return h


@asynccontextmanager
async def client(
    url: str, key: str | None = KEY, *, headers: list[tuple[str, str]] | None = None
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    extra = list(headers or [])
    if key is not None:
        extra.append(("x-goog-api-key", key))
    async with trio_websocket.open_websocket_url(url, extra_headers=extra) as ws:
        yield ws


async def send_json(ws: trio_websocket.WebSocketConnection, payload: dict[str, Any]) -> None:
    await ws.send_message(json.dumps(payload))


async def receive_json(ws: trio_websocket.WebSocketConnection) -> dict[str, Any]:
    return json.loads(await ws.get_message())


async def setup(ws: trio_websocket.WebSocketConnection, **fields: Any) -> dict[str, Any]:
    """Send a setup and return the setupComplete frame."""
    await send_json(ws, {"setup": {"model": "models/whatever", **fields}})
    return await receive_json(ws)


async def turn(ws: trio_websocket.WebSocketConnection, text: str) -> list[dict[str, Any]]:
    """Send a text turn; return every frame up to and including turnComplete."""
    await send_json(
        ws,
        {
            "client_content": {
                "turns": [{"role": "user", "parts": [{"text": text}]}],
                "turnComplete": True,
            }
        },
    )
    frames = []
    while True:
        frame = await receive_json(ws)
        frames.append(frame)
        if frame.get("serverContent", {}).get("turnComplete"):
            return frames


async def _read_forever(ws: trio_websocket.WebSocketConnection) -> None:
    while True:
        await ws.get_message()


async def closed_with(ws: trio_websocket.WebSocketConnection) -> tuple[int, str | None]:
    """Wait until the server closes the connection; its code and reason."""
    with pytest.raises(trio_websocket.ConnectionClosed) as closed:
        await _read_forever(ws)
    reason = closed.value.reason
    assert reason is not None
    return reason.code, reason.reason


def failed(code: int, reason: str) -> Failed:
    return Failed(code=code, reason=reason)
