"""Stream a WAV file to a Live session and save the spoken reply (the seeds' ``12_live_audio_streaming``).

The input is sent as 16 kHz 16-bit mono PCM in 100 ms chunks at real-time pace
(any WAV is converted); server voice activity detection finds the turn, and
``audio_stream_end`` flushes it. The reply (24 kHz PCM) is written to a WAV
file, and both transcriptions are printed. Without ``--input`` a short tone
stands in for speech. Run::

    .venv/bin/python examples/live_audio_streaming.py --output reply.wav
    .venv/bin/python examples/live_audio_streaming.py --input question.wav --output reply.wav
"""

from __future__ import annotations

import array
import math
import sys
import wave
from pathlib import Path

import trio
from _common import backend, parser

import livesvc

RATE_IN = 16_000
RATE_OUT = 24_000
CHUNK_MS = 100


def read_wav_as_16k_mono(path: Path) -> bytes:
    """Read any 16-bit PCM WAV and convert it to 16 kHz mono (linear resampling)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            sys.exit(f"{path}: only 16-bit PCM WAV files are supported")
        channels, rate = wav.getnchannels(), wav.getframerate()
        samples = array.array("h", wav.readframes(wav.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    mono = [sum(samples[i : i + channels]) // channels for i in range(0, len(samples), channels)]
    if rate != RATE_IN and mono:
        step = rate / RATE_IN
        count = int(len(mono) / step)
        mono = [
            int(
                mono[int(i * step)]
                + (mono[min(int(i * step) + 1, len(mono) - 1)] - mono[int(i * step)])
                * (i * step % 1)
            )
            for i in range(count)
        ]
    out = array.array("h", mono)
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def tone(seconds: float = 1.2, hz: float = 220.0) -> bytes:
    """A loud tone followed by silence: enough for voice activity detection."""
    voiced = [
        int(8000 * math.sin(2 * math.pi * hz * n / RATE_IN)) for n in range(int(seconds * RATE_IN))
    ]
    samples = array.array("h", voiced + [0] * int(0.8 * RATE_IN))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def write_wav(path: Path, pcm: bytes, rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)


async def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--input", type=Path, help="a 16-bit PCM WAV file to send (default: a tone)")
    p.add_argument("--output", type=Path, default=Path("reply.wav"), help="where to save the reply")
    p.add_argument("--fast", action="store_true", help="send the audio as fast as possible")
    args = p.parse_args()
    pcm = read_wav_as_16k_mono(args.input) if args.input else tone()
    reply = bytearray()
    chunk_bytes = RATE_IN * 2 * CHUNK_MS // 1000

    heard: dict[str, list[str]] = {"input": [], "output": []}

    def on_transcription(event: livesvc.TranscriptionReceived) -> None:
        heard[event.direction].append(event.text)

    def on_message(message: object) -> None:
        content = getattr(message, "server_content", None)
        turn = content.model_turn if content is not None else None
        for part in (turn.parts or []) if turn is not None else []:
            if part.inline_data is not None and part.inline_data.data:
                reply.extend(part.inline_data.data)

    async with (
        backend(args) as where,
        livesvc.open_session(
            model=where.model,
            response_modalities=["AUDIO"],
            voice="Kore",
            input_audio_transcription=True,
            output_audio_transcription=True,
            on_transcription=on_transcription,
            on_message=on_message,
            **where.options,
        ) as session,
    ):
        print(f"sending {len(pcm) / (2 * RATE_IN):.1f} s of audio in {CHUNK_MS} ms chunks")
        for start in range(0, len(pcm), chunk_bytes):
            await session.send_realtime_input(audio=pcm[start : start + chunk_bytes])
            if not args.fast:
                await trio.sleep(CHUNK_MS / 1000)
        await session.send_realtime_input(audio_stream_end=True)
        with trio.move_on_after(30):
            await session.wait_turns(1)  # counts a reply that finished while we were sending
    print(f"you said:   {''.join(heard['input'])}")
    print(f"model said: {''.join(heard['output'])}")
    write_wav(args.output, bytes(reply), RATE_OUT)
    print(f"saved {len(reply) / (2 * RATE_OUT):.2f} s of reply audio to {args.output}")


if __name__ == "__main__":
    trio.run(main)
