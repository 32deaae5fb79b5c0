"""Drives load processes at one URL and charges CPU to the processes that served them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import trio

from bench._load import LoadResult, merge_results
from bench._procs import Child, ChildFailed, GroupStats, python_module, spawn

__all__ = ["Drive", "drive"]

_decode_result = msgspec.json.Decoder(LoadResult)


@dataclass(frozen=True, kw_only=True)
class Drive:
    """The outcome of one load run: what the clients saw, and CPU per process group."""

    result: LoadResult
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # in the window
    rss_bytes: dict[str, int] = field(default_factory=dict)  # at the window's end


def _stats(children: Mapping[str, Child]) -> dict[str, GroupStats]:
    return {name: child.stats() for name, child in children.items()}


async def drive(
    url: str,
    *,
    clients: int,
    seconds: float,
    workdir: Path,
    watch: Mapping[str, Child],
    procs: int = 1,
    tag: str = "load",
    extra: tuple[str, ...] = (),
    lead_seconds: float = 3.0,
) -> Drive:
    """Run ``clients`` spread over ``procs`` load processes against ``url`` for ``seconds``.

    The window opens ``lead_seconds`` from now (process start-up, connections,
    warm-up). CPU seconds of each watched process group (and of the load processes, as
    ``"load"``) are taken from ``/proc`` at the window's start and end.
    """
    procs = max(1, min(procs, clients))
    start_at = time.monotonic() + lead_seconds
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    async with trio.open_nursery() as nursery:
        loads: list[Child] = []
        for index, share in enumerate(shares):
            argv = python_module(
                "bench._load",
                "--url",
                url,
                "--clients",
                str(share),
                "--seconds",
                str(seconds),
                "--start-at",
                repr(start_at),
                "--seed",
                str(index + 1),
                *extra,
            )
            loads.append(await _enter(nursery, f"{tag}-{index}", argv, workdir))
        watched = {**watch, **{f"load-{i}": child for i, child in enumerate(loads)}}
        await trio.sleep(max(0.0, start_at - time.monotonic()))
        before = await trio.to_thread.run_sync(_stats, watched)
        await trio.sleep(max(0.0, start_at + seconds - time.monotonic()))
        after = await trio.to_thread.run_sync(_stats, watched)
        results: list[LoadResult] = []
        with trio.fail_after(seconds + 30):
            for child in loads:
                await child.process.wait()
                if child.process.returncode != 0:
                    raise ChildFailed(f"{child.name} failed:\n{child.log_tail()}")
                last = child.log_path.read_text().strip().splitlines()[-1]
                results.append(_decode_result.decode(last))
        nursery.cancel_scope.cancel()
    cpu: dict[str, float] = {}
    for name in after:
        key = "load" if name.startswith("load-") else name
        cpu[key] = cpu.get(key, 0.0) + max(0.0, after[name].cpu_seconds - before[name].cpu_seconds)
    rss = {name: stats.rss_bytes for name, stats in after.items() if not name.startswith("load-")}
    return Drive(result=merge_results(results), cpu_seconds=cpu, rss_bytes=rss)


async def _enter(nursery: trio.Nursery, name: str, argv: list[str], workdir: Path) -> Child:
    """Start a child that lives as long as ``nursery`` (stopped when it is cancelled)."""

    async def hold(task_status: trio.TaskStatus[Child] = trio.TASK_STATUS_IGNORED) -> None:
        async with spawn(name, argv, workdir=workdir) as child:
            task_status.started(child)
            await trio.sleep_forever()

    child: Child = await nursery.start(hold)
    return child
