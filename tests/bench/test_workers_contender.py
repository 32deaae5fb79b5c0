"""The ``gateway-workers`` contender: ``livesvc serve`` with two workers on one port, in relay and memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_suite(tmp_path: Path, suite: str, *args: str) -> dict:
    results = tmp_path / suite
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{suite}", *args, "--results-dir", str(results)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return json.loads((results / f"{suite}-latest.json").read_text())


def test_relay_measures_two_workers_beside_one(tmp_path: Path) -> None:
    result = run_suite(
        tmp_path,
        "relay",
        *("--steps", "2", "--seconds", "0.8", "--lead-seconds", "0.8"),
        *("--contenders", "direct,gateway,gateway-workers"),
    )
    summary = {row["contender"]: row for row in result["summary"]}
    assert summary["gateway-workers"]["status"] == "ok"
    runs = [r for r in result["runs"] if r["contender"] == "gateway-workers"]
    assert len(runs) == 1
    assert runs[0]["connected"] == runs[0]["clients"] == 2, runs[0]["errors"]
    assert runs[0]["errors"] == {}
    assert runs[0]["audio_seconds_down_per_second"] > 0  # the model's audio came through
    # The CPU charged is the master's process group: the workers relay, so it is not zero.
    assert summary["gateway-workers"]["relay_cpu_us_per_message"] > 0


def test_memory_measures_two_workers(tmp_path: Path) -> None:
    result = run_suite(
        tmp_path,
        "memory",
        *("--sizes", "3", "--contenders", "gateway-workers", "--settle-seconds", "0.2"),
    )
    rows = [r for r in result["rows"] if r["contender"] == "gateway-workers"]
    assert len(rows) == 1
    assert rows[0]["idle_kib_per_session"] is not None
