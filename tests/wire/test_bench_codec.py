"""The codec benchmark runs, checks it compares like with like, and writes its results."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_codec_suite_prints_the_ratio_and_writes_json(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--only",
            "codec",
            "--quick",
            "--results-dir",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "codec ratio (SDK time / ours, same run)" in done.stdout
    latest = json.loads((tmp_path / "codec-latest.json").read_text())
    stamped = [p for p in tmp_path.glob("codec-*.json") if p.name != "codec-latest.json"]
    assert len(stamped) == 1
    assert json.loads(stamped[0].read_text()) == latest
    cases = {(row["case"], row["op"]) for row in latest["rows"]}
    assert {
        ("audio_up", "encode"),
        ("audio_up", "decode"),
        ("audio_down", "decode"),
        ("tool_call", "decode"),
        ("usage", "decode"),
    } <= cases
    compared = [row for row in latest["rows"] if row["sdk_us"] is not None]
    for row in compared:
        assert row["ratio"] == pytest.approx(row["sdk_us"] / row["ours_us"], rel=0.01)
    assert latest["summary"]["mix_ratio"] > 0


def test_unknown_suite_is_rejected() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "nope"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid choice" in done.stderr
