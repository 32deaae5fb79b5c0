"""Timing, result files and tables shared by the benchmark suites."""

from __future__ import annotations

import gc
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Options", "Suite", "interleaved_samples", "print_table", "write_results"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True, kw_only=True)
class Options:
    """Knobs every suite honours."""

    repeats: int = 15
    batch_seconds: float = 0.02
    results_dir: Path = RESULTS_DIR
    write: bool = True


@dataclass(frozen=True, kw_only=True)
class Suite:
    """A named benchmark: ``run`` returns the JSON-able result and prints its table."""

    name: str
    description: str
    run: Callable[[Options], dict[str, Any]]
    tags: Sequence[str] = field(default_factory=tuple)


def _loops_for(fn: Callable[[], object], batch_seconds: float) -> int:
    """How many calls take about ``batch_seconds`` (at least 1)."""
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= batch_seconds / 4 or loops >= 1 << 22:
            return max(1, round(loops * batch_seconds / max(elapsed, 1e-9)))
        loops *= 4


def _time_batch(fn: Callable[[], object], loops: int) -> float:
    # Like timeit: a collection in the middle of one contender's batch would
    # charge it for garbage the other one made.
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(loops):
            fn()
        return (time.perf_counter_ns() - start) / loops / 1000.0
    finally:
        gc.enable()


def interleaved_samples(
    contenders: Sequence[Callable[[], object]], options: Options
) -> list[list[float]]:
    """Per-call microseconds of each contender, ``options.repeats`` samples each.

    Batches of the contenders alternate (ABBA order), so drift in machine load
    hits all of them alike and a ratio of medians is measured in the same run.
    """
    loops = [_loops_for(fn, options.batch_seconds) for fn in contenders]
    samples: list[list[float]] = [[] for _ in contenders]
    order = list(range(len(contenders)))
    for repeat in range(options.repeats):
        for index in order if repeat % 2 == 0 else reversed(order):
            samples[index].append(_time_batch(contenders[index], loops[index]))
    return samples


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def write_results(suite: str, result: dict[str, Any], options: Options) -> Path:
    """Writes ``<suite>-<UTC timestamp>.json`` and ``<suite>-latest.json``; returns the first."""
    options.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2, sort_keys=False) + "\n"
    path = options.results_dir / f"{suite}-{stamp}.json"
    path.write_text(text)
    latest = options.results_dir / f"{suite}-latest.json"
    latest.write_text(text)
    from bench._plots import plot_result  # matplotlib loads only here (bench-only)

    for picture in plot_result(result, latest):
        print(f"plot: {picture}")
    return path


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
