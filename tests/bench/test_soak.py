"""A seconds-long soak injects faults and still accounts for every turn exactly once."""

from pathlib import Path
from typing import Any


def test_short_soak_passes_its_assertions(results: Path, run_bench: Any) -> None:
    stdout, result = run_bench(
        "bench.soak",
        "--minutes",
        "0.05",
        "--sessions",
        "2",
        "--fault-every",
        "0.4",
        "--warmup-seconds",
        "0.5",
        "--max-stall-seconds",
        "1",
        results=results,
        timeout=90,
    )
    assert "soak PASSED" in stdout, stdout
    assert result["passed"] is True
    assert sum(result["faults_injected"].values()) >= 3
    text, audio = result["sessions"]
    assert (text["kind"], audio["kind"]) == ("text", "audio")
    assert text["emulator_turns"] == [text["turns_sent"]]
    assert text["final_turn_number"] == text["turns_sent"]
    assert text["duplicates"] == []
    assert text["unanswered"] == []
    assert text["media_dropped"] == text["media_drops_logged"]
    assert result["growth"]["checked"] is True
