"""Pictures of benchmark results: PNG plots beside the JSON they are drawn from.

``make bench`` (and ``make soak``) call :func:`plot_result` after writing a
result; ``python -m bench._plots FILE.json`` redraws one. matplotlib is a
bench-only dependency (the ``bench`` extra); without it, plotting is skipped
with a message, and nothing else changes.

Plots:

* relay: round-trip latency p50 and p99 by client count, one line per
  contender; relay CPU per message per contender (at the table's N);
* memory: KiB per idle and per streaming session, per contender and session count;
* soak: the run's timeline (faults injected, upstream reconnects, turns, all
  cumulative) with the process's RSS.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

__all__ = ["plot_file", "plot_result"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_result(result: dict[str, Any], json_path: Path) -> list[Path]:
    """Draw the plots of one result next to ``json_path``; returns the files written."""
    try:
        plt = _pyplot()
    except ImportError:
        print("plots skipped: matplotlib is not installed (pip install 'livesvc[bench]')")
        return []
    drawers = {"relay": _relay, "memory": _memory, "soak": _soak}
    drawer = drawers.get(str(result.get("suite")))
    if drawer is None:
        return []
    stem = json_path.with_suffix("")
    written = []
    for suffix, figure in drawer(plt, result):
        path = stem.with_name(f"{stem.name}-{suffix}.png")
        figure.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(figure)
        written.append(path)
    return written


def plot_file(path: Path) -> list[Path]:
    """Redraw the plots of a saved result file."""
    return plot_result(json.loads(path.read_text()), path)


def _relay(plt: Any, result: dict[str, Any]) -> list[tuple[str, Any]]:
    by_contender: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    for run in result.get("runs", []):
        rtt = run.get("rtt_ms") or {}
        if rtt.get("p50") is not None and rtt.get("p99") is not None:
            by_contender[run["contender"]].append((run["clients"], rtt["p50"], rtt["p99"]))
    latency, ax = plt.subplots(figsize=(7, 4))
    for name, points in sorted(by_contender.items()):
        points.sort()
        clients = [p[0] for p in points]
        (line,) = ax.plot(clients, [p[2] for p in points], marker="o", label=f"{name} p99")
        ax.plot(clients, [p[1] for p in points], linestyle="--", color=line.get_color(), alpha=0.6)
    ax.set_xlabel("clients (16 kHz up, 24 kHz down)")
    ax.set_ylabel("round trip, ms (p99 solid, p50 dashed)")
    ax.set_title("Relay latency by client count")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    cpu, bx = plt.subplots(figsize=(7, 3.5))
    rows = [
        (r["contender"], r["relay_cpu_us_per_message"])
        for r in result.get("summary", [])
        if r.get("relay_cpu_us_per_message")
    ]
    bx.bar([r[0] for r in rows], [r[1] for r in rows], color="tab:blue")
    bx.set_ylabel("relay CPU per message, µs")
    bx.set_title("CPU per relayed message (lower is better)")
    bx.tick_params(axis="x", labelrotation=20, labelsize=8)
    bx.grid(axis="y", alpha=0.3)
    return [("latency", latency), ("cpu", cpu)]


def _memory(plt: Any, result: dict[str, Any]) -> list[tuple[str, Any]]:
    rows = [r for r in result.get("rows", []) if r.get("idle_kib_per_session") is not None]
    figure, ax = plt.subplots(figsize=(7, 3.5))
    labels = [f"{r['contender']}\n{r['sessions']} sessions" for r in rows]
    positions = range(len(rows))
    ax.bar(
        [p - 0.2 for p in positions], [r["idle_kib_per_session"] for r in rows], 0.4, label="idle"
    )
    ax.bar(
        [p + 0.2 for p in positions],
        [r.get("streaming_kib_per_session") or 0 for r in rows],
        0.4,
        label="streaming",
    )
    ax.set_xticks(list(positions), labels, fontsize=7)
    ax.set_ylabel("KiB per session")
    ax.set_title("Memory per session")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return [("memory", figure)]


def _soak(plt: Any, result: dict[str, Any]) -> list[tuple[str, Any]]:
    timeline = result.get("timeline") or []
    samples = result.get("samples") or []
    # Faults and reconnects (tens) on their own axes: beside turns (hundreds) they flatten.
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(8, 5.5), sharex=True, gridspec_kw={"height_ratios": [1, 1]}
    )
    t = [p["t"] for p in timeline]
    for name, colour in (("faults", "tab:red"), ("reconnects", "tab:blue")):
        top.step(t, [p.get(name, 0) for p in timeline], where="post", label=name, color=colour)
    top.set_ylabel("count (cumulative)")
    top.set_title("Soak: faults injected, reconnects, turns")
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.plot(t, [p.get("turns", 0) for p in timeline], label="turns", color="tab:green")
    bottom.set_xlabel("seconds")
    bottom.set_ylabel("turns (cumulative)")
    bottom.legend(loc="upper left")
    bottom.grid(alpha=0.3)
    rss = bottom.twinx()
    rss.plot([s["t"] for s in samples], [s["rss_mib"] for s in samples], color="grey", alpha=0.5)
    rss.set_ylabel("RSS, MiB (grey)")
    return [("timeline", figure)]


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        for written in plot_file(Path(argument)):
            print(written)
