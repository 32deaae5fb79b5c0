"""examples/live_gateway_audio.py runs against a real `livesvc serve`, with the stock SDK (issue 15)."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import pytest
import trio

from .e2e_support import KEY, config_text, start_serve, stop_serve

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "live_gateway_audio.py"


async def test_the_audio_example_writes_the_spoken_reply(tmp_path: Path, nursery: trio.Nursery):
    path = tmp_path / "live.toml"
    path.write_text(config_text(state_dir=str(tmp_path / "state")))
    daemon = await start_serve(path, nursery)
    out = tmp_path / "reply.wav"
    with trio.fail_after(60):
        done = await trio.run_process(
            [
                sys.executable,
                str(EXAMPLE),
                "--gateway",
                daemon.gateway_url.replace("wss://", "https://"),
                "--key",
                KEY,
                "--ca",
                daemon.ca_file,
                "--model",
                "gemini-live-2.5-flash-preview",
                "--output",
                str(out),
                "--speed",
                "20",
            ],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
        assert await stop_serve(daemon) == 0
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    with wave.open(str(out), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        assert wav.getnframes() > 0
    assert "model said: 'echo #1: <audio 800 ms>'" in done.stdout.decode()
