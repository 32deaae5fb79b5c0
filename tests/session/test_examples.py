"""The examples run with one command against an in-process emulator."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import trio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


async def run_example(*args: str) -> str:
    with trio.fail_after(60):
        result = await trio.run_process(
            [sys.executable, str(EXAMPLES / args[0]), *args[1:]],
            capture_stdout=True,
            capture_stderr=True,
        )
    return result.stdout.decode()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "live_text_chat.py",
            ["model> echo #1: What is machine learning?", "model> echo #3: Thanks!"],
        ),
        ("live_session_resumption.py", ["resumed: True", "model> echo #3: What's my name?"]),
        (
            "live_function_calling.py",
            [
                'echo #1: get_stock_price -> {"symbol":"AAPL","price":178.5,"currency":"USD"}',
                "1 failed",
            ],
        ),
    ],
)
async def test_example_runs(script: str, expected: list[str]) -> None:
    """Each example finishes and prints the conversation the emulator makes deterministic."""
    out = await run_example(script)
    for line in expected:
        assert line in out


async def test_audio_example_writes_the_reply_wav(tmp_path: Path) -> None:
    """The audio example streams a tone and saves the spoken reply as a 24 kHz WAV."""
    import wave

    reply = tmp_path / "reply.wav"
    out = await run_example("live_audio_streaming.py", "--fast", "--output", str(reply))
    assert "model said: echo #1: <audio 1200 ms>" in out
    with wave.open(str(reply)) as wav:
        assert wav.getframerate() == 24000
        assert wav.getnframes() > 0
