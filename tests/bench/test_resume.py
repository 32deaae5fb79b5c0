"""The resume suite times drops and goAway handovers and checks exactly-once replies."""

from typing import Any


def test_resume_suite_times_each_drop_and_handover(suites: Any) -> None:
    stdout, result = suites.result("resume")
    assert "resume p99 (drop -> ledger flushed and answered)" in stdout
    assert set(result["drops"]) == {"default", "immediate_first_retry"}
    for found in result["drops"].values():
        assert found["rounds"] == 6  # two halves of 3, alternating the policies
        assert found["wrong_reply"] == 0
        resumed, answered, covered = (found[k] for k in ("resumed_ms", "answered_ms", "covered_ms"))
        assert resumed["n"] == answered["n"] == covered["n"] == 6
        # ordered by construction: resumed, then the replay answered, then covered
        assert 0 < resumed["p50"] <= answered["p50"] <= covered["p50"]
    go_away = result["go_away"]
    assert go_away["rounds"] == 2
    assert go_away["handovers"] == 2
    assert go_away["gap_ms"]["p50"] > 0
    gateway = result["gateway"]  # the same faults behind livesvc serve, as its client sees them
    assert gateway["status"] == "ok"
    assert gateway["rounds"] == 1
    for key in ("baseline_turn_ms", "drop_to_answer_ms", "go_away_turn_ms"):
        assert gateway[key]["n"] == 1
        assert gateway[key]["p50"] > 0
