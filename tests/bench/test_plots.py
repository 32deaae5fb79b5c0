"""The benchmark plots render from saved results (issue 15, item 8)."""

from __future__ import annotations

import shutil
from pathlib import Path

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
