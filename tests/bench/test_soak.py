"""A seconds-long soak injects faults and still accounts for every turn exactly once."""

from typing import Any


def test_short_soak_passes_its_assertions(suites: Any) -> None:
    stdout, result = suites.result("soak")
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
