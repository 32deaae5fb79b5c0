"""Speak to the model through the livesvc gateway with the stock google-genai SDK.

Streams 16 kHz 16-bit mono PCM (a WAV file, or a generated tone standing in
for speech) to the gateway in 100 ms chunks, and writes the model's spoken
reply (24 kHz PCM) to a WAV file. The gateway holds the Google credential: this
client only knows its gateway key.

TLS: the gateway of ``make run`` serves wss:// with a self-signed CA it writes
to ``.livesvc/tls/ca.pem``; give it with ``--ca`` (the default when present).
Run (with ``make run`` in another terminal)::

    .venv/bin/python examples/live_gateway_audio.py --output reply.wav
    .venv/bin/python examples/live_gateway_audio.py --input question.wav --output reply.wav \\
        --gateway https://127.0.0.1:8443 --key dev-key --ca .livesvc/tls/ca.pem
"""

from __future__ import annotations

import argparse
import array
import asyncio
import math
import ssl
import sys
import wave
from pathlib import Path

from google import genai
from google.genai import types

RATE_IN = 16_000
RATE_OUT = 24_000
CHUNK_MS = 100
DEFAULT_CA = ".livesvc/tls/ca.pem"


def tone(seconds: float = 0.8, silence: float = 1.0) -> bytes:
    """A loud 440 Hz tone then silence: enough for voice activity detection to hear a turn."""
    samples = array.array("h")
    for i in range(int(RATE_IN * seconds)):
        samples.append(int(8000 * math.sin(2 * math.pi * 440 * i / RATE_IN)))
    samples.extend([0] * int(RATE_IN * silence))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def read_wav(path: Path) -> bytes:
    """A 16-bit mono 16 kHz WAV's PCM (convert others with e.g. `sox in.wav -r 16000 -c 1 out.wav`)."""
    with wave.open(str(path), "rb") as wav:
        if (wav.getsampwidth(), wav.getnchannels(), wav.getframerate()) != (2, 1, RATE_IN):
            sys.exit(f"{path}: expected 16-bit mono {RATE_IN} Hz PCM")
        return wav.readframes(wav.getnframes())


def write_wav(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE_OUT)
        wav.writeframes(pcm)


async def talk(args: argparse.Namespace, pcm: bytes, context: ssl.SSLContext) -> tuple[bytes, str]:
    client = genai.Client(
        api_key=args.key,
        http_options={"base_url": args.gateway, "async_client_args": {"ssl": context}},
    )
    config = types.LiveConnectConfig(
        response_modalities=["AUDIO"],
        output_audio_transcription=types.AudioTranscriptionConfig(),
    )
    reply, transcript = bytearray(), []
    async with client.aio.live.connect(model=args.model, config=config) as session:
        chunk = RATE_IN * 2 * CHUNK_MS // 1000
        for start in range(0, len(pcm), chunk):
            await session.send_realtime_input(
                audio=types.Blob(
                    data=pcm[start : start + chunk], mime_type=f"audio/pcm;rate={RATE_IN}"
                )
            )
            await asyncio.sleep(CHUNK_MS / 1000 / args.speed)  # real-time pace
        await session.send_realtime_input(audio_stream_end=True)
        async for message in session.receive():
            content = message.server_content
            if content is None:
                continue
            for part in (content.model_turn.parts if content.model_turn else None) or ():
                if part.inline_data and part.inline_data.data:
                    reply.extend(part.inline_data.data)
            if content.output_transcription and content.output_transcription.text:
                transcript.append(content.output_transcription.text)
    return bytes(reply), "".join(transcript)


def main() -> int:
    # The whole docstring, lines kept: what it does, TLS, and how to run it.
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--gateway", default="https://127.0.0.1:8443", help="the gateway's base URL")
    p.add_argument("--key", default="dev-key", help="your gateway client key (default: dev-key)")
    p.add_argument("--ca", help=f"CA certificate of the gateway's TLS (default: {DEFAULT_CA})")
    p.add_argument("--model", default="gemini-3.8-live", help="the Live model to ask for")
    p.add_argument("--input", type=Path, help="a 16 kHz mono 16-bit WAV (default: a tone)")
    p.add_argument("--output", type=Path, default=Path("reply.wav"), help="the reply's WAV")
    p.add_argument("--speed", type=float, default=1.0, help="send faster than real time (x)")
    args = p.parse_args()
    pcm = read_wav(args.input) if args.input else tone()
    ca = args.ca or (DEFAULT_CA if Path(DEFAULT_CA).is_file() else None)
    context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    reply, transcript = asyncio.run(talk(args, pcm, context))
    write_wav(args.output, reply)
    print(f"model said: {transcript!r}")
    print(f"wrote {len(reply) / 2 / RATE_OUT:.2f} s of {RATE_OUT} Hz audio to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
