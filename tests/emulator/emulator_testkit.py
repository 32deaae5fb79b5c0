"""Helpers for the emulator tests: a raw Live client over trio-websocket, frame readers."""

from __future__ import annotations

import array
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import trio
import trio.testing
import trio_websocket

from livesvc._server import FrontDoor
from livesvc.emulator import EmulatorConfig, live_path
from livesvc.emulator._core import EmulatorCore
from livesvc.wire import (
    ClientContent,
    Content,
    Part,
    RealtimeInput,
    ServerMessage,
    Setup,
    decode_server,
    encode_client,
)

_json = msgspec.json.Encoder()

TEXT_MODEL = "models/gemini-live-2.5-flash-preview"
AUDIO_MODEL = "models/gemini-2.5-flash-native-audio-preview-12-2025"


def fast_config(**overrides: Any) -> EmulatorConfig:
    """A config for tests: no pacing, no lifetime unless asked."""
    values: dict[str, Any] = {"reply_interval": 0.0, "session_lifetime": None}
    values.update(overrides)
    return EmulatorConfig(**values)


class LiveClient:
    """A raw Live client: sends wire structs or raw JSON, receives decoded frames."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws
        self.raw_frames: list[bytes | str] = []

    async def send(self, message: Any) -> None:
        await self.ws.send_message(encode_client(message).decode())

    async def send_json(self, payload: Any) -> None:
        await self.ws.send_message(_json.encode(payload).decode())

    async def recv(self) -> ServerMessage:
        frame = await self.ws.get_message()
        self.raw_frames.append(frame)
        return decode_server(frame)

    async def setup(self, model: str = TEXT_MODEL, **fields: Any) -> ServerMessage:
        """Send a setup and return setupComplete (skipping nothing else)."""
        await self.send(Setup(model=model, **fields))
        return await self.recv()

    async def say(self, text: str) -> None:
        await self.send(
            ClientContent(turns=[Content(role="user", parts=[Part(text=text)])], turn_complete=True)
        )

    async def type_text(self, text: str) -> None:
        await self.send(RealtimeInput(text=text))

    async def until(self, predicate: Any) -> list[ServerMessage]:
        """Frames up to and including the first one ``predicate`` accepts."""
        frames: list[ServerMessage] = []
        while True:
            message = await self.recv()
            frames.append(message)
            if predicate(message):
                return frames

    async def turn(self) -> list[ServerMessage]:
        """Frames up to and including the next turnComplete."""
        return await self.until(turn_complete)

    async def closed(self) -> trio_websocket.CloseReason:
        """Read until the server closes; the close reason."""
        try:
            while True:
                await self.recv()
        except trio_websocket.ConnectionClosed as closed:
            if closed.reason is None:
                raise AssertionError("closed without a reason") from None
            return closed.reason


def turn_complete(message: ServerMessage) -> bool:
    return bool(message.server_content and message.server_content.turn_complete)


def model_text(frames: list[ServerMessage]) -> str:
    parts = []
    for frame in frames:
        content = frame.server_content
        if content and content.model_turn:
            parts += [p.text for p in content.model_turn.parts or [] if p.text]
    return "".join(parts)


def output_transcript(frames: list[ServerMessage]) -> str:
    return "".join(
        f.server_content.output_transcription.text or ""
        for f in frames
        if f.server_content and f.server_content.output_transcription
    )


def audio_bytes(frames: list[ServerMessage]) -> bytes:
    data = b""
    for frame in frames:
        content = frame.server_content
        if content and content.model_turn:
            data += b"".join(
                p.inline_data.data or b"" for p in content.model_turn.parts or [] if p.inline_data
            )
    return data


@asynccontextmanager
async def live_client(
    url: str, *, headers: list[tuple[str, str]] | None = None
) -> AsyncIterator[LiveClient]:
    """A client over a real socket to ``url`` (ws://)."""
    async with trio_websocket.open_websocket_url(url, extra_headers=headers) as ws:
        yield LiveClient(ws)


class MemoryEmulator:
    """An emulator without sockets, for virtual-clock tests (style-anchors L7)."""

    def __init__(self, config: EmulatorConfig, nursery: trio.Nursery) -> None:
        self.core = EmulatorCore(config)
        self.core.install_startup_refusals()
        self.front = FrontDoor(self.core.on_websocket, self.core.on_rest)
        self._nursery = nursery

    @asynccontextmanager
    async def connect(
        self, path: str | None = None, *, key: str = "test-key"
    ) -> AsyncIterator[LiveClient]:
        client_stream, server_stream = trio.testing.memory_stream_pair()
        self._nursery.start_soon(self.front.handle, server_stream)
        resource = (path or live_path()) + (f"?key={key}" if key else "")
        async with trio.open_nursery() as nursery:
            ws = await trio_websocket.wrap_client_stream(
                nursery, client_stream, "localhost", resource
            )
            try:
                yield LiveClient(ws)
            finally:
                with trio.move_on_after(5, shield=True):
                    await ws.aclose()
                nursery.cancel_scope.cancel()


def pcm(amplitude: int, ms: int, rate: int = 16000) -> bytes:
    """``ms`` of a square wave of ``amplitude`` (0 is silence), 16-bit little-endian."""
    count = rate * ms // 1000
    samples = array.array("h", (amplitude if n % 2 else -amplitude for n in range(count)))
    return samples.tobytes()
