"""The relay suite measures every contender against direct, and says when one is missing."""

from typing import Any

from bench import relay
from bench.relay import CONTENDERS


def test_relay_suite_measures_each_contender_against_direct(suites: Any) -> None:
    stdout, result = suites.result("relay")
    assert "relay at N=2 clients" in stdout
    assert result["suite"] == "relay"
    summary = {row["contender"]: row for row in result["summary"]}
    assert set(summary) == {"direct", "gateway", "websockets"}
    assert summary["direct"]["added_p99_ms"] == 0.0
    for row in result["runs"]:
        assert row["connected"] == row["clients"] == 2, row["errors"]
        assert row["errors"] == {}
        assert row["rtt_ms"]["n"] > 0
        assert row["rtt_ms"]["p50"] > 0
        assert row["messages_per_second"] > 0
        assert row["audio_seconds_down_per_second"] > 0  # model audio came back
    for name in ("gateway", "websockets"):
        row = summary[name]
        assert row["status"] == "ok"
        assert row["added_p50_ms"] is not None
        assert row["relay_cpu_us_per_message"] > 0
        assert row["capacity_clients"] == 2  # the only step; search ended there
        assert row["capacity_bound"] == "at least (search ended)"
    ratios = result["ratios"]
    assert ratios["capacity_gateway_over_websockets"] == 1.0  # both held the only step
    assert ratios["capacity_ratio_bound"] == "unknown"  # neither search reached its end
    assert ratios["cpu_per_message_websockets_over_gateway"] > 0


def test_every_known_contender_has_a_starter() -> None:
    assert CONTENDERS == (
        "direct",
        "gateway",
        "gateway-unmetered",
        "gateway-workers",
        "websockets",
        "nginx",
        "trio-websocket",
    )
    assert set(relay._PLAIN_RELAYS) == {"websockets", "trio-websocket"}
