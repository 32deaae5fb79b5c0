"""A suite stopped with SIGTERM stops every process it started."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path


def _marked(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ:
            found.append(int(entry))
    return found


def test_sigterm_stops_the_servers_a_suite_started(repo: Path) -> None:
    marker = f"LIVESVC_BENCH_TEST_MARKER={uuid.uuid4().hex}"
    name, value = marker.split("=")
    suite = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.memory",
            "--sizes",
            "2",
            "--contenders",
            "websockets",
            "--settle-seconds",
            "30",
            "--no-write",
        ],
        cwd=repo,
        env={**os.environ, name: value},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while len(_marked(marker)) < 3 and time.monotonic() < deadline:  # suite, upstream, relay
            time.sleep(0.05)
        assert len(_marked(marker)) >= 3
        suite.send_signal(signal.SIGTERM)
        suite.wait(timeout=20)
        deadline = time.monotonic() + 10
        while _marked(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _marked(marker) == []
    finally:
        for pid in _marked(marker):
            os.kill(pid, signal.SIGKILL)
        if suite.poll() is None:
            suite.kill()
