"""Fixtures for session tests: an in-process emulator on 127.0.0.1, and fast policies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from livesvc.emulator import Emulator, EmulatorConfig, open_emulator
from livesvc.session import KeepalivePolicy, ReconnectPolicy
from supervisors import Backoff

TEXT_MODEL = "gemini-live-2.5-flash-preview"  # TEXT and AUDIO, clientContent text
AUDIO_MODEL = "gemini-2.5-flash-native-audio-preview-12-2025"
G31 = "gemini-3.1-flash-live-preview"

FAST_RECONNECT = ReconnectPolicy(
    backoff=Backoff(first=0.0, base=0.05, factor=2.0, max=0.2, jitter=0.0),
    rate_limited_backoff=Backoff(first=0.1, base=0.1, factor=2.0, max=0.3, jitter=0.0),
    max_attempts=4,
    stable_after=5.0,
    connect_timeout=5.0,
    close_timeout=1.0,
    handover_margin=0.2,
)


def emulator_config(**kw: Any) -> EmulatorConfig:
    """A fast emulator: short reply intervals, short audio."""
    base: dict[str, Any] = {"reply_interval": 0.002, "audio_chunk_ms": 100, "audio_ms_per_char": 5}
    base.update(kw)
    return EmulatorConfig(**base)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with open_emulator(emulator_config()) as emu:
        yield emu


def options(emu: Emulator, **kw: Any) -> dict[str, Any]:
    """Session options pointing at ``emu`` with fast, deterministic policies."""
    base: dict[str, Any] = {
        "model": TEXT_MODEL,
        "api_key": "test-key",
        "base_url": emu.url,
        "response_modalities": ["TEXT"],
        "reconnect": FAST_RECONNECT,
        "keepalive": KeepalivePolicy(interval=5.0, timeout=5.0),
        "random_seed": 7,
    }
    base.update(kw)
    return base
