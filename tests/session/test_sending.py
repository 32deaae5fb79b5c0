"""Sending: precise errors for misuse, and what goes through the ledger versus the media path."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from structlog.testing import capture_logs

from livesvc.emulator import Emulator
from livesvc.session import LiveSessionError, open_session
from livesvc.session._media_buffer import MediaKind
from livesvc.session._outbound import is_ledgered, realtime_envelope
from livesvc.wire import (
    ActivityStart,
    Blob,
    ClientContent,
    ClientMessage,
    ContextUpdate,
    RealtimeInput,
    Setup,
    ToolResponse,
)

from .conftest import options


@pytest.mark.parametrize(
    ("message", "ledgered"),
    [
        (ClientMessage(client_content=ClientContent(turn_complete=True)), True),
        (ClientMessage(tool_response=ToolResponse(function_responses=[])), True),
        (ClientMessage(realtime_input=RealtimeInput(text="hi")), True),
        (ClientMessage(context_update=ContextUpdate()), True),
        (ClientMessage(realtime_input=RealtimeInput(audio=Blob(data=b"\0\0"))), False),
        (ClientMessage(realtime_input=RealtimeInput(activity_start=ActivityStart())), False),
    ],
)
def test_conversation_messages_go_through_the_ledger(
    message: ClientMessage, ledgered: bool
) -> None:
    """Messages that change the conversation are ledgered; media and signals are realtime."""
    assert is_ledgered(message) is ledgered


def test_realtime_envelopes_carry_their_duration() -> None:
    """Audio is bounded by its duration, video by frame count, signals never dropped."""
    second = b"\0\0" * 16000
    audio = realtime_envelope(
        ClientMessage(
            realtime_input=RealtimeInput(audio=Blob(data=second, mime_type="audio/pcm;rate=16000"))
        )
    )
    assert (audio.kind, audio.seconds) == (MediaKind.AUDIO, 1.0)
    chunks = realtime_envelope(
        ClientMessage(
            realtime_input=RealtimeInput(
                media_chunks=[Blob(data=second, mime_type="audio/pcm;rate=32000")]
            )
        )
    )
    assert (chunks.kind, chunks.seconds) == (MediaKind.AUDIO, 0.5)
    video = realtime_envelope(
        ClientMessage(realtime_input=RealtimeInput(video=Blob(data=b"jpg", mime_type="image/jpeg")))
    )
    assert video.kind is MediaKind.VIDEO
    signal = realtime_envelope(
        ClientMessage(realtime_input=RealtimeInput(activity_start=ActivityStart()))
    )
    assert signal.kind is MediaKind.CONTROL


@pytest.mark.parametrize(
    ("call", "match"),
    [
        ({"activity_start": True}, "activity_start needs automatic activity detection disabled"),
        ({}, "at least one field"),
        ({"audio": Blob(data=b"x", mime_type="image/png")}, "audio/ MIME"),
        ({"video": Blob(data=b"x", mime_type="audio/pcm")}, "image/ MIME"),
    ],
)
async def test_send_realtime_input_misuse(
    emulator: Emulator, call: dict[str, Any], match: str
) -> None:
    """Realtime input that contradicts the session's setup fails at the call, not at the server."""
    with trio.fail_after(10):
        async with open_session(**options(emulator)) as session:
            with pytest.raises(LiveSessionError, match=match):
                await session.send_realtime_input(**call)


async def test_manual_activity_rejects_audio_stream_end(emulator: Emulator) -> None:
    """With manual activity detection, audio_stream_end is refused (it belongs to automatic VAD)."""
    with trio.fail_after(10):
        async with open_session(
            **options(
                emulator, realtime_input_config={"automatic_activity_detection": {"disabled": True}}
            )
        ) as session:
            with pytest.raises(LiveSessionError, match="audio_stream_end"):
                await session.send_realtime_input(audio_stream_end=True)
            await session.send_realtime_input(
                activity_start=True, audio=b"\0\0" * 1600, activity_end=True
            )
            await session.wait_turn_complete()


async def test_raw_send_refuses_setup_and_ambiguous_messages(emulator: Emulator) -> None:
    """The raw path refuses a setup (the session sends its own) and a message with two fields."""
    with trio.fail_after(10):
        async with open_session(**options(emulator)) as session:
            with pytest.raises(LiveSessionError, match="setup is sent by the session"):
                await session.send(ClientMessage(setup=Setup(model="models/x")))
            with pytest.raises(LiveSessionError, match="exactly one field"):
                await session.send(
                    ClientMessage(
                        client_content=ClientContent(turn_complete=True),
                        realtime_input=RealtimeInput(text="x"),
                    )
                )


async def test_tool_response_needs_an_id_on_the_gemini_api(emulator: Emulator) -> None:
    """Gemini matches responses by id; one without is refused before it is sent."""
    with trio.fail_after(10):
        async with open_session(**options(emulator)) as session:
            with pytest.raises(LiveSessionError, match="has no id"):
                await session.send_tool_response([{"name": "f", "response": {}}])


async def test_the_api_key_never_appears_in_logs(emulator: Emulator) -> None:
    """Every log event of a whole session (dial, setup, close) is free of the key."""
    key = "super-secret-key-123"
    with trio.fail_after(10), capture_logs() as logs:
        async with open_session(**options(emulator, api_key=key)) as session:
            await session.send_text("hi")
            await session.wait_turn_complete()
            await emulator.faults.drop()
            await session.send_text("again")
            await session.wait_turn_complete()
    assert len(logs) > 10
    assert all(key not in repr(event) for event in logs)
