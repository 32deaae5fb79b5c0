"""The gateway over loopback WebSockets, with a fake upstream (an echo model)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio_websocket

from livesvc.gateway import AuthTokenRequest, TokenMinter
from livesvc.gateway._upstream import Failed, Frame, Reconnected, Reconnecting, UpstreamUnavailable
from livesvc.wire import (
    Content,
    FunctionCall,
    GoAway,
    Part,
    ServerContent,
    ServerMessage,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
)

from .conftest import (
    CONSTRAINED_PATH,
    KEY,
    OTHER_KEY,
    Harness,
    client,
    closed_with,
    receive_json,
    send_json,
    setup,
    turn,
)


async def test_text_turn_through_the_profile(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            complete = await setup(
                ws, generationConfig={"temperature": 0.3, "responseModalities": ["AUDIO"]}
            )
            session_id = complete["setupComplete"]["sessionId"]
            frames = await turn(ws, "hello")
    assert session_id.startswith("ls_")
    assert frames[0]["serverContent"]["modelTurn"]["parts"][0]["text"] == "echo: hello"
    upstream = harness.upstreams.last()
    # The profile's model and modalities win; the client may change the temperature.
    assert upstream.request.setup.model == "gemini-live-2.5-flash-preview"
    assert upstream.request.setup.generation_config.response_modalities == ["TEXT"]
    assert upstream.request.setup.generation_config.temperature == 0.3
    assert [t.name for t in upstream.request.tools] == ["current_time"]
    assert harness.metric("livesvc_client_connections_total", result="accepted") == 1
    assert harness.metric("livesvc_messages_relayed_total", direction="client_to_upstream") == 1


async def test_bad_key_is_refused_with_1008(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url(), key="wrong-key") as ws:
            await send_json(ws, {"setup": {"model": "models/m"}})
            code, reason = await closed_with(ws)
    assert (code, reason) == (1008, "API key not valid. Please pass a valid API key.")
    assert harness.upstreams.opened == []
    assert harness.metric("livesvc_client_connections_total", result="rejected_auth") == 1


async def test_key_in_query_and_unknown_path(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url(query=f"?key={KEY}"), key=None) as ws:
            assert "setupComplete" in await setup(ws)
        with pytest.raises(trio_websocket.ConnectionRejected) as refused:
            async with client(harness.url("/ws/nope")):
                pass
        assert refused.value.status_code == 404


async def test_first_message_must_be_a_valid_setup(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            await ws.send_message("{not json")
            code, reason = await closed_with(ws)
        assert code == 1007
        assert reason is not None
        assert reason.startswith("Invalid JSON payload received.")
        async with client(harness.url()) as ws:
            await send_json(ws, {"client_content": {"turnComplete": True}})
            assert await closed_with(ws) == (1007, "The first message must be setup.")


async def test_malformed_frame_closes_only_that_client(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as good, client(harness.url()) as bad:
            await setup(good)
            await setup(bad)
            await send_json(
                bad,
                {"realtime_input": {"audio": {"data": "!!!not base64", "mimeType": "audio/pcm"}}},
            )
            code, reason = await closed_with(bad)
            assert code == 1007
            assert reason is not None
            assert "realtime_input" in reason or "realtimeInput" in reason
            frames = await turn(good, "still here")
    assert frames[0]["serverContent"]["modelTurn"]["parts"][0]["text"] == "echo: still here"


async def test_flooding_client_is_closed_with_1008(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            await setup(ws)
            try:
                for _ in range(100):
                    await send_json(ws, {"realtime_input": {"activityStart": {}}})
            except trio_websocket.ConnectionClosed:
                pass
            code, reason = await closed_with(ws)
    assert code == 1008
    assert reason == "Too many messages: the limit is 50 per second."


async def test_oversized_frame_is_closed_with_1009(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            await setup(ws)
            await send_json(ws, {"realtime_input": {"text": "x" * 70000}})
            code, _ = await closed_with(ws)
    assert code == 1009


async def test_sessions_per_key_limit(harness: Harness):
    with trio.fail_after(10):
        async with (
            client(harness.url()) as a,
            client(harness.url()) as b,
            client(harness.url()) as c,
        ):
            for ws in (a, b, c):
                await setup(ws)
            async with client(harness.url()) as d:
                await send_json(d, {"setup": {}})
                assert await closed_with(d) == (1008, "Too many sessions for this key (limit 3).")
            async with client(harness.url(), key=OTHER_KEY) as e:
                assert "setupComplete" in await setup(e)


async def test_goaway_and_upstream_setup_complete_never_reach_the_client(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            await setup(ws)
            upstream = harness.upstreams.last()
            await upstream.push.send(Frame(message=ServerMessage(go_away=GoAway(time_left="10s"))))
            await upstream.push.send(Reconnecting(reason="go_away"))
            await upstream.push.send(Frame(message=ServerMessage(setup_complete=SetupComplete())))
            await upstream.push.send(Reconnected(reason="go_away", resumed=True, gap_seconds=0.02))
            frames = await turn(ws, "after handover")
    assert [next(iter(f)) for f in frames] == ["serverContent", "serverContent"]
    assert harness.metric("livesvc_upstream_reconnects_total", reason="go_away") == 1
    assert harness.metric("livesvc_upstream_resumes_total", reason="go_away") == 1
    assert harness.metric("livesvc_handover_gap_seconds_count") == 1


async def test_daemon_tool_calls_stay_in_the_daemon(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            await setup(ws)
            upstream = harness.upstreams.last()
            calls = [
                FunctionCall(id="d1", name="current_time", args={}),
                FunctionCall(id="c1", name="lights", args={"on": True}),
            ]
            await upstream.push.send(
                Frame(message=ServerMessage(tool_call=ToolCall(function_calls=calls)))
            )
            frame = await receive_json(ws)
            assert frame == {
                "toolCall": {
                    "functionCalls": [{"id": "c1", "name": "lights", "args": {"on": True}}]
                }
            }
            await upstream.push.send(
                Frame(
                    message=ServerMessage(
                        tool_call_cancellation=ToolCallCancellation(ids=["d1", "c1"])
                    )
                )
            )
            assert await receive_json(ws) == {"toolCallCancellation": {"ids": ["c1"]}}
            await upstream.push.send(
                Frame(message=ServerMessage(tool_call=ToolCall(function_calls=calls[:1])))
            )
            await send_json(
                ws,
                {
                    "tool_response": {
                        "functionResponses": [
                            {"id": "c1", "name": "lights", "response": {"ok": True}}
                        ]
                    }
                },
            )
            # A marker after it: frames keep their order, so a leaked call would come first.
            await upstream.push.send(
                Frame(
                    message=ServerMessage(
                        server_content=ServerContent(
                            model_turn=Content(parts=[Part(text="marker")])
                        )
                    )
                )
            )
            after = await receive_json(ws)
            assert "marker" in str(after), f"a daemon-only tool call reached the client: {after}"
    assert upstream.sent[-1].tool_response is not None


async def test_upstream_unavailable_refuses_with_its_code(harness: Harness):
    harness.upstreams.refuse = UpstreamUnavailable(
        "models/x is not found for API version v1beta.", code=1008
    )
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            await send_json(ws, {"setup": {"model": "models/x"}})
            assert await closed_with(ws) == (1008, "models/x is not found for API version v1beta.")
    assert harness.metric("livesvc_client_connections_total", result="upstream_unavailable") == 1


async def test_upstream_failure_closes_the_client_with_its_code(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            await setup(ws)
            await harness.upstreams.last().push.send(
                Failed(code=1007, reason="Request contains an invalid argument.")
            )
            assert await closed_with(ws) == (1007, "Request contains an invalid argument.")


async def test_resume_within_grace_gets_the_same_session_and_missed_frames(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            first = await setup(ws, sessionResumption={})
            frames = await turn(ws, "one")
            update = await receive_json(ws)
        handle = update["sessionResumptionUpdate"]["newHandle"]
        assert handle.startswith("lsh_")
        assert update["sessionResumptionUpdate"]["resumable"] is True
        # While nobody is attached, the upstream keeps talking; nothing is lost.
        await harness.upstreams.last().reply("said while you were away")
        async with client(harness.url()) as ws:
            again = await setup(ws, sessionResumption={"handle": handle})
            missed = [await receive_json(ws) for _ in range(2)]
            after = await turn(ws, "two")
    assert again["setupComplete"]["sessionId"] == first["setupComplete"]["sessionId"]
    assert missed[0]["serverContent"]["modelTurn"]["parts"][0]["text"] == "said while you were away"
    assert frames[0]["serverContent"]["modelTurn"]["parts"][0]["text"] == "echo: one"
    assert after[0]["serverContent"]["modelTurn"]["parts"][0]["text"] == "echo: two"
    assert len(harness.upstreams.opened) == 1
    assert harness.gateway is not None
    await harness.gateway.writer.flush()  # the store is written behind the relay
    record = await harness.store.get_session(first["setupComplete"]["sessionId"])
    assert record is not None
    assert record.client_resumes == 1
    assert record.upstream_handle is not None
    assert record.upstream_handle.startswith("up-")


async def test_a_handle_is_useless_to_another_key(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            await setup(ws, sessionResumption={})
            await turn(ws, "one")
            handle = (await receive_json(ws))["sessionResumptionUpdate"]["newHandle"]
        async with client(harness.url(), key=OTHER_KEY) as ws:
            await send_json(ws, {"setup": {"sessionResumption": {"handle": handle}}})
            assert await closed_with(ws) == (
                1008,
                "Session resumption handle not found or expired.",
            )


async def test_a_second_connection_takes_the_session_over(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as first:
            await setup(first, sessionResumption={})
            await turn(first, "one")
            handle = (await receive_json(first))["sessionResumptionUpdate"]["newHandle"]
            async with client(harness.url()) as second:
                await setup(second, sessionResumption={"handle": handle})
                assert await closed_with(first) == (1001, "Session resumed by another connection.")
                assert (await turn(second, "two"))[0]["serverContent"]["modelTurn"]["parts"][0][
                    "text"
                ] == "echo: two"


async def test_restore_from_the_store_after_a_restart(harness: Harness, nursery: trio.Nursery):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            first = await setup(ws, sessionResumption={})
            await turn(ws, "one")
            handle = (await receive_json(ws))["sessionResumptionUpdate"]["newHandle"]
        upstream_handle = harness.upstreams.last().request.session_id
        # A second gateway on the same store knows nothing live: it restores.
        restarted = Harness(
            harness.config, harness.store, harness.upstreams, harness.metrics.__class__()
        )
        await restarted.start(nursery)
        async with client(restarted.url()) as ws:
            again = await setup(ws, sessionResumption={"handle": handle})
            after = await turn(ws, "two")
    restored = harness.upstreams.last()
    assert again["setupComplete"]["sessionId"] == first["setupComplete"]["sessionId"]
    assert restored.request.resume_handle == f"up-{upstream_handle}-1"
    assert restored.request.setup.model == "gemini-live-2.5-flash-preview"
    assert after[0]["serverContent"]["modelTurn"]["parts"][0]["text"] == "echo: two"
    assert restarted.metric("livesvc_sessions_started_total", kind="restored") == 1


async def test_ephemeral_token_on_the_constrained_path(harness: Harness):
    minter = TokenMinter(harness.config, harness.store)
    import time

    token = await minter.mint(
        AuthTokenRequest(
            uses=1, bidi_generate_content_setup={"generationConfig": {"temperature": 0.1}}
        ),
        now=time.time(),
    )
    with trio.fail_after(10):
        async with client(
            harness.url(CONSTRAINED_PATH, f"?access_token={token.name}"), key=None
        ) as ws:
            await setup(ws, generationConfig={"temperature": 0.9})
            await turn(ws, "hi")
        async with client(
            harness.url(CONSTRAINED_PATH),
            key=None,
            headers=[("authorization", f"Token {token.name}")],
        ) as ws:
            await send_json(ws, {"setup": {}})
            code, reason = await closed_with(ws)
    assert harness.upstreams.last().request.setup.generation_config.temperature == 0.1
    assert code == 1008
    assert reason is not None
    assert "no uses left" in reason


async def test_a_draining_gateway_refuses_new_clients_with_503(harness: Harness):
    assert harness.gateway is not None
    harness.gateway.drain()
    with trio.fail_after(10), pytest.raises(trio_websocket.ConnectionRejected) as refused:
        async with client(harness.url()):
            pass
    assert refused.value.status_code == 503
    assert harness.metric("livesvc_client_connections_total", result="rejected_draining") == 1


async def test_a_message_with_two_fields_is_refused_with_1007(harness: Harness):
    with trio.fail_after(10):
        async with client(harness.url()) as ws:
            await setup(ws)
            await send_json(
                ws, {"realtime_input": {"text": "a"}, "client_content": {"turnComplete": True}}
            )
            code, reason = await closed_with(ws)
    assert code == 1007
    assert reason is not None
    assert reason.startswith("A message needs exactly one of")


async def test_frames_for_a_client_that_vanishes_reach_it_when_it_resumes(harness: Harness):
    """The client stops reading and its TCP connection dies while frames are on their
    way to its socket: what the socket refused goes back to the session, so the
    resumed client gets the rest of the turn, in order, each frame once."""
    with trio.fail_after(20):
        handles: list[str] = []
        with trio.CancelScope() as gone:
            await _vanish_while_frames_come(harness, gone, handles)
        (handle,) = handles
        got = await _resume_and_read_numbers(harness.url(), handle)
    assert got == list(
        range(got[0], _BIG_FRAMES)
    )  # a suffix: in order, none twice, through the last
    assert len(got) >= 2


# Numbered frames of 400 kB, far more than the socket buffers hold: the writer blocks.
_BIG_FRAMES = 12


async def _push_big_numbered_frames(upstream: Any) -> None:
    big = "x" * 400_000
    for i in range(_BIG_FRAMES):
        turn = Content(role="model", parts=[Part(text=f"{i}:{big}")])
        await upstream.push.send(
            Frame(message=ServerMessage(server_content=ServerContent(model_turn=turn)))
        )


async def _resume_and_read_numbers(url: str, handle: str) -> list[int]:
    """Resume with ``handle``; the numbers of the big frames received, through the last."""
    got: list[int] = []
    async with client(url) as ws:
        await setup(ws, sessionResumption={"handle": handle})
        while not got or got[-1] != _BIG_FRAMES - 1:
            frame = await receive_json(ws)
            text = frame["serverContent"]["modelTurn"]["parts"][0]["text"]
            got.append(int(text.split(":", 1)[0]))
    return got


async def _vanish_while_frames_come(
    harness: Harness, gone: trio.CancelScope, handles: list[str]
) -> None:
    """A client takes a turn, then stops reading while the big frames come for it, and dies."""
    async with client(harness.url()) as ws:
        await setup(ws, sessionResumption={})
        await turn(ws, "one")
        handle = (await receive_json(ws))["sessionResumptionUpdate"]["newHandle"]
        handles.append(handle)
        await _push_big_numbered_frames(harness.upstreams.last())
        await trio.testing.wait_all_tasks_blocked()
        await trio.aclose_forcefully(ws._stream)  # the client vanishes, no close frame
        gone.cancel()  # and so does its side of the connection


async def _read_until_closed(ws: trio_websocket.WebSocketConnection) -> int | None:
    try:
        while True:
            await ws.get_message()
    except trio_websocket.ConnectionClosed as closed:
        return closed.reason.code if closed.reason is not None else None


async def test_a_client_that_stops_reading_is_cut_off_and_keeps_its_frames(
    store, upstreams, nursery: trio.Nursery
):
    """Frames are written straight to the client's socket; one that stops reading
    until its buffers are full is cut off after ``client_send_timeout_seconds``
    (its connection aborted: no close frame can follow half a frame), and what it
    did not get is kept for its resume."""
    from livesvc.config import parse_config
    from livesvc.metrics import DaemonMetrics

    from .conftest import CONFIG

    config = parse_config(
        CONFIG.replace(
            "setup_timeout_seconds = 5",
            "setup_timeout_seconds = 5\nclient_send_timeout_seconds = 0.5",
        )
    )
    quick = Harness(config, store, upstreams, DaemonMetrics())
    await quick.start(nursery)
    with trio.fail_after(20):
        async with client(quick.url()) as ws:
            await setup(ws, sessionResumption={})
            await turn(ws, "one")
            handle = (await receive_json(ws))["sessionResumptionUpdate"]["newHandle"]
            await _push_big_numbered_frames(upstreams.last())  # the client reads none
            session = next(iter(quick.gateway._live.values()))  # type: ignore[union-attr]
            assert session.link is not None
            await session.link.closing.wait()  # cut off after 0.5 s without progress
            assert quick.metric("livesvc_errors_total", kind="client_too_slow") == 1
            # Reading now: whole frames, then the connection just ends (1006), at once
            # (no 5 s close handshake with a client that cannot read), never a close
            # frame glued to half a frame.
            with trio.fail_after(2):
                code = await _read_until_closed(ws)
            assert code == 1006
        got = await _resume_and_read_numbers(quick.url(), handle)
    assert got == list(range(got[0], _BIG_FRAMES))
