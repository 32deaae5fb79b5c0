"""Pure pieces of the benchmarks: percentiles, the load's audio and frames, configs."""

import array
import math
from pathlib import Path

import pytest

from bench._load import CHUNK_SAMPLES, Frames, LoadResult, LoadSpec, merge_results, pcm_chunk
from bench._nginx import write_config
from bench._stats import percentile, summary
from livesvc.wire import decode_client


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 50) == 30.0
    assert percentile([10.0, 20.0], 99) == pytest.approx(19.9)
    assert percentile([], 50) is None
    assert summary([1.0, 2.0, 3.0])["n"] == 3


def test_voiced_chunks_are_loud_and_silent_chunks_are_zero() -> None:
    voiced = array.array("h", pcm_chunk(True))
    assert len(voiced) == CHUNK_SAMPLES == 640
    rms = math.sqrt(sum(s * s for s in voiced) / len(voiced))
    assert rms > 1500  # over the emulator's VAD thresholds, both sensitivities
    assert pcm_chunk(False) == bytes(1280)


def test_frames_are_live_protocol_messages() -> None:
    frames = Frames(LoadSpec(url="ws://x", clients=1, seconds=1, start_at=0))
    setup = decode_client(frames.setup).setup
    assert setup is not None
    assert setup.realtime_input_config.automatic_activity_detection.silence_duration_ms == 120
    audio = decode_client(frames.voiced).realtime_input.audio
    assert audio.mime_type == "audio/pcm;rate=16000"
    assert audio.data == pcm_chunk(True)


def test_load_spec_rejects_cycles_off_the_chunk_grid() -> None:
    with pytest.raises(ValueError, match="multiple of 40"):
        LoadSpec(url="ws://x", clients=1, seconds=1, start_at=0, speech_ms=50)
    with pytest.raises(ValueError, match="shorter than silence_ms"):
        LoadSpec(url="ws://x", clients=1, seconds=1, start_at=0, vad_silence_ms=600)


def test_results_of_several_load_processes_merge() -> None:
    one = LoadResult(clients=2, connected=2, sent=10, eos_ms=[1.0], errors={"x": 1}, max_lag_ms=3)
    two = LoadResult(clients=3, connected=2, sent=5, eos_ms=[2.0], errors={"x": 2}, max_lag_ms=9)
    merged = merge_results([one, two])
    assert (merged.clients, merged.connected, merged.sent) == (5, 4, 15)
    assert merged.eos_ms == [1.0, 2.0]
    assert merged.errors == {"x": 3}
    assert merged.max_lag_ms == 9


def test_nginx_config_keeps_every_path_in_its_directory(tmp_path: Path) -> None:
    conf = write_config(tmp_path / "ng", listen_port=18001, upstream_port=18002)
    text = conf.read_text()
    assert "listen 127.0.0.1:18001;" in text
    assert "server 127.0.0.1:18002;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    for line in text.splitlines():
        for word in line.split():
            if word.startswith("/") and len(word) > 1:
                assert word.rstrip(";").startswith(str(tmp_path)), line
