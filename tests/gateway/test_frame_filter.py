"""What of a server message reaches a gateway client, and when a handle is offered."""

from __future__ import annotations

from livesvc.gateway._frame_filter import FrameFilter, only_model_audio
from livesvc.gateway._handle_offer import committed, needs_issue, offered
from livesvc.gateway._link import ClientLink
from livesvc.store import Ticket
from livesvc.wire import (
    Blob,
    Content,
    FunctionCall,
    GoAway,
    Part,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
)


def test_upstream_link_frames_are_hidden_and_daemon_calls_stay_in_the_daemon():
    view = FrameFilter(daemon_tools=frozenset({"current_time"}))
    assert view.rewrite(ServerMessage(go_away=GoAway(time_left="5s")), update=None) == (None, 0)
    assert view.rewrite(ServerMessage(setup_complete=SetupComplete()), update=None) == (None, 0)
    calls = [FunctionCall(id="d1", name="current_time"), FunctionCall(id="c1", name="lights")]
    forwarded, count = view.rewrite(
        ServerMessage(tool_call=ToolCall(function_calls=calls)), update=None
    )
    assert forwarded == ServerMessage(tool_call=ToolCall(function_calls=calls[1:]))
    assert (count, view.client_calls) == (1, {"c1"})
    cancel = ServerMessage(tool_call_cancellation=ToolCallCancellation(ids=["d1", "c1"]))
    forwarded, _ = view.rewrite(cancel, update=None)
    assert forwarded == ServerMessage(tool_call_cancellation=ToolCallCancellation(ids=["c1"]))
    assert view.client_calls == set()


def test_the_upstream_handle_never_passes_and_the_sessions_update_replaces_it():
    view = FrameFilter(daemon_tools=frozenset())
    upstream = ServerMessage(
        session_resumption_update=SessionResumptionUpdate(new_handle="up-1", resumable=True)
    )
    assert view.rewrite(upstream, update=None) == (None, 0)
    ours = SessionResumptionUpdate(new_handle=None, resumable=False)
    assert view.rewrite(upstream, update=ours) == (
        ServerMessage(session_resumption_update=ours),
        0,
    )


def test_only_a_frame_of_nothing_but_model_audio_is_droppable():
    audio = Part(inline_data=Blob(data=b"\x00\x01", mime_type="audio/pcm;rate=24000"))
    said = Part(text="hi")
    turn = ServerContent(model_turn=Content(role="model", parts=[audio]))
    assert only_model_audio(ServerMessage(server_content=turn))
    mixed = ServerContent(model_turn=Content(role="model", parts=[audio, said]))
    assert not only_model_audio(ServerMessage(server_content=mixed))
    ending = ServerContent(model_turn=Content(role="model", parts=[audio]), turn_complete=True)
    assert not only_model_audio(ServerMessage(server_content=ending))


def test_a_handle_is_offered_once_and_only_after_its_commit():
    link = ClientLink(wants_resumption=True, socket=None)
    assert needs_issue(link)
    offered(link, True)
    assert not needs_issue(link)  # one on its way: the next write does not issue another
    failed = _ticket(ok=False, handle=None)
    assert committed(link, failed, attached=link) is None
    assert needs_issue(link)  # the write failed: the next update asks again
    offered(link, True)
    done = _ticket(ok=True, handle="lsh_1")
    assert committed(link, done, attached=None) is None  # the client left meanwhile
    assert committed(link, done, attached=link) == SessionResumptionUpdate(
        new_handle="lsh_1", resumable=True
    )
    assert not needs_issue(ClientLink(wants_resumption=False, socket=None))


def _ticket(*, ok: bool, handle: str | None) -> Ticket:
    """A store write's outcome, as the writer leaves it."""
    ticket = Ticket()
    ticket.ok, ticket.handle = ok, handle
    return ticket
