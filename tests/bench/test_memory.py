"""The memory suite reads per-session memory of each contender."""

from typing import Any


def test_memory_suite_reports_per_session_memory(suites: Any) -> None:
    stdout, result = suites.result("memory")
    assert "idle KiB/session" in stdout
    rows = {row["contender"]: row for row in result["rows"]}
    assert set(rows) == {"gateway", "websockets"}
    for row in rows.values():
        assert row["sessions"] == row["connected"] == 3
        assert row["failures"] == []
        assert row["heard_model_audio"] == 3
        assert row["base_pss_mib"] > 1
        assert isinstance(row["idle_kib_per_session"], float)
        assert isinstance(row["streaming_kib_per_session"], float)
