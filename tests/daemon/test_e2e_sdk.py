"""End to end: the stock google-genai SDK, the daemon in between, the embedded emulator upstream."""

from __future__ import annotations

import functools

import httpx
import pytest
import trio
import trio_websocket
from google.genai import errors, types

from livesvc.daemon._daemon import Daemon

from .e2e_support import (
    ADMIN_TOKEN,
    Conversation,
    in_thread,
    run_sdk,
    speech,
    text_of,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def sdk(daemon: Daemon, script, **kwargs):
    assert daemon.gateway_url is not None
    assert daemon.ca_file is not None
    return in_thread(run_sdk, daemon.gateway_url, daemon.ca_file, script, **kwargs)


async def admin_get(daemon: Daemon, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=daemon.admin_url or "") as http:
        return await http.get(path, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})


def metric(daemon: Daemon, name: str, **labels: str) -> float:
    return daemon.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_text_turns_and_session_id(daemon: Daemon):
    async def script(chat: Conversation):
        return chat.session_id, await chat.say("hello"), await chat.say("again")

    with trio.fail_after(40):
        session_id, first, second = await sdk(daemon, script)
    assert first == "echo #1: hello"
    assert second == "echo #2: again"
    assert session_id is not None
    assert session_id.startswith("ls_")
    view = (await admin_get(daemon, f"/v1/sessions/{session_id}")).json()
    assert view["turns"] == 2
    assert view["principal"] == "key:k0"


async def test_audio_in_and_audio_out(daemon: Daemon):
    config = types.LiveConnectConfig(response_modalities=["AUDIO"])

    async def script(chat: Conversation):
        for chunk in speech(500, 800):
            await chat.session.send_realtime_input(
                audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000")
            )
        messages = await chat.receive_turn()
        audio = sum(
            len(p.inline_data.data)
            for m in messages
            if m.server_content and m.server_content.model_turn
            for p in m.server_content.model_turn.parts or ()
            if p.inline_data
        )
        transcript = "".join(
            m.server_content.output_transcription.text or ""
            for m in messages
            if m.server_content and m.server_content.output_transcription
        )
        return audio, transcript

    with trio.fail_after(40):
        audio_bytes, transcript = await sdk(daemon, script, config=config)
    assert audio_bytes > 0
    assert transcript == "echo #1: <audio 500 ms>"


async def test_daemon_tool_runs_in_the_daemon_and_client_tool_goes_to_the_client(daemon: Daemon):
    lights = types.FunctionDeclaration(
        name="lights",
        description="Switch the lights.",
        parameters=types.Schema(type="OBJECT", properties={"room": types.Schema(type="STRING")}),
    )
    config = types.LiveConnectConfig(
        response_modalities=["TEXT"], tools=[types.Tool(function_declarations=[lights])]
    )

    async def script(chat: Conversation):
        daemon_side = await say_and_collect(chat, "current_time(timezone=UTC)")
        await chat.session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="lights(room=kitchen)")])
        )
        calls, messages = [], []
        async for message in chat.session.receive():
            messages.append(message)
            if message.tool_call:
                calls += message.tool_call.function_calls
                await chat.session.send_tool_response(
                    function_responses=[
                        types.FunctionResponse(id=c.id, name=c.name, response={"ok": True})
                        for c in message.tool_call.function_calls
                    ]
                )
        return daemon_side, calls, text_of(messages)

    with trio.fail_after(40):
        (tool_calls_seen, daemon_text), calls, client_text = await sdk(
            daemon, script, config=config
        )
    assert tool_calls_seen == []  # the daemon answered current_time itself
    assert daemon_text.startswith('echo #1: current_time -> {"timezone":"UTC","iso":')
    assert [(c.name, c.args) for c in calls] == [("lights", {"room": "kitchen"})]
    assert client_text == 'echo #2: lights -> {"ok":true}'
    assert (
        metric(
            daemon,
            "livesvc_tool_calls_total",
            tool="current_time",
            runner="daemon",
            outcome="ok",
        )
        == 1
    )
    assert metric(daemon, "livesvc_tool_duration_seconds_count", tool="current_time") == 1
    assert (
        metric(
            daemon, "livesvc_tool_calls_total", tool="client", runner="client", outcome="forwarded"
        )
        == 1
    )


async def say_and_collect(chat: Conversation, text: str):
    """Send a turn; the tool calls the client saw, and the reply's text."""
    await chat.session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text=text)])
    )
    messages = await chat.receive_turn()
    return [m for m in messages if m.tool_call], text_of(messages)


async def test_upstream_drop_and_goaway_are_invisible(daemon: Daemon):
    faults = daemon.emulator.faults

    async def script(chat: Conversation):
        replies = [await chat.say("one")]
        trio.from_thread.run(faults.drop)
        replies.append(await chat.say("two"))
        trio.from_thread.run(functools.partial(faults.go_away, 1.0))
        replies.append(await chat.say("three"))
        replies.append(await chat.say("four"))
        return replies

    with trio.fail_after(40):
        replies = await sdk(daemon, script)
    # The emulator's turn counter goes on: the same upstream conversation, resumed.
    assert replies == ["echo #1: one", "echo #2: two", "echo #3: three", "echo #4: four"]
    reconnects = await admin_get(daemon, "/metrics")
    assert "livesvc_upstream_reconnects_total" in reconnects.text
    assert metric(daemon, "livesvc_upstream_resumes_total", reason="go_away") == 1
    assert (
        sum(
            metric(daemon, "livesvc_upstream_resumes_total", reason=r)
            for r in ("transient", "network", "go_away")
        )
        == 2
    )
    assert metric(daemon, "livesvc_handover_gap_seconds_count") == 2


async def test_bad_key_is_refused(daemon: Daemon):
    async def script(chat: Conversation):
        return await chat.say("never")

    with trio.fail_after(20), pytest.raises(errors.APIError) as refused:
        await sdk(daemon, script, key="not-a-key")
    assert refused.value.code == 1008
    assert "API key not valid" in str(refused.value)
    assert metric(daemon, "livesvc_client_connections_total", result="rejected_auth") == 1


async def read_forever(ws: trio_websocket.WebSocketConnection) -> None:
    while True:
        await ws.get_message()


async def test_malformed_frame_is_contained_while_another_session_carries_on(daemon: Daemon):
    async def bad_client() -> tuple[int, str | None]:
        context = await trio.to_thread.run_sync(
            lambda: __import__("ssl").create_default_context(cafile=daemon.ca_file)
        )
        url = (daemon.gateway_url or "") + (
            "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent?key=e2e-client-key"
        )
        async with trio_websocket.open_websocket_url(url, ssl_context=context) as ws:
            await ws.send_message('{"setup": {"model": "models/x"}}')
            await ws.get_message()
            await ws.send_message(b"\xff\xfe not json")
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await read_forever(ws)
        reason = closed.value.reason
        assert reason is not None
        return reason.code, reason.reason

    async def script(chat: Conversation):
        first = await chat.say("before")
        code_reason = trio.from_thread.run(bad_client)
        return first, code_reason, await chat.say("after")

    with trio.fail_after(40):
        first, (code, reason), after = await sdk(daemon, script)
    assert (first, after) == ("echo #1: before", "echo #2: after")
    assert code == 1007
    assert reason is not None
    assert reason.startswith("Invalid JSON payload received.")


async def test_client_reconnects_within_the_grace_period(daemon: Daemon):
    config = types.LiveConnectConfig(
        response_modalities=["TEXT"], session_resumption=types.SessionResumptionConfig()
    )

    async def first(chat: Conversation):
        await chat.say("remember me")
        turns = 1
        if chat.handle is None:  # the first handle may follow turn 1 (the store commits it)
            await chat.say("and again")
            turns = 2
        return chat.session_id, chat.handle, turns

    with trio.fail_after(40):
        session_id, handle, turns = await sdk(daemon, first, config=config)
        assert handle is not None
        assert handle.startswith("lsh_")
        resume = types.LiveConnectConfig(
            response_modalities=["TEXT"],
            session_resumption=types.SessionResumptionConfig(handle=handle),
        )

        async def second(chat: Conversation):
            return chat.session_id, await chat.say("it's me")

        again_id, reply = await sdk(daemon, second, config=resume)
    assert again_id == session_id
    assert reply == f"echo #{turns + 1}: it's me"  # the same upstream conversation
    listed = (await admin_get(daemon, "/v1/sessions")).json()["sessions"]
    mine = next(s for s in listed if s["session_id"] == session_id)
    assert mine["client_resumes"] == 1
    assert metric(daemon, "livesvc_client_connections_total", result="resumed") == 1


@pytest.mark.filterwarnings("ignore:The SDK.s token creation")
@pytest.mark.filterwarnings("ignore:The SDK.s ephemeral token support")
async def test_sdk_mints_a_token_at_the_admin_api_and_connects_with_it(daemon: Daemon):
    """auth_tokens.create pointed at the admin API; the token then opens one session on the gateway."""
    from google import genai

    def mint() -> str:
        admin = genai.Client(
            api_key=ADMIN_TOKEN,
            http_options={"base_url": daemon.admin_url, "api_version": "v1alpha"},
        )
        token = admin.auth_tokens.create(
            config={
                "uses": 1,
                "live_connect_constraints": {
                    "model": "gemini-live-2.5-flash-preview",
                    "config": {"response_modalities": ["TEXT"]},
                },
            }
        )
        assert token.name is not None
        return token.name

    async def script(chat: Conversation):
        return await chat.say("with a token")

    with trio.fail_after(40):
        token = await trio.to_thread.run_sync(mint)
        assert token.startswith("auth_tokens/")
        assert daemon.gateway_url is not None
        assert daemon.ca_file is not None
        reply = await in_thread(
            run_sdk, daemon.gateway_url, daemon.ca_file, script, key=token, api_version="v1alpha"
        )
        assert reply == "echo #1: with a token"
        with pytest.raises(errors.APIError) as spent:
            await in_thread(
                run_sdk,
                daemon.gateway_url,
                daemon.ca_file,
                script,
                key=token,
                api_version="v1alpha",
            )
    assert spent.value.code == 1008
    assert "no uses left" in str(spent.value)


async def test_admin_closes_a_session_and_the_endpoints_reflect_it(daemon: Daemon):
    async def script(chat: Conversation):
        await chat.say("first")
        session_id = chat.session_id

        async def close_it() -> httpx.Response:
            async with httpx.AsyncClient(base_url=daemon.admin_url or "") as http:
                return await http.delete(
                    f"/v1/sessions/{session_id}",
                    params={"reason": "maintenance"},
                    headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
                )

        response = trio.from_thread.run(close_it)
        try:
            async for _ in chat.session.receive():
                pass
        except errors.APIError as closed:
            return session_id, response.status_code, closed.code, str(closed)
        return session_id, response.status_code, None, ""

    with trio.fail_after(40):
        session_id, status, code, message = await sdk(daemon, script)
        assert (status, code) == (200, 1000)
        assert "maintenance" in message
        view = (await admin_get(daemon, f"/v1/sessions/{session_id}")).json()
        metrics = (await admin_get(daemon, "/metrics")).text
    assert view["status"] == "closed"
    assert view["turns"] == 1
    assert view["last_close_reason"] == "maintenance"
    for line in (
        'livesvc_client_connections_total{result="accepted"} 1.0',
        'livesvc_sessions_started_total{kind="new"} 1.0',
        'livesvc_sessions_closed_total{reason="admin"} 1.0',
        'livesvc_messages_relayed_total{direction="client_to_upstream"} 1.0',
        'livesvc_client_closes_total{code="1000"} 1.0',
        "livesvc_first_response_latency_seconds_count 1.0",
        'livesvc_sessions{status="active"} 0.0',
    ):
        assert line in metrics
    assert 'livesvc_bytes_relayed_total{direction="upstream_to_client"}' in metrics
