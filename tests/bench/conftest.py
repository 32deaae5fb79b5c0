"""Runs the benchmark suites as a user does (``python -m bench...``), with tiny parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
# ``bench`` is not an installed package: importable from the repository root, as
# ``make bench`` runs it.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RunBench = Callable[..., tuple[str, dict[str, Any]]]


def _run_bench(
    module: str, *args: str, results: Path, timeout: float = 60
) -> tuple[str, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", module, *args, "--results-dir", str(results)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    suite = module.rsplit(".", 1)[-1]
    return done.stdout, json.loads((results / f"{suite}-latest.json").read_text())


@pytest.fixture
def run_bench() -> RunBench:
    """``run_bench(module, *args, results=dir)``: run a suite; its stdout and latest JSON."""
    return _run_bench


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return tmp_path / "results"


@pytest.fixture
def repo() -> Path:
    return REPO
