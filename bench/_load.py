"""The load: N simulated Live clients talking, in real time, to one URL.

Each client (trio-websocket) sends a ``setup``, then streams 16 kHz 16-bit PCM up
as ``realtimeInput.audio`` frames built with ``livesvc.wire``, one 40 ms chunk
every 40 ms, and reads everything the server sends down (24 kHz model audio,
transcriptions, turn events). It talks in cycles, like a person: ``speech_ms``
of a 400 Hz tone, then ``silence_ms`` of silence. The emulator's VAD hears the
end of speech ``vad_silence_ms`` into the silence, answers with model audio, and
is interrupted by the next cycle's speech (barge-in).

Latency is measured per message round trip, on two events whose cause is one
known frame up and whose answer is one frame down, sent at once by the server:

* ``eos``: the chunk that completes ``vad_silence_ms`` of silence goes up; the
  server's ``inputTranscription`` of that turn comes down;
* ``barge``: the first voiced chunk of a cycle goes up while the model speaks;
  ``interrupted`` comes down.

A relay adds its delay to both legs, so "added latency" is relayed minus direct,
per round trip. Only events sent inside the measured window count. Every client
also records how late its sends were against the real-time schedule: a late
load generator makes every number suspect, so it is reported.

Run alone: ``python -m bench._load --url URL --clients N --seconds S`` prints one
JSON :class:`LoadResult` on stdout.
"""

from __future__ import annotations

import argparse
import array
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass

import msgspec
import trio
import trio_websocket

from livesvc.wire import (
    AudioTranscriptionConfig,
    AutomaticActivityDetection,
    Blob,
    ClientMessage,
    GenerationConfig,
    RealtimeInput,
    RealtimeInputConfig,
    Setup,
    WireDecodeError,
    decode_server,
    encode_client,
)

__all__ = [
    "CHUNK_MS",
    "DEFAULT_MODEL",
    "Frames",
    "LoadResult",
    "LoadSpec",
    "merge_results",
    "pcm_chunk",
    "run_load",
]

CHUNK_MS = 40
RATE_UP = 16000
CHUNK_SAMPLES = RATE_UP * CHUNK_MS // 1000
TONE_HZ = 400  # 40 samples a period: every 10 ms VAD frame of the tone is identical
TONE_AMPLITUDE = 3000  # RMS ~2100: voiced for the emulator's VAD (threshold 300)
MIME_UP = f"audio/pcm;rate={RATE_UP}"
DEFAULT_MODEL = "gemini-live-2.5-flash-preview"
LATE_MS = 10.0  # a send this late against the real-time schedule counts as late
_TAIL = 0.5  # seconds after the window for answers to window events to arrive


def pcm_chunk(voiced: bool) -> bytes:
    """40 ms of 16 kHz 16-bit little-endian mono PCM: the tone, or silence."""
    if not voiced:
        return bytes(CHUNK_SAMPLES * 2)
    step = 2 * math.pi * TONE_HZ / RATE_UP
    samples = array.array(
        "h", (int(TONE_AMPLITUDE * math.sin(step * n)) for n in range(CHUNK_SAMPLES))
    )
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


@dataclass(frozen=True, kw_only=True)
class LoadSpec:
    """What one load process does.

    Attributes:
        url: the full Live WebSocket URL, with ``?key=`` when the server needs one.
        clients: simulated clients.
        seconds: length of the measured window.
        start_at: ``time.monotonic()`` at which the window opens (shared by every
            process of the machine, so several load processes measure the same window).
        speech_ms, silence_ms: one talking cycle (multiples of 40).
        vad_silence_ms: ``silenceDurationMs`` asked of the server's VAD (multiple of 40).
        model: the ``setup.model``.
        seed: spreads the clients' cycle phases.
    """

    url: str
    clients: int
    seconds: float
    start_at: float
    speech_ms: int = 200
    silence_ms: int = 600
    vad_silence_ms: int = 120
    model: str = DEFAULT_MODEL
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("speech_ms", "silence_ms", "vad_silence_ms"):
            value = getattr(self, name)
            if value <= 0 or value % CHUNK_MS:
                raise ValueError(f"{name} must be a positive multiple of {CHUNK_MS}")
        if self.vad_silence_ms >= self.silence_ms:
            raise ValueError("vad_silence_ms must be shorter than silence_ms")


class LoadResult(msgspec.Struct, kw_only=True):
    """What the clients of one or more load processes saw in the window."""

    clients: int = 0
    connected: int = 0
    window_seconds: float = 0.0
    sent: int = 0  # frames up in the window
    received: int = 0  # frames down in the window
    audio_received: int = 0  # model audio frames down in the window
    audio_bytes: int = 0  # PCM bytes of that audio
    eos_ms: list[float] = msgspec.field(default_factory=list)
    barge_ms: list[float] = msgspec.field(default_factory=list)
    setup_ms: list[float] = msgspec.field(default_factory=list)
    late_sends: int = 0  # sends in the window more than LATE_MS behind schedule
    max_lag_ms: float = 0.0
    errors: dict[str, int] = msgspec.field(default_factory=dict)


def merge_results(results: list[LoadResult]) -> LoadResult:
    """One result from those of several load processes over the same window."""
    merged = LoadResult()
    errors: Counter[str] = Counter()
    for result in results:
        merged.clients += result.clients
        merged.connected += result.connected
        merged.window_seconds = max(merged.window_seconds, result.window_seconds)
        merged.sent += result.sent
        merged.received += result.received
        merged.audio_received += result.audio_received
        merged.audio_bytes += result.audio_bytes
        merged.eos_ms += result.eos_ms
        merged.barge_ms += result.barge_ms
        merged.setup_ms += result.setup_ms
        merged.late_sends += result.late_sends
        merged.max_lag_ms = max(merged.max_lag_ms, result.max_lag_ms)
        errors.update(result.errors)
    merged.errors = dict(errors)
    return merged


class Frames:
    """The frames a simulated client sends, encoded once with ``livesvc.wire``."""

    def __init__(self, spec: LoadSpec) -> None:
        setup = Setup(
            model=spec.model,
            generation_config=GenerationConfig(response_modalities=["AUDIO"]),
            input_audio_transcription=AudioTranscriptionConfig(),
            output_audio_transcription=AudioTranscriptionConfig(),
            realtime_input_config=RealtimeInputConfig(
                automatic_activity_detection=AutomaticActivityDetection(
                    silence_duration_ms=spec.vad_silence_ms, prefix_padding_ms=20
                )
            ),
        )
        # text frames, as the SDK sends them
        self.setup = encode_client(ClientMessage(setup=setup)).decode()
        self.voiced = encode_client(
            RealtimeInput(audio=Blob(data=pcm_chunk(True), mime_type=MIME_UP))
        ).decode()
        self.silent = encode_client(
            RealtimeInput(audio=Blob(data=pcm_chunk(False), mime_type=MIME_UP))
        ).decode()


class _Window:
    """The measured window in trio time."""

    def __init__(self, spec: LoadSpec) -> None:
        self.start = trio.current_time() + (spec.start_at - time.monotonic())
        self.end = self.start + spec.seconds

    def holds(self, when: float) -> bool:
        return self.start <= when < self.end


class _Client:
    def __init__(
        self, spec: LoadSpec, frames: Frames, window: _Window, result: LoadResult, phase: int
    ) -> None:
        self.spec = spec
        self.frames = frames
        self.window = window
        self.result = result
        self.phase = phase
        self.speech_chunks = spec.speech_ms // CHUNK_MS
        self.cycle_chunks = (spec.speech_ms + spec.silence_ms) // CHUNK_MS
        self.eos_index = self.speech_chunks + spec.vad_silence_ms // CHUNK_MS - 1
        self.replying = False  # model audio of the current turn is arriving
        self.pending_eos: float | None = None
        self.pending_barge: float | None = None
        self.spoke = False  # a cycle with speech has been sent

    async def run(self, errors: Counter[str]) -> None:
        try:
            await self._run()
        except trio_websocket.ConnectionClosed as closed:
            reason = closed.reason
            errors[
                f"closed {reason.code if reason else '?'}: {reason.reason if reason else ''}"
            ] += 1
        except trio_websocket.HandshakeError as exc:
            errors[f"handshake: {type(exc).__name__}"] += 1
        except OSError as exc:
            errors[f"connect: {type(exc).__name__}"] += 1
        except _Refused as exc:
            errors[str(exc)] += 1
        except trio.TooSlowError:
            errors["no setupComplete within 10 s"] += 1

    async def _run(self) -> None:
        started = trio.current_time()
        async with trio_websocket.open_websocket_url(
            self.spec.url, connect_timeout=10, disconnect_timeout=2
        ) as ws:
            await ws.send_message(self.frames.setup)
            with trio.fail_after(10):
                first = decode_server(await ws.get_message())
            if first.setup_complete is None:
                raise _Refused("first server frame is not setupComplete")
            self.result.connected += 1
            self.result.setup_ms.append((trio.current_time() - started) * 1000)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._receive, ws)
                await self._stream(ws)
                nursery.cancel_scope.cancel()

    async def _stream(self, ws: trio_websocket.WebSocketConnection) -> None:
        begin = trio.current_time()
        stop = self.window.end + min(_TAIL, max(0.2, self.spec.seconds / 2))
        result = self.result
        for k in range(1 << 40):
            due = begin + k * CHUNK_MS / 1000
            if due >= stop:
                return
            await trio.sleep_until(due)
            position = (k + self.phase) % self.cycle_chunks
            voiced = position < self.speech_chunks
            now = trio.current_time()
            await ws.send_message(self.frames.voiced if voiced else self.frames.silent)
            if not self.window.holds(due):
                if position == 0:
                    self.spoke = True
                continue
            result.sent += 1
            lag_ms = (now - due) * 1000
            if lag_ms > LATE_MS:
                result.late_sends += 1
            result.max_lag_ms = max(result.max_lag_ms, lag_ms)
            if position == 0:
                # barge-in only when the model is speaking, and answered by `interrupted`
                self.pending_barge = now if self.replying else None
                self.spoke = True
            elif position == self.eos_index and self.spoke:
                self.pending_eos = now

    async def _receive(self, ws: trio_websocket.WebSocketConnection) -> None:
        result = self.result
        while True:
            data = await ws.get_message()
            now = trio.current_time()
            try:
                message = decode_server(data)
            except WireDecodeError:
                result.errors["undecodable frame"] = result.errors.get("undecodable frame", 0) + 1
                continue
            in_window = self.window.holds(now)
            if in_window:
                result.received += 1
            content = message.server_content
            if content is None:
                continue
            if content.input_transcription is not None and self.pending_eos is not None:
                result.eos_ms.append((now - self.pending_eos) * 1000)
                self.pending_eos = None
            if content.interrupted and self.pending_barge is not None:
                result.barge_ms.append((now - self.pending_barge) * 1000)
                self.pending_barge = None
            if content.model_turn is not None:
                self.replying = True
                if in_window:
                    for part in content.model_turn.parts or []:
                        if part.inline_data is not None:
                            result.audio_received += 1
                            result.audio_bytes += len(part.inline_data.data or b"")
            if content.turn_complete:
                self.replying = False
                self.pending_barge = None


class _Refused(Exception):
    """The server did not start the session as the Live API does."""


async def run_load(spec: LoadSpec) -> LoadResult:
    """Run the clients of ``spec``; returns what they saw in the window.

    Clients connect one after another, spread over the time before the window
    (at most 1.5 s before it opens), so the window sees them all streaming.
    """
    result = LoadResult(clients=spec.clients, window_seconds=spec.seconds)
    frames = Frames(spec)
    window = _Window(spec)
    rng = random.Random(spec.seed)
    cycle_chunks = (spec.speech_ms + spec.silence_ms) // CHUNK_MS
    errors: Counter[str] = Counter()
    spread = max(0.0, window.start - 1.5 - trio.current_time())
    async with trio.open_nursery() as nursery:
        for _ in range(spec.clients):
            client = _Client(spec, frames, window, result, rng.randrange(cycle_chunks))
            nursery.start_soon(client.run, errors)
            await trio.sleep(spread / max(1, spec.clients))
    errors.update(result.errors)
    result.errors = dict(errors)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench._load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--start-at", type=float, help="time.monotonic() of the window (default: in 3 s)"
    )
    parser.add_argument("--speech-ms", type=int, default=200)
    parser.add_argument("--silence-ms", type=int, default=600)
    parser.add_argument("--vad-silence-ms", type=int, default=120)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    spec = LoadSpec(
        url=args.url,
        clients=args.clients,
        seconds=args.seconds,
        start_at=args.start_at if args.start_at is not None else time.monotonic() + 3.0,
        speech_ms=args.speech_ms,
        silence_ms=args.silence_ms,
        vad_silence_ms=args.vad_silence_ms,
        model=args.model,
        seed=args.seed,
    )
    result = trio.run(run_load, spec)
    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
