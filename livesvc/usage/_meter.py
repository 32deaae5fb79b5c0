"""The meter of one session: what it spent, read from the frames the gateway relays.

Tokens come from the upstream's ``usageMetadata`` (each message counts the turn it
ends: prompt tokens in, response tokens out, split by modality from the details;
Gemini names the output ``responseTokenCount``, Vertex ``candidatesTokenCount``,
both are read). Audio seconds are the PCM the gateway relays, bytes / (rate x 2)
(16-bit mono, the rate from the ``mimeType``; 16 kHz in and 24 kHz out by
default). Turns are ``turnComplete`` messages, tool calls the calls in
``toolCall`` messages. Nothing is decoded twice: the gateway hands over the
messages it already decoded.

Example:
    >>> from livesvc.wire import ServerMessage, UsageMetadata, ModalityTokenCount
    >>> meter = UsageMeter()
    >>> meter.server_message(ServerMessage(usage_metadata=UsageMetadata(
    ...     prompt_token_count=3, candidates_token_count=5,
    ...     candidates_tokens_details=[ModalityTokenCount(modality="AUDIO", token_count=5)])))
    >>> sorted(meter.take().amounts.items())
    [('tokens.input.UNSPECIFIED', 3.0), ('tokens.output.AUDIO', 5.0)]
"""

from __future__ import annotations

import msgspec

from livesvc.session._media_buffer import pcm_seconds
from livesvc.wire import Blob, ClientMessage, ModalityTokenCount, ServerMessage, UsageMetadata

__all__ = [
    "AUDIO_IN",
    "AUDIO_OUT",
    "SESSIONS",
    "SESSION_SECONDS",
    "TOOL_CALLS",
    "TURNS",
    "UsageDelta",
    "UsageMeter",
    "token_metric",
]

# Metric names as stored (one row per day, key, profile, model and metric).
AUDIO_IN = "audio_seconds.in"
AUDIO_OUT = "audio_seconds.out"
SESSION_SECONDS = "session_seconds"
TURNS = "turns"
TOOL_CALLS = "tool_calls"
SESSIONS = "sessions"
_DEFAULT_RATE = {"in": 16000, "out": 24000}


def token_metric(direction: str, modality: str) -> str:
    """``tokens.input.TEXT``: the stored name of a token count."""
    return f"tokens.{direction}.{modality}"


class UsageDelta(msgspec.Struct, frozen=True):
    """What a session spent since the last :meth:`UsageMeter.take`."""

    amounts: dict[str, float]

    @property
    def tokens(self) -> float:
        return sum(v for k, v in self.amounts.items() if k.startswith("tokens."))

    @property
    def audio_seconds(self) -> float:
        return self.amounts.get(AUDIO_IN, 0.0) + self.amounts.get(AUDIO_OUT, 0.0)


def _pcm_seconds(blob: Blob, direction: str) -> float:
    """Seconds of 16-bit mono PCM in ``blob`` (0 for anything but ``audio/pcm``)."""
    mime = blob.mime_type or ""
    if not blob.data or not mime.startswith("audio/pcm"):
        return 0.0
    return pcm_seconds(blob.data, mime, default_rate=_DEFAULT_RATE[direction])


class UsageMeter:
    """Folds one session's frames into amounts; :meth:`take` hands over what is new."""

    __slots__ = ("_pending", "totals")

    def __init__(self) -> None:
        self._pending: dict[str, float] = {}
        self.totals: dict[str, float] = {}

    def _add(self, metric: str, amount: float) -> None:
        if amount:
            self._pending[metric] = self._pending.get(metric, 0.0) + amount
            self.totals[metric] = self.totals.get(metric, 0.0) + amount

    def client_message(self, msg: ClientMessage) -> None:
        """A message the client sent upstream: its audio counts as audio in."""
        realtime = msg.realtime_input
        if realtime is None:
            return
        if realtime.audio is not None:
            self._add(AUDIO_IN, _pcm_seconds(realtime.audio, "in"))
        for blob in realtime.media_chunks or ():
            self._add(AUDIO_IN, _pcm_seconds(blob, "in"))

    def server_message(self, msg: ServerMessage) -> None:
        """A message the upstream sent: tokens, audio out, turns and tool calls."""
        if msg.usage_metadata is not None:
            self._tokens(msg.usage_metadata)
        content = msg.server_content
        if content is not None:
            if content.model_turn is not None:
                for part in content.model_turn.parts or ():
                    if part.inline_data is not None:
                        self._add(AUDIO_OUT, _pcm_seconds(part.inline_data, "out"))
            if content.turn_complete:
                self._add(TURNS, 1)
        if msg.tool_call is not None:
            self._add(TOOL_CALLS, len(msg.tool_call.function_calls or ()))

    def session_seconds(self, seconds: float) -> None:
        """Time the session was open (counted when it ends, or at a flush)."""
        self._add(SESSION_SECONDS, seconds)

    def session_started(self) -> None:
        self._add(SESSIONS, 1)

    def take(self) -> UsageDelta:
        """What is new since the last call (then nothing is pending)."""
        delta, self._pending = self._pending, {}
        return UsageDelta(delta)

    def _tokens(self, usage: UsageMetadata) -> None:
        self._split("input", usage.prompt_token_count, usage.prompt_tokens_details)
        self._split("output", usage.output_token_count, usage.output_tokens_details)

    def _split(
        self, direction: str, total: int | None, details: list[ModalityTokenCount] | None
    ) -> None:
        counted = 0
        for detail in details or ():
            count = detail.token_count or 0
            counted += count
            self._add(token_metric(direction, detail.modality or "UNSPECIFIED"), count)
        rest = (total or 0) - counted
        if rest > 0:  # a total without (complete) details
            self._add(token_metric(direction, "UNSPECIFIED"), rest)
