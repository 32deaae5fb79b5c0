"""Realtime media buffered while the session has no connection.

Audio and video are time-sensitive: a few seconds of microphone audio from the
reconnect gap are worth sending (the user spoke during it), a minute of it is
not. While disconnected, chunks wait here up to a bounded duration; when the
bound is exceeded the oldest chunks are dropped first, and every drop is counted
(:attr:`MediaBuffer.stats`) and logged.

Control signals (``activityStart``, ``activityEnd``, ``audioStreamEnd``) are
never dropped: losing one would leave the server's turn detection in a wrong
state. They are tiny and keep their place in the order.

Example::

    buf = MediaBuffer(max_seconds=2.0)
    buf.push(chunk, kind=MediaKind.AUDIO, seconds=pcm_seconds(data, "audio/pcm;rate=16000"))
    for message in buf.drain():     # on reconnect, oldest first
        ...
"""

from __future__ import annotations

import enum
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from livesvc.logs import get_logger

__all__ = ["MediaBuffer", "MediaDropStats", "MediaKind", "pcm_seconds"]

log = get_logger(__name__)

M = TypeVar("M")

_RATE = re.compile(r"rate=(\d+)", re.IGNORECASE)
_DEFAULT_PCM_RATE = 16_000


class MediaKind(enum.Enum):
    """How a buffered realtime message is bounded."""

    AUDIO = "audio"  # bounded by its duration
    VIDEO = "video"  # bounded by a frame count
    CONTROL = "control"  # never dropped


def pcm_seconds(
    data: bytes, mime_type: str | None, *, default_rate: int = _DEFAULT_PCM_RATE
) -> float:
    """Duration of 16-bit mono PCM ``data`` at the rate named in ``mime_type``.

    ``default_rate`` applies when the mime type names none (16 kHz, the input
    rate; the model speaks at 24 kHz). The rate is parsed once per mime type:
    this runs for every audio chunk a session or the gateway's meter sees.

    >>> pcm_seconds(b"\\x00" * 32000, "audio/pcm;rate=16000")
    1.0
    >>> pcm_seconds(b"\\x00" * 48000, "audio/pcm;rate=24000")
    1.0
    >>> pcm_seconds(b"\\x00" * 48000, "audio/pcm", default_rate=24000)
    1.0
    """
    key = (mime_type or "", default_rate)
    rate = _RATES.get(key)
    if rate is None:
        match = _RATE.search(key[0])
        rate = int(match.group(1)) if match else default_rate
        if len(_RATES) < _RATES_KEPT:  # a handful of mime types in practice; bounded anyway
            _RATES[key] = rate
    return len(data) / (2 * rate) if rate > 0 else 0.0


_RATES: dict[tuple[str, int], int] = {}
_RATES_KEPT = 64


@dataclass
class MediaDropStats:
    """Counters of what the buffer dropped over the session's life."""

    audio_chunks: int = 0
    audio_seconds: float = 0.0
    video_frames: int = 0
    by_flush: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every dropped message, audio and video."""
        return self.audio_chunks + self.video_frames


@dataclass
class _Item(Generic[M]):
    message: M
    kind: MediaKind
    seconds: float


class MediaBuffer(Generic[M]):
    """A drop-oldest buffer bounded by audio duration and video frame count.

    Args:
        max_seconds: the most audio kept, in seconds of media.
        max_frames: the most video frames kept.
    """

    def __init__(self, *, max_seconds: float = 5.0, max_frames: int = 10) -> None:
        if max_seconds < 0 or max_frames < 0:
            raise ValueError("media buffer bounds must be >= 0")
        self._max_seconds = max_seconds
        self._max_frames = max_frames
        self._items: deque[_Item[M]] = deque()
        self._audio_seconds = 0.0
        self._frames = 0
        self._dropped_since_drain = 0
        self.stats = MediaDropStats()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def buffered_seconds(self) -> float:
        """Seconds of audio currently held."""
        return self._audio_seconds

    def push(self, message: M, *, kind: MediaKind, seconds: float = 0.0) -> int:
        """Keep ``message``; drop the oldest media if a bound is exceeded.

        Returns the number of messages dropped by this push (possibly the new
        one itself, when a single chunk is longer than the whole bound).
        """
        self._items.append(_Item(message, kind, seconds if kind is MediaKind.AUDIO else 0.0))
        if kind is MediaKind.AUDIO:
            self._audio_seconds += seconds
        elif kind is MediaKind.VIDEO:
            self._frames += 1
        dropped = self._enforce()
        if dropped:
            if self._dropped_since_drain == 0:
                log.warning(
                    "session.media_dropping",
                    max_seconds=self._max_seconds,
                    max_frames=self._max_frames,
                )
            self._dropped_since_drain += dropped
            log.debug(
                "session.media_dropped",
                dropped=dropped,
                total_dropped=self.stats.total,
                dropped_audio_seconds=round(self.stats.audio_seconds, 3),
            )
        return dropped

    def drain(self) -> list[M]:
        """Take everything, oldest first, and log what was dropped since the last drain."""
        out = [item.message for item in self._items]
        self._items.clear()
        self._audio_seconds = 0.0
        self._frames = 0
        if self._dropped_since_drain:
            log.warning(
                "session.media_buffer_flushed",
                sent=len(out),
                dropped=self._dropped_since_drain,
                total_dropped=self.stats.total,
                dropped_audio_seconds=round(self.stats.audio_seconds, 3),
            )
            self.stats.by_flush.append(self._dropped_since_drain)
        self._dropped_since_drain = 0
        return out

    def _enforce(self) -> int:
        dropped = 0
        # Float sums drift; a microsecond of slack keeps exact-fit chunks.
        while self._audio_seconds > self._max_seconds + 1e-6:
            dropped += self._drop_oldest(MediaKind.AUDIO)
        while self._frames > self._max_frames:
            dropped += self._drop_oldest(MediaKind.VIDEO)
        return dropped

    def _drop_oldest(self, kind: MediaKind) -> int:
        for item in self._items:
            if item.kind is kind:
                self._items.remove(item)
                if kind is MediaKind.AUDIO:
                    self._audio_seconds -= item.seconds
                    self.stats.audio_chunks += 1
                    self.stats.audio_seconds += item.seconds
                else:
                    self._frames -= 1
                    self.stats.video_frames += 1
                return 1
        raise AssertionError("media buffer accounting out of sync")  # pragma: no cover
