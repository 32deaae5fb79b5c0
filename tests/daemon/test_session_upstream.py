"""A gateway session on the daemon's library upstream, against an in-process emulator.

What the operator sees of one session: its log lines (all under the gateway's
session id, one summary line) and its tool metrics.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import msgspec
import structlog
import trio
from structlog.testing import capture_logs

from livesvc.config import GatewayConfig, UpstreamConfig
from livesvc.daemon._upstream import library_upstream
from livesvc.emulator import Emulator, EmulatorConfig, open_emulator
from livesvc.gateway._session import (
    Attach,
    ClientLink,
    Close,
    FromClient,
    GatewaySession,
    SessionSettings,
)
from livesvc.gateway._upstream import UpstreamRequest
from livesvc.metrics import DaemonMetrics
from livesvc.store import SessionRecord
from livesvc.tools import ToolSpec, tool
from livesvc.wire import ClientContent, ClientMessage, Content, Part, Setup

SESSION_ID = "ls_0123456789abcdef"
MODEL = "gemini-live-2.5-flash-preview"
EMULATOR = ("livesvc.emulator", "livesvc._server")  # the upstream's own log lines


class MemoryStore:
    """The store calls a session makes, kept in memory."""

    def __init__(self) -> None:
        self.records: dict[str, SessionRecord] = {}
        self.handles = 0

    async def put_session(self, record: SessionRecord) -> None:
        self.records[record.session_id] = record

    async def issue_handle(self, session_id: str, *, now: float) -> str:
        self.handles += 1
        return f"lsh_{self.handles}"


class Client:
    """An attached client: sends text turns, reads frames until the turn ends.

    It is also the link's socket: the session writes frames to it.
    """

    def __init__(self, session: GatewaySession) -> None:
        self.session = session
        self._send, self._frames = trio.open_memory_channel[bytes](64)
        self.link = ClientLink(wants_resumption=True, socket=self)

    async def send_message(self, frame: bytes) -> None:
        await self._send.send(frame)

    async def frame(self) -> dict[str, Any]:
        return msgspec.json.decode(await self._frames.receive())

    async def turn(self, text: str) -> str:
        """Send ``text``; the reply's text, once its turn is complete and a handle covers it."""
        message = ClientMessage(
            client_content=ClientContent(
                turns=[Content(role="user", parts=[Part(text=text)])], turn_complete=True
            )
        )
        await self.session.send_to_upstream(FromClient(message=message, size=len(text)))
        reply, complete = [], False
        while True:
            frame = await self.frame()
            content = frame.get("serverContent", {})
            for part in content.get("modelTurn", {}).get("parts", ()):
                reply.append(part.get("text", ""))
            complete = complete or bool(content.get("turnComplete"))
            if complete and "sessionResumptionUpdate" in frame:
                return "".join(reply)


@asynccontextmanager
async def gateway_session(
    emulator: Emulator, *, tools: tuple[ToolSpec, ...] = (), metrics: DaemonMetrics | None = None
) -> AsyncIterator[Client]:
    """A gateway session whose upstream is a library session on ``emulator``, with a client."""
    daemon = SimpleNamespace(
        config=SimpleNamespace(upstream=UpstreamConfig(), gateway=GatewayConfig()),
        emulator=emulator,
        emulator_key="emulator-key",
        metrics=metrics or DaemonMetrics(),
    )
    record = SessionRecord(
        session_id=SESSION_ID,
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
    session = GatewaySession(
        record=record,
        request=UpstreamRequest(session_id=SESSION_ID, setup=setup, tools=tools),
        upstream_factory=library_upstream(daemon),  # type: ignore[arg-type]
        store=MemoryStore(),  # type: ignore[arg-type]
        metrics=metrics or DaemonMetrics(),
        settings=SessionSettings(grace_period=30.0),
        daemon_tools=frozenset(t.name for t in tools),
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(session.run)
        client = Client(session)
        await session.inbox_send.send(Attach(link=client.link, resumed=False))
        assert "setupComplete" in await client.frame()
        yield client
        await session.inbox_send.send(Close(reason="done"))
        await session.ended.wait()


async def test_every_line_of_a_gateway_session_has_its_id_and_one_summary_line():
    """Library lines carry the gateway's session id; the session ends with one summary line."""
    with (
        trio.fail_after(20),
        capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs,
    ):
        async with (
            open_emulator(EmulatorConfig(reply_interval=0.002)) as emulator,
            gateway_session(emulator) as client,
        ):
            assert await client.turn("one") == "echo #1: one"
            assert await emulator.faults.close(1011) == 1
            assert await client.turn("two") == "echo #2: two"

    mine = [line for line in logs if not str(line.get("module", "")).startswith(EMULATOR)]
    library = [line for line in mine if str(line.get("module", "")).startswith("livesvc.session")]
    assert {"session.opening", "session.connected", "session.disconnected"} <= {
        line["event"] for line in library
    }
    strays = [line for line in mine if line.get("session_id") != SESSION_ID]
    assert strays == []
    assert all("gateway_session" not in line for line in mine)

    summaries = [
        line for line in mine if line["event"] in ("session.closed", "gateway.session_closed")
    ]
    assert [line["event"] for line in summaries] == ["gateway.session_closed"]
    summary = summaries[0]
    assert summary["reason"] == "admin"
    assert summary["duration_seconds"] > 0
    assert summary["turns"] == 2
    assert summary["upstream_reconnects"] == 1
    assert summary["upstream_resumes"] == 1
    assert summary["upstream_resumes_by_reason"] == {"transient": 1}
    assert summary["last_upstream_close_code"] == 1011
    assert summary["last_close_code"] == 1000  # what the client was closed with
    assert set(summary["restarts"]) == {"connection", "pinger", "reconnector", "tool_executor"}


@tool
async def add(a: int, b: int) -> int:
    return a + b


@tool
def broken() -> str:
    raise ValueError("no luck")


@tool(timeout=0.2)
async def slow() -> str:
    await trio.sleep(30)
    return "never"


async def test_daemon_tool_outcomes_and_durations_reach_the_metrics():
    """Each daemon tool call is counted by its real outcome, and its duration is observed."""
    metrics = DaemonMetrics()

    def sample(name: str, **labels: str) -> float:
        return metrics.registry.get_sample_value(name, labels) or 0.0

    with trio.fail_after(20):
        async with (
            open_emulator(EmulatorConfig(reply_interval=0.002)) as emulator,
            gateway_session(emulator, tools=(add, broken, slow), metrics=metrics) as client,
        ):
            assert await client.turn("add(a=2, b=3)") == 'echo #1: add -> {"result":5}'
            await client.turn("broken")
            await client.turn("slow")

    calls = "livesvc_tool_calls_total"
    assert sample(calls, tool="add", runner="daemon", outcome="ok") == 1
    assert sample(calls, tool="broken", runner="daemon", outcome="error") == 1
    assert sample(calls, tool="slow", runner="daemon", outcome="timeout") == 1
    for name in ("add", "broken", "slow"):
        assert sample(calls, tool=name, runner="daemon", outcome="started") == 0
        assert sample("livesvc_tool_duration_seconds_count", tool=name) == 1
    assert sample("livesvc_tool_duration_seconds_sum", tool="slow") >= 0.2
    assert sample("livesvc_tool_duration_seconds_bucket", tool="slow", le="0.1") == 0
