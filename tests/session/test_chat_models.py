"""``livesvc chat`` with audio-only models and with 3.8 interactions that span several utterances."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
import trio_websocket

from livesvc.chat import ChatClient
from livesvc.emulator import open_emulator
from livesvc.wire import (
    ServerContent,
    ServerMessage,
    Setup,
    SetupComplete,
    Transcription,
    decode_client,
    encode_server,
)

from .conftest import emulator_config


async def ask(client: ChatClient, *questions: str) -> str:
    send, lines = trio.open_memory_channel[str](0)
    out: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: client.converse(lines, on_text=out.append))
        async with send:
            for question in questions:
                await send.send(question)
    return "".join(out)


async def test_an_audio_only_model_is_asked_for_audio_and_its_transcription_printed() -> None:
    """3.1 answers only in AUDIO: chat asks for AUDIO plus output transcription and prints that."""
    async with open_emulator(emulator_config()) as emu:
        client = ChatClient(emu.url, "test-key", model="gemini-3.1-flash-live-preview")
        with trio.fail_after(20):
            text = await ask(client, "hello", "again")
    assert text == "echo #1: hello\necho #2: again\n"


@pytest.fixture
async def interaction_server() -> AsyncIterator[tuple[str, list[Setup | None]]]:
    """A loopback Live server that answers each question in two utterances, as 3.8 does."""
    setups: list[Setup | None] = []

    async def serve(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        try:
            setups.append(decode_client(await ws.get_message()).setup)
            await ws.send_message(encode_server(ServerMessage(setup_complete=SetupComplete())))
            while True:
                decode_client(await ws.get_message())
                for text, status in (("checking. ", "IN_PROGRESS"), ("found it", "IDLE")):
                    said = ServerContent(output_transcription=Transcription(text=text))
                    done = ServerContent(turn_complete=True, interaction_status=status)
                    await ws.send_message(encode_server(ServerMessage(server_content=said)))
                    await ws.send_message(encode_server(ServerMessage(server_content=done)))
        except trio_websocket.ConnectionClosed:
            pass

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, serve, "127.0.0.1", 0, None)
        yield f"ws://127.0.0.1:{server.port}", setups
        nursery.cancel_scope.cancel()


async def test_the_answer_ends_when_the_interaction_does(
    interaction_server: tuple[str, list[Setup | None]],
) -> None:
    """A turnComplete with IN_PROGRESS is a filler; the answer runs on to IDLE."""
    url, setups = interaction_server
    client = ChatClient(url, "k", model="gemini-3.8-live")
    with trio.fail_after(20):
        text = await ask(client, "flights?", "more?")
    assert text == "checking. found it\nchecking. found it\n"
    setup = setups[0]
    assert setup is not None
    assert setup.generation_config is not None
    assert setup.generation_config.response_modalities == ["AUDIO"]
    assert setup.output_audio_transcription is not None
