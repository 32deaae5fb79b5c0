"""The benchmark plots render from saved results (issue 15, item 8)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench._plots import plot_file

FIXTURES = Path(__file__).parent / "fixtures"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("suite", "pictures"),
    [
        ("relay", ["relay-latency.png", "relay-cpu.png"]),
        ("memory", ["memory-memory.png"]),
        ("soak", ["soak-timeline.png"]),
    ],
)
def test_each_suite_draws_its_plots_beside_the_json(
    tmp_path: Path, suite: str, pictures: list[str]
) -> None:
    saved = tmp_path / f"{suite}.json"
    shutil.copy(FIXTURES / f"{suite}.json", saved)
    written = plot_file(saved)
    assert sorted(p.name for p in written) == sorted(pictures)
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG)
        assert len(data) > 5_000  # axes, lines and labels, not an empty canvas


def test_the_documented_command_redraws_a_saved_result(tmp_path: Path) -> None:
    """``python -m bench._plots FILE.json``, as the docs say, from the repository root."""
    saved = tmp_path / "soak-latest.json"
    shutil.copy(FIXTURES / "soak.json", saved)
    done = subprocess.run(
        [sys.executable, "-m", "bench._plots", str(saved)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    picture = tmp_path / "soak-latest-timeline.png"
    assert done.stdout.split() == [str(picture)]
    assert picture.read_bytes().startswith(PNG)


def test_a_real_soaks_timeline_counts_reconnects_as_they_happen(suites: Any) -> None:
    """The timeline the soak plot draws: faults, reconnects and turns, cumulative, live."""
    _, result = suites.result("soak")
    timeline = result["timeline"]
    cuts = sum(result["faults_injected"].get(k, 0) for k in ("drop", "close_1011"))
    assert cuts >= 1  # the seeded short soak of conftest cuts connections
    for name in ("faults", "reconnects", "turns"):
        values = [point[name] for point in timeline]
        assert values == sorted(values), name  # cumulative
    # Every cut connection is dialled again; a session's stats arrive only when it ends,
    # so a timeline read from them would stay at 0.
    assert max(point["reconnects"] for point in timeline) >= 1
    assert max(point["turns"] for point in timeline) >= 1
