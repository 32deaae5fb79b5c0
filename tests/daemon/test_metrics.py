"""Metrics live in a registry per daemon, and the session gauge is read at scrape time."""

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from livesvc.metrics import DaemonMetrics


def samples(metrics: DaemonMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.exposition()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def test_two_daemons_do_not_share_counters_or_the_global_registry():
    a, b = DaemonMetrics(), DaemonMetrics()
    a.messages_relayed.labels(direction="client_to_upstream").inc(3)
    assert (
        samples(a)[("livesvc_messages_relayed_total", (("direction", "client_to_upstream"),))] == 3
    )
    assert (
        "livesvc_messages_relayed_total",
        (("direction", "client_to_upstream"),),
    ) not in samples(b)
    assert (
        REGISTRY.get_sample_value(
            "livesvc_messages_relayed_total", {"direction": "client_to_upstream"}
        )
        is None
    )


def test_session_gauge_reads_the_daemon_at_every_scrape():
    metrics = DaemonMetrics()
    counts = {"active": 2}
    metrics.count_sessions_with(lambda: counts)
    assert samples(metrics)[("livesvc_sessions", (("status", "active"),))] == 2
    assert samples(metrics)[("livesvc_sessions", (("status", "detached"),))] == 0
    counts["detached"] = 1
    assert samples(metrics)[("livesvc_sessions", (("status", "detached"),))] == 1
