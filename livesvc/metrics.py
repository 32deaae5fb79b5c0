"""The daemon's Prometheus metrics, in a registry of its own (never the global default).

One :class:`DaemonMetrics` per daemon, so two daemons in one process (tests)
never share counters. Every name starts with ``livesvc_``; label values come
from small fixed sets (directions, reasons, outcomes, configured tool names),
never from session ids or client input.

Example::

    metrics = DaemonMetrics()
    metrics.messages_relayed.labels(direction="client_to_upstream").inc()
    body, content_type = metrics.exposition()
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["SESSION_STATUSES", "DaemonMetrics", "register_process_metrics"]

# Prometheus conventions: no ``*_created`` series beside every counter (they
# double the series and dashboards never use them).
disable_created_metrics()

SESSION_STATUSES = ("active", "detached", "closing")

# Handover gaps and tool calls: from a few milliseconds to a minute.
_GAP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


def register_process_metrics(registry: CollectorRegistry) -> Gauge:
    """Add what describes a process to ``registry``; returns its ``livesvc_build_info``.

    ``process_*`` (CPU, memory, file descriptors, start time), ``python_info`` and
    ``livesvc_build_info``. Every process exports them, a single daemon or the master
    and each worker, so a dashboard finds them whatever the worker count.

    Example::

        register_process_metrics(CollectorRegistry())
    """
    from livesvc import __version__  # the package imports this module first

    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    build_info = Gauge(
        "livesvc_build_info",
        "Always 1; the labels say which livesvc and Python this is.",
        ["version", "python"],
        registry=registry,
    )
    build_info.labels(version=__version__, python=platform.python_version()).set(1)
    return build_info


class _SessionsByStatus(Collector):
    """``livesvc_sessions{status}``, read from the daemon at scrape time (never drifts)."""

    def __init__(self) -> None:
        self.source: Callable[[], Mapping[str, int]] = dict

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "livesvc_sessions", "Gateway sessions by status.", labels=["status"]
        )
        counts = self.source()
        for status in SESSION_STATUSES:
            family.add_metric([status], counts.get(status, 0))
        yield family


class DaemonMetrics:
    """Every metric the daemon exports.

    Attributes:
        registry: the registry ``/metrics`` renders.
        client_connections: handshakes by ``result`` (accepted, rejected_auth, rejected_limit, bad_setup, ...).
        client_closes: client connections closed, by WebSocket ``code``.
        sessions_started: sessions opened, by ``kind`` (new, client_resume, restored).
        sessions_closed: sessions ended, by ``reason``.
        upstream_reconnects: upstream re-dials, by ``reason`` (drop, go_away, ...).
        upstream_resumes: upstream resumes with a handle, by ``reason``.
        handover_gap: seconds without an upstream between two connections.
        messages_relayed: messages by ``direction`` (client_to_upstream, upstream_to_client).
        bytes_relayed: frame bytes by ``direction``.
        tool_calls: tool calls by ``tool``, ``runner`` (daemon, client) and ``outcome``.
        tool_duration: seconds a daemon tool took, by ``tool``.
        first_response_latency: seconds from a client's turn to the first model output.
        errors: errors by ``kind``.
        media_dropped: realtime media chunks dropped while disconnected, by ``kind``.
        config_reloads: SIGHUP reloads by ``result`` (applied, rejected).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self._sessions = _SessionsByStatus()
        r.register(self._sessions)
        self.build_info = register_process_metrics(r)
        self.client_connections = Counter(
            "livesvc_client_connections",
            "Client WebSocket handshakes, by result.",
            ["result"],
            registry=r,
        )
        self.client_closes = Counter(
            "livesvc_client_closes",
            "Client connections closed, by close code.",
            ["code"],
            registry=r,
        )
        self.sessions_started = Counter(
            "livesvc_sessions_started", "Sessions opened, by kind.", ["kind"], registry=r
        )
        self.sessions_closed = Counter(
            "livesvc_sessions_closed", "Sessions ended, by reason.", ["reason"], registry=r
        )
        self.upstream_reconnects = Counter(
            "livesvc_upstream_reconnects",
            "Upstream connections re-dialled, by reason.",
            ["reason"],
            registry=r,
        )
        self.upstream_auth_failures = Counter(
            "livesvc_upstream_auth_failures",
            "Upstream sessions refused because Google did not accept the daemon's own credential.",
            registry=r,
        )
        self.upstream_resumes = Counter(
            "livesvc_upstream_resumes",
            "Upstream sessions resumed with a handle, by reason.",
            ["reason"],
            registry=r,
        )
        self.handover_gap = Histogram(
            "livesvc_handover_gap_seconds",
            "Time without an upstream connection between two connections of a session.",
            buckets=_GAP_BUCKETS,
            registry=r,
        )
        self.messages_relayed = Counter(
            "livesvc_messages_relayed", "Messages relayed, by direction.", ["direction"], registry=r
        )
        self.bytes_relayed = Counter(
            "livesvc_bytes_relayed", "Frame bytes relayed, by direction.", ["direction"], registry=r
        )
        self.tool_calls = Counter(
            "livesvc_tool_calls",
            "Tool calls, by tool, where they ran and outcome.",
            ["tool", "runner", "outcome"],
            registry=r,
        )
        self.tool_duration = Histogram(
            "livesvc_tool_duration_seconds",
            "Time a daemon tool took.",
            ["tool"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.first_response_latency = Histogram(
            "livesvc_first_response_latency_seconds",
            "Time from a client's turn to the first model output relayed back.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter("livesvc_errors", "Errors, by kind.", ["kind"], registry=r)
        self.usage_tokens = Counter(
            "livesvc_usage_tokens",
            "Tokens the upstream reported, by key, profile, model, direction and modality.",
            ["key", "profile", "model", "direction", "modality"],
            registry=r,
        )
        self.usage_audio_seconds = Counter(
            "livesvc_usage_audio_seconds",
            "Seconds of PCM audio relayed, by key, profile and direction (in, out).",
            ["key", "profile", "direction"],
            registry=r,
        )
        self.usage_session_seconds = Counter(
            "livesvc_usage_session_seconds",
            "Seconds sessions were open, by key and profile.",
            ["key", "profile"],
            registry=r,
        )
        self.budget_exceeded = Counter(
            "livesvc_budget_exceeded",
            "Budgets found spent, by key, budget and what followed (refused, warned, closed).",
            ["key", "budget", "action"],
            registry=r,
        )
        self.context_lost = Counter(
            "livesvc_context_lost",
            "Conversations the upstream lost, by outcome (failed, reseeded, continued).",
            ["outcome"],
            registry=r,
        )
        self.media_dropped = Counter(
            "livesvc_media_dropped",
            "Realtime media chunks dropped while the upstream was away, by kind.",
            ["kind"],
            registry=r,
        )
        self.config_reloads = Counter(
            "livesvc_config_reloads", "Configuration reloads, by result.", ["result"], registry=r
        )
        self.ready = Gauge("livesvc_ready", "1 when the daemon accepts sessions.", registry=r)

    def count_sessions_with(self, source: Callable[[], Mapping[str, int]]) -> None:
        """Read ``livesvc_sessions{status}`` from ``source`` at every scrape."""
        self._sessions.source = source

    def exposition(self) -> tuple[bytes, str]:
        """The registry in Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
