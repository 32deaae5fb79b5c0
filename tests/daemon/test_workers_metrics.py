"""The master's /metrics: every process's exposition, each sample labelled, each family once."""

from livesvc.daemon._exposition import label_sample, merge_expositions
from livesvc.metrics import DaemonMetrics

WORKER = b"""# HELP livesvc_sessions Gateway sessions.
# TYPE livesvc_sessions gauge
livesvc_sessions{status="active"} 2.0
# HELP livesvc_up Up.
# TYPE livesvc_up gauge
livesvc_up 1.0
"""


def test_a_label_goes_first_in_braces_or_makes_them():
    assert label_sample('a{b="c d"} 1', "worker", "0") == 'a{worker="0",b="c d"} 1'
    assert label_sample("a 1 1700000000", "worker", "0") == 'a{worker="0"} 1 1700000000'
    assert label_sample("a{} 1", "worker", "0") == 'a{worker="0"} 1'


def test_families_appear_once_with_every_processs_samples():
    merged = merge_expositions([("0", WORKER), ("1", WORKER)]).decode()
    assert merged.splitlines() == [
        "# HELP livesvc_sessions Gateway sessions.",
        "# TYPE livesvc_sessions gauge",
        'livesvc_sessions{worker="0",status="active"} 2.0',
        'livesvc_sessions{worker="1",status="active"} 2.0',
        "# HELP livesvc_up Up.",
        "# TYPE livesvc_up gauge",
        'livesvc_up{worker="0"} 1.0',
        'livesvc_up{worker="1"} 1.0',
    ]


def test_a_real_daemon_exposition_merges_into_a_parseable_one():
    from prometheus_client.parser import text_string_to_metric_families

    metrics = DaemonMetrics()
    metrics.sessions_started.labels(kind="new").inc(3)
    body, _ = metrics.exposition()
    merged = merge_expositions([("0", body), ("1", body)]).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(merged)
        for s in family.samples
    }
    for worker in ("0", "1"):
        key = ("livesvc_sessions_started_total", (("kind", "new"), ("worker", worker)))
        assert samples[key] == 3.0
