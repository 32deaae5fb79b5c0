"""Energy-based voice activity detection on 16-bit little-endian mono PCM.

Deterministic and documented, so tests can build audio that starts and ends speech
exactly where they want: audio is cut into 10 ms frames; a frame is *voiced* when its
RMS amplitude reaches the start-sensitivity threshold. Speech starts after
``prefix_padding_ms`` of consecutive voiced audio (the start is the first voiced
frame) and ends after ``silence_duration_ms`` of consecutive unvoiced audio; the
turn's duration runs from the first to the last voiced frame.

=====================  ==================================================
setting                 value
=====================  ==================================================
START_SENSITIVITY_HIGH  RMS >= 300 is voiced (Gemini API default)
START_SENSITIVITY_LOW   RMS >= 1500 is voiced (Vertex default)
END_SENSITIVITY_HIGH    silence of 500 ms ends speech (Gemini API default)
END_SENSITIVITY_LOW     silence of 1000 ms ends speech (Vertex default)
prefix_padding_ms       default 20 ms
silence_duration_ms     overrides the end-sensitivity silence
=====================  ==================================================
"""

from __future__ import annotations

import array
import math
import sys

import msgspec

from livesvc.emulator._catalogue import VERTEX
from livesvc.wire import AutomaticActivityDetection, EndSensitivity, StartSensitivity

__all__ = ["EnergyVad", "SpeechEnded", "SpeechStarted", "VadSettings", "pcm_rate"]

FRAME_MS = 10
_HIGH_THRESHOLD = 300
_LOW_THRESHOLD = 1500
_HIGH_SILENCE_MS = 500
_LOW_SILENCE_MS = 1000
_DEFAULT_PREFIX_MS = 20


class VadSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Resolved detection settings of one session."""

    threshold: int = _HIGH_THRESHOLD
    prefix_ms: int = _DEFAULT_PREFIX_MS
    silence_ms: int = _HIGH_SILENCE_MS

    @classmethod
    def from_setup(cls, config: AutomaticActivityDetection | None, backend: str) -> VadSettings:
        """Settings from ``realtimeInputConfig.automaticActivityDetection``.

        >>> VadSettings.from_setup(None, "gemini")
        VadSettings(threshold=300, prefix_ms=20, silence_ms=500)
        """
        config = config or AutomaticActivityDetection()
        start = config.start_of_speech_sensitivity or StartSensitivity.UNSPECIFIED
        end = config.end_of_speech_sensitivity or EndSensitivity.UNSPECIFIED
        low_start = start == StartSensitivity.LOW or (
            start == StartSensitivity.UNSPECIFIED and backend == VERTEX
        )
        low_end = end == EndSensitivity.LOW or (
            end == EndSensitivity.UNSPECIFIED and backend == VERTEX
        )
        silence = config.silence_duration_ms
        prefix = config.prefix_padding_ms
        return cls(
            threshold=_LOW_THRESHOLD if low_start else _HIGH_THRESHOLD,
            prefix_ms=max(0, prefix) if prefix is not None else _DEFAULT_PREFIX_MS,
            silence_ms=max(FRAME_MS, silence)
            if silence is not None and silence > 0
            else (_LOW_SILENCE_MS if low_end else _HIGH_SILENCE_MS),
        )


class SpeechStarted(msgspec.Struct, frozen=True):
    """Speech began ``at_ms`` into the audio stream."""

    at_ms: int


class SpeechEnded(msgspec.Struct, frozen=True):
    """Speech ended; it lasted ``duration_ms`` (first to last voiced frame)."""

    duration_ms: int


def pcm_rate(mime_type: str | None, default: int = 16000) -> int:
    """The sample rate in an ``audio/pcm;rate=N`` mime type.

    >>> pcm_rate("audio/pcm;rate=24000"), pcm_rate("audio/pcm")
    (24000, 16000)
    """
    for parameter in (mime_type or "").split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "rate" and value.isdigit() and 1000 <= int(value) <= 192000:
            return int(value)
    return default


class EnergyVad:
    """Feeds PCM, reports speech start and end (see the module docstring).

    Example:
        >>> vad = EnergyVad(VadSettings(silence_ms=100))
        >>> loud = array.array("h", [3000, -3000] * 800).tobytes()     # 100 ms
        >>> vad.feed(loud, 16000)
        [SpeechStarted(at_ms=0)]
        >>> vad.feed(bytes(3200), 16000)                                 # 100 ms of silence
        [SpeechEnded(duration_ms=100)]
    """

    def __init__(self, settings: VadSettings) -> None:
        self.settings = settings
        self._pending = b""
        self._rate = 16000
        self._position_ms = 0  # audio received so far, in whole frames
        self._voiced_run_ms = 0
        self._silent_run_ms = 0
        self._speech_start_ms: int | None = None
        self._last_voiced_end_ms = 0

    @property
    def in_speech(self) -> bool:
        """Whether speech has started and not ended."""
        return self._speech_start_ms is not None

    def feed(self, pcm: bytes, rate: int) -> list[SpeechStarted | SpeechEnded]:
        """Process audio; returns the speech boundaries it crossed, in order."""
        if rate != self._rate:
            self._rate, self._pending = rate, b""
        frame_bytes = rate * FRAME_MS // 1000 * 2
        data = self._pending + pcm
        events: list[SpeechStarted | SpeechEnded] = []
        offset = 0
        while len(data) - offset >= frame_bytes:
            frame = data[offset : offset + frame_bytes]
            offset += frame_bytes
            event = self._frame(_rms(frame) >= self.settings.threshold)
            if event is not None:
                events.append(event)
        self._pending = data[offset:]
        return events

    def end_of_stream(self) -> SpeechEnded | None:
        """The audio stream paused (``audioStreamEnd``, or no audio for a while)."""
        self._pending = b""
        return self._finish()

    def _frame(self, voiced: bool) -> SpeechStarted | SpeechEnded | None:
        self._position_ms += FRAME_MS
        if voiced:
            self._voiced_run_ms += FRAME_MS
            self._silent_run_ms = 0
            if self.in_speech:
                self._last_voiced_end_ms = self._position_ms
                return None
            if self._voiced_run_ms >= max(self.settings.prefix_ms, FRAME_MS):
                first = self._position_ms - self._voiced_run_ms
                self._speech_start_ms = first
                self._last_voiced_end_ms = self._position_ms
                return SpeechStarted(at_ms=first)
            return None
        self._voiced_run_ms = 0
        if not self.in_speech:
            return None
        self._silent_run_ms += FRAME_MS
        if self._silent_run_ms >= self.settings.silence_ms:
            return self._finish()
        return None

    def _finish(self) -> SpeechEnded | None:
        if self._speech_start_ms is None:
            self._voiced_run_ms = 0
            return None
        duration = self._last_voiced_end_ms - self._speech_start_ms
        self._speech_start_ms = None
        self._voiced_run_ms = 0
        self._silent_run_ms = 0
        return SpeechEnded(duration_ms=duration)


def _rms(frame: bytes) -> float:
    samples = array.array("h")
    samples.frombytes(frame)
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))
