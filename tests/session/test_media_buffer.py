"""Realtime media buffered while disconnected: bounded, drop-oldest, every drop counted and logged."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from livesvc.session._media_buffer import MediaBuffer, MediaKind, pcm_seconds

SECOND_16K = b"\x00\x01" * 16000  # one second of 16 kHz 16-bit mono PCM


def test_pcm_seconds_reads_the_rate_from_the_mime_type() -> None:
    """Chunk durations follow the declared sample rate, 16 kHz when none is given."""
    assert pcm_seconds(SECOND_16K, "audio/pcm;rate=16000") == 1.0
    assert pcm_seconds(SECOND_16K, "audio/pcm;rate=32000") == 0.5
    assert pcm_seconds(SECOND_16K, "audio/pcm") == 1.0
    assert pcm_seconds(SECOND_16K, None) == 1.0


def test_keeps_everything_within_the_bound_in_order() -> None:
    """Below the bound nothing is dropped and order is preserved."""
    buf: MediaBuffer[str] = MediaBuffer(max_seconds=3.0)
    for name in ("a1", "a2", "a3"):
        assert buf.push(name, kind=MediaKind.AUDIO, seconds=1.0) == 0
    assert buf.buffered_seconds == pytest.approx(3.0)
    assert buf.drain() == ["a1", "a2", "a3"]
    assert len(buf) == 0
    assert buf.stats.total == 0


def test_drops_oldest_audio_and_counts_it() -> None:
    """Past the duration bound the oldest audio goes first; counters add up."""
    buf: MediaBuffer[str] = MediaBuffer(max_seconds=2.0)
    for i in range(5):
        buf.push(f"a{i}", kind=MediaKind.AUDIO, seconds=1.0)
    assert buf.drain() == ["a3", "a4"]
    assert buf.stats.audio_chunks == 3
    assert buf.stats.audio_seconds == pytest.approx(3.0)
    assert buf.stats.by_flush == [3]


def test_control_signals_are_never_dropped_and_keep_their_place() -> None:
    """activityStart/End survive even when all the audio around them is dropped."""
    buf: MediaBuffer[str] = MediaBuffer(max_seconds=1.0)
    buf.push("start", kind=MediaKind.CONTROL)
    for i in range(3):
        buf.push(f"a{i}", kind=MediaKind.AUDIO, seconds=1.0)
    buf.push("end", kind=MediaKind.CONTROL)
    assert buf.drain() == ["start", "a2", "end"]


def test_video_bounded_by_frame_count_independently_of_audio() -> None:
    """Video frames have their own bound; dropping them never touches audio."""
    buf: MediaBuffer[str] = MediaBuffer(max_seconds=10.0, max_frames=2)
    buf.push("a0", kind=MediaKind.AUDIO, seconds=1.0)
    for i in range(4):
        buf.push(f"v{i}", kind=MediaKind.VIDEO)
    assert buf.drain() == ["a0", "v2", "v3"]
    assert buf.stats.video_frames == 2
    assert buf.stats.audio_chunks == 0


def test_a_chunk_longer_than_the_bound_drops_itself() -> None:
    """A single chunk over the bound cannot be kept; it is counted as dropped."""
    buf: MediaBuffer[str] = MediaBuffer(max_seconds=0.5)
    assert buf.push("big", kind=MediaKind.AUDIO, seconds=1.0) == 1
    assert buf.drain() == []
    assert buf.stats.audio_chunks == 1


def test_drops_are_logged_once_when_they_start_and_summarised_at_flush() -> None:
    """A warning when dropping starts, and one summary with the count when the buffer drains."""
    buf: MediaBuffer[str] = MediaBuffer(max_seconds=1.0)
    with capture_logs() as logs:
        for i in range(4):
            buf.push(f"a{i}", kind=MediaKind.AUDIO, seconds=1.0)
        buf.drain()
    warnings = [(e["event"], e.get("dropped")) for e in logs if e["log_level"] == "warning"]
    assert warnings == [("session.media_dropping", None), ("session.media_buffer_flushed", 3)]


def test_rejects_negative_bounds() -> None:
    """A negative bound is a configuration error, reported at once."""
    with pytest.raises(ValueError, match=">= 0"):
        MediaBuffer(max_seconds=-1)
