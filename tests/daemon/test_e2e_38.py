"""Gemini 3.8 through the gateway: the stock SDK, `livesvc serve`'s daemon, the embedded emulator.

The profile serves ``gemini-3.8-live-extended-thinking``; the client declares a
tool the gateway forwards to it. A ``goAway`` while the model works in the
background is handed over after the interaction ends, invisibly to the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
from google.genai import types

from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon

from .e2e_support import Conversation, config_text, in_thread, run_sdk

pytestmark = pytest.mark.filterwarnings("ignore::Warning")

ET = "gemini-3.8-live-extended-thinking"


@pytest.fixture
async def daemon38(tmp_path: Path) -> AsyncIterator[Daemon]:
    text = config_text(state_dir=str(tmp_path / "state"), reply_interval=0.01)
    text = text.replace('model = "gemini-live-2.5-flash-preview"', f'model = "{ET}"').replace(
        'generation_config = { response_modalities = ["TEXT"] }',
        'generation_config = { response_modalities = ["AUDIO"],'
        ' thinking_config = { thinking_level = "LOW" } }',
    )
    path = tmp_path / "live.toml"
    path.write_text(text)
    daemon = Daemon(load_config(path), config_path=str(path), handle_signals=False)
    async with trio.open_nursery() as nursery:
        with trio.fail_after(20):
            await nursery.start(daemon.run)
        yield daemon
        daemon.request_shutdown()


def said(messages: list[types.LiveServerMessage]) -> str:
    return "".join(
        m.server_content.output_transcription.text or ""
        for m in messages
        if m.server_content and m.server_content.output_transcription
    )


def statuses(messages: list[types.LiveServerMessage]) -> list[str | None]:
    return [
        m.server_content.interaction_status.value if m.server_content.interaction_status else None
        for m in messages
        if m.server_content and m.server_content.turn_complete
    ]


async def test_extended_thinking_through_the_gateway_with_a_go_away_in_the_background(
    daemon38: Daemon,
):
    emulator = daemon38.emulator
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather",
                parameters=types.Schema(
                    type="OBJECT", properties={"city": types.Schema(type="STRING")}
                ),
            )
        ]
    )
    config = types.LiveConnectConfig(
        response_modalities=["AUDIO"],
        output_audio_transcription=types.AudioTranscriptionConfig(),
        tools=[tool],
        session_resumption=types.SessionResumptionConfig(),
    )

    async def script(chat: Conversation) -> Any:
        session = chat.session
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="get_weather(city=Oslo)")])
        )
        filler, calls = [], []
        async for message in session.receive():
            filler.append(message)
            if message.tool_call is not None:
                calls.extend(message.tool_call.function_calls or [])
            if message.server_content and message.server_content.turn_complete:
                break
        # Google announces the end of the connection while the model works.
        trio.from_thread.run(emulator.faults.go_away, 20.0)
        await session.send_tool_response(
            function_responses=[
                types.FunctionResponse(id=calls[0].id, name=calls[0].name, response={"t": 21})
            ]
        )
        answer = await chat.receive_turn()
        # Still the first upstream connection: nothing was handed over mid-interaction.
        during = trio.from_thread.run_sync(lambda: emulator.sessions()[0].connections)
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="next")])
        )
        following = await chat.receive_turn()
        return filler, calls, answer, during, following

    with trio.fail_after(60):
        filler, calls, answer, during, following = await in_thread(
            run_sdk, daemon38.gateway_url, daemon38.ca_file, script, config=config
        )
        # The handover follows IDLE; the emulator has no event for it, so wait (bounded).
        while emulator.sessions()[0].connections < 2:  # noqa: ASYNC110
            await trio.sleep(0.01)
        (info,) = emulator.sessions()
    assert [c.name for c in calls] == ["get_weather"]
    assert said(filler) == "echo #1: get_weather(city=Oslo)"
    assert statuses(filler) == ["IN_PROGRESS"]
    assert said(answer) == 'echo #1: get_weather -> {"t":21}'
    assert statuses(answer) == ["IDLE"]
    # Handed over upstream after IDLE: the conversation goes on, nothing lost or doubled.
    assert during == 1
    assert said(following) == "echo #2: next"
    assert info.connections == 2
    assert info.turns == 2
