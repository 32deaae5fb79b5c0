"""Runs the benchmark suites as a user does (``python -m bench.<suite>``), with tiny parameters.

The four suites start together, in parallel subprocesses, the first time a test
asks for one (they mostly wait on real time, so together they take about as long
as the slowest); each test then checks its suite's output and JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
# ``bench`` is not an installed package: importable from the repository root, as
# ``make bench`` runs it.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# relay: a 0.8 s window holds one full 800 ms talking cycle of each client, so
# every client measures a round trip whatever its phase.
SUITE_ARGS: dict[str, list[str]] = {
    "relay": [
        "--steps", "2", "--seconds", "0.8", "--lead-seconds", "0.8",
        "--contenders", "direct,gateway,websockets",
    ],
    "resume": ["--drops", "6", "--go-aways", "2", "--gateway-rounds", "1"],
    "memory": ["--sizes", "3", "--contenders", "gateway,websockets", "--settle-seconds", "0.2"],
    "soak": [
        "--minutes", "0.05", "--sessions", "2", "--fault-every", "0.4",
        "--warmup-seconds", "0.5", "--max-stall-seconds", "1",
    ],
}  # fmt: skip
_TIMEOUT = 120.0


class SuiteRuns:
    """The suites' subprocesses; ``result(name)`` waits for one: (stdout, latest JSON)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def _start_all(self) -> None:
        if self._procs:
            return
        for name, args in SUITE_ARGS.items():
            results = self._root / name
            results.mkdir()
            with open(self._root / f"{name}.out", "wb") as out:
                self._procs[name] = subprocess.Popen(
                    [sys.executable, "-m", f"bench.{name}", *args, "--results-dir", str(results)],
                    cwd=REPO,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )

    def result(self, name: str) -> tuple[str, dict[str, Any]]:
        self._start_all()
        code = self._procs[name].wait(timeout=_TIMEOUT)
        output = (self._root / f"{name}.out").read_text()
        assert code == 0, output[-4000:]
        latest = self._root / name / f"{name}-latest.json"
        return output, json.loads(latest.read_text())

    def stop(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()  # SIGTERM: the suite stops what it started
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture(scope="session")
def suites(tmp_path_factory: pytest.TempPathFactory) -> Any:
    runs = SuiteRuns(tmp_path_factory.mktemp("bench-suites"))
    yield runs
    runs.stop()


@pytest.fixture
def repo() -> Path:
    return REPO
