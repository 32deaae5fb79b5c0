"""Everything an emulator can be told, with Google's values as defaults."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import msgspec

from livesvc._server import Limits
from livesvc.emulator._catalogue import DEFAULT_CATALOGUE, ModelSpec
from livesvc.emulator._faults import FaultRule

__all__ = ["EmulatorConfig", "TlsFiles"]


class TlsFiles(msgspec.Struct, frozen=True, kw_only=True):
    """Certificate files: the server's chain and key, and the CA clients must trust."""

    cert_file: str
    key_file: str
    ca_file: str | None = None


class EmulatorConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How an emulator listens, authenticates, paces its model and ages its sessions.

    Attributes:
        host: address to listen on.
        port: port to listen on (0 picks a free one; see ``Emulator.port``).
        tls: serve ``wss://``/``https://`` with these files (see ``write_self_signed``);
            None serves plain ``ws://``/``http://``.
        api_keys: the API keys accepted; empty accepts any non-empty key.
        catalogue: the models served (see ``DEFAULT_CATALOGUE``).
        session_lifetime: seconds a connection lives before it is closed
            (Google: about 10 minutes); None for no limit.
        go_away_notice: seconds between ``goAway`` and that close.
        handle_lifetime: seconds a resumption handle stays valid (Google: 2 hours).
        reply_interval: seconds before each chunk of a reply (barge-in needs > 0).
        text_chunk_chars: characters per ``modelTurn`` text chunk (TEXT modality).
        audio_ms_per_char: milliseconds of speech per reply character (AUDIO modality).
        audio_chunk_ms: milliseconds of audio per ``inlineData`` chunk.
        setup_timeout: seconds a new connection has to send its ``setup``.
        resume_grace: seconds a resumption waits for the session's previous
            connection to go away before it is refused with 1011.
        faults: start-up fault rules (``--fault``).
        control_api: serve ``/_emulator/...`` to loopback clients.
        limits: front-door limits (request head size and time, connections).
        wall_clock: epoch seconds, for ephemeral-token times (tests may inject one).
        state_dir: keep resumable sessions in SQLite here, so a restart (even
            kill -9) resumes them; None keeps them in memory only.
    """

    host: str = "127.0.0.1"
    port: int = 0
    tls: TlsFiles | None = None
    api_keys: tuple[str, ...] = ()
    catalogue: tuple[ModelSpec, ...] = DEFAULT_CATALOGUE
    session_lifetime: float | None = 600.0
    go_away_notice: float = 50.0
    handle_lifetime: float = 7200.0
    reply_interval: float = 0.02
    text_chunk_chars: int = 8
    audio_ms_per_char: int = 60
    audio_chunk_ms: int = 100
    setup_timeout: float = 30.0
    resume_grace: float = 1.0
    faults: tuple[FaultRule, ...] = ()
    control_api: bool = True
    limits: Limits = msgspec.field(default_factory=Limits)
    wall_clock: Callable[[], float] = time.time
    state_dir: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be 0..65535")
        for name in ("go_away_notice", "handle_lifetime", "reply_interval", "setup_timeout"):
            _check_seconds(name, getattr(self, name))
        _check_seconds("resume_grace", self.resume_grace)
        if self.session_lifetime is not None:
            _check_seconds("session_lifetime", self.session_lifetime)
            if self.session_lifetime <= 0:
                raise ValueError("session_lifetime must be > 0 (None disables it)")
        if self.text_chunk_chars < 1 or self.audio_ms_per_char < 1:
            raise ValueError("text_chunk_chars and audio_ms_per_char must be >= 1")
        if not 10 <= self.audio_chunk_ms <= 5000:
            raise ValueError("audio_chunk_ms must be 10..5000 (frames stay under 1 MiB)")
        if not self.catalogue:
            raise ValueError("the catalogue needs at least one model")
        if any(not key for key in self.api_keys):
            raise ValueError("API keys must be non-empty")

    def __repr__(self) -> str:
        # Keys are secrets: show how many, never which.
        fields: list[str] = []
        for name in self.__struct_fields__:
            value: Any = getattr(self, name)
            if name == "api_keys":
                value = f"<{len(value)} keys>"
            fields.append(f"{name}={value!r}" if name != "api_keys" else f"{name}={value}")
        return f"EmulatorConfig({', '.join(fields)})"


def _check_seconds(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0")
