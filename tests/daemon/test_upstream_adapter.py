"""The library-session adapter: library events become the gateway's upstream events."""

from __future__ import annotations

from typing import Any

from livesvc.daemon._upstream import SessionUpstream, _client_tools
from livesvc.gateway._upstream import (
    Failed,
    Frame,
    MediaDropped,
    Reconnected,
    Reconnecting,
    SendRefused,
    ToolFinished,
)
from livesvc.session import (
    CloseClass,
    Closed,
    Connected,
    Disconnected,
    GoAwayReceived,
    LedgerFull,
    MessageReceived,
    SessionFailed,
    SessionStatus,
    ToolCallFinished,
    ToolCallReceived,
)
from livesvc.wire import (
    ClientMessage,
    FunctionCall,
    FunctionDeclaration,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    Setup,
    Tool,
    ToolCall,
)


class FakeSession:
    """What SessionUpstream reads from a library session."""

    def __init__(self) -> None:
        self.stats: dict[str, Any] = {"media_dropped": 0, "actor_restarts": {"connection": 1}}
        self.error: SessionFailed | None = None

    async def send(self, message: Any, *, wait: bool = True) -> int | None:
        raise LedgerFull(
            "the outbound ledger is full", entries=2, bytes=9, max_entries=2, max_bytes=None
        )


def adapter(daemon_tools: frozenset[str] = frozenset()) -> tuple[SessionUpstream, FakeSession]:
    session = FakeSession()
    upstream = SessionUpstream(daemon_tools)
    upstream._session = session  # type: ignore[assignment]
    return upstream, session


def test_messages_pass_through_as_frames():
    upstream, _ = adapter()
    message = ServerMessage(server_content=ServerContent(turn_complete=True))
    assert upstream._translate(MessageReceived(message=message)) == [Frame(message=message)]


def test_a_drop_then_a_resume_is_one_reconnect_with_its_gap():
    upstream, session = adapter()
    down = Disconnected(at=10.0, code=1006, close_class=CloseClass.TRANSIENT, will_retry=True)
    assert upstream._translate(down) == [Reconnecting(reason="transient", code=1006)]
    session.stats["media_dropped"] = 3
    up = Connected(at=10.25, connection=2, resumed=True)
    assert upstream._translate(up) == [
        Reconnected(reason="transient", resumed=True, gap_seconds=0.25),
        MediaDropped(kind="realtime", count=3),
    ]


def test_a_goaway_names_the_next_reconnect():
    upstream, _ = adapter()
    assert upstream._translate(GoAwayReceived(at=1.0, time_left=10.0)) == []
    down = Disconnected(at=5.0, code=1000, close_class=None, will_retry=True)
    assert upstream._translate(down) == [Reconnecting(reason="go_away", code=1000)]
    assert upstream._translate(Connected(at=5.1, connection=2, resumed=True))[0].reason == "go_away"


def test_the_first_connection_and_final_disconnects_are_not_reconnects():
    upstream, _ = adapter()
    assert upstream._translate(Connected(at=0.0, connection=1)) == []
    assert upstream._translate(Disconnected(at=1.0, code=1008, will_retry=False)) == []


def test_a_failed_session_reports_its_code_and_reason():
    upstream, session = adapter()
    session.error = SessionFailed("refused", code=1008, reason="models/x is not found")
    assert upstream._translate(Closed(status=SessionStatus.FAILED)) == [
        Failed(code=1008, reason="models/x is not found")
    ]
    assert upstream._translate(Closed(status=SessionStatus.CLOSED)) == []


def test_daemon_tool_calls_are_reported_when_they_finish_with_outcome_and_duration():
    upstream, _ = adapter(frozenset({"current_time"}))
    call = ToolCall(
        function_calls=[
            FunctionCall(id="1", name="current_time"),
            FunctionCall(id="2", name="lights"),
        ]
    )
    assert upstream._translate(ToolCallReceived(call=call)) == []  # counted once, when it ends
    done = ToolCallFinished(
        call_id="1", name="current_time", outcome="timeout", duration_seconds=5.0
    )
    assert upstream._translate(done) == [
        ToolFinished(name="current_time", outcome="timeout", duration_seconds=5.0)
    ]
    # A client's tool (answered through on_tool_call) is counted by the gateway as it forwards it.
    client = ToolCallFinished(call_id="2", name="lights", outcome="ok", duration_seconds=1.0)
    assert upstream._translate(client) == []
    assert upstream.restarts() == {"connection": 1}


async def test_a_message_refused_by_a_full_ledger_is_reported_and_the_session_goes_on():
    upstream, _ = adapter()
    await upstream.send(ClientMessage(realtime_input=RealtimeInput(text="hi")))
    assert upstream._events.receive_nowait() == SendRefused(reason="the outbound ledger is full")


def test_client_tools_keep_everything_but_daemon_declarations():
    setup = Setup(
        tools=[
            Tool(
                function_declarations=[
                    FunctionDeclaration(name="current_time"),
                    FunctionDeclaration(name="lights"),
                ]
            ),
            Tool(google_search={}),
            Tool(function_declarations=[FunctionDeclaration(name="current_time")]),
        ]
    )
    assert _client_tools(setup, frozenset({"current_time"})) == [
        Tool(function_declarations=[FunctionDeclaration(name="lights")]),
        Tool(google_search={}),
    ]
