"""Where an idle gateway session's memory goes: tracemalloc in ``livesvc serve``.

``python -m bench._heap [--sessions 200] [--top 25]`` starts the upstream and the
daemon (under ``python -X tracemalloc``), opens one session and closes it (so
lazily imported code and caches are in the baseline), takes a snapshot, opens N
idle sessions, takes another, and prints the allocation growth per session by
source line and by module. A profiling aid for ``docs/performance.md``, not a suite.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tracemalloc
from collections import Counter
from pathlib import Path

import trio

from bench import _gateway, _nginx
from bench._load import Frames, LoadSpec
from bench._procs import Child, run_guarded, scratch_dir, spawn, wait_port
from bench._upstream import READY as UPSTREAM_READY
from bench._upstream import upstream_argv
from bench.memory import _Client
from livesvc.emulator import live_path

__all__ = ["main"]

# Runs the daemon with a SIGUSR1 handler that dumps a tracemalloc snapshot.
_WRAPPER = """
import signal, sys, tracemalloc
count, out = [0], sys.argv[2]
def dump(*_):
    count[0] += 1
    tracemalloc.take_snapshot().dump(f"{out}/snapshot-{count[0]}.bin")
    print(f"snapshot {count[0]} written", flush=True)
signal.signal(signal.SIGUSR1, dump)
from livesvc.cli import main
sys.argv = ["livesvc", "serve", "--config", sys.argv[1]]
sys.exit(main())
"""


async def _snapshot(child: Child, number: int) -> None:
    os.kill(child.process.pid, signal.SIGUSR1)
    await child.wait_for(f"snapshot {number} written", 60)


async def _open(url: str, count: int, nursery: trio.Nursery, leave: trio.Event) -> list[_Client]:
    frames = Frames(LoadSpec(url=url, clients=count, seconds=1, start_at=0))
    limiter = trio.CapacityLimiter(20)
    clients = [_Client(url, frames, nursery) for _ in range(count)]
    for client in clients:
        nursery.start_soon(client.run, limiter, leave)
    for client in clients:
        await client.ready.wait()
    return clients


async def _profile(sessions: int, workdir: Path) -> tuple[Path, Path, int]:
    async with spawn(
        "upstream", upstream_argv(), workdir=workdir, ready=UPSTREAM_READY
    ) as upstream:
        assert upstream.ready is not None
        port, admin = _nginx.free_port(), _nginx.free_port()
        conf = _gateway.write_config(
            workdir / "gateway",
            upstream_url=upstream.ready[1],
            port=port,
            admin_port=admin,
            log_level="warning",
        )
        argv = [sys.executable, "-X", "tracemalloc=1", "-c", _WRAPPER, str(conf), str(workdir)]
        async with spawn(
            "gateway", argv, workdir=workdir, env={_gateway.UPSTREAM_KEY_ENV: _gateway.UPSTREAM_KEY}
        ) as gateway:
            await wait_port(gateway, port, within=60)
            url = f"ws://127.0.0.1:{port}{live_path()}?key={_gateway.CLIENT_KEY}"
            async with trio.open_nursery() as nursery:
                warm = trio.Event()
                await _open(url, 1, nursery, warm)
                warm.set()
                await trio.sleep(3)  # the grace period (1 s) ends; the session goes
                await _snapshot(gateway, 1)
                leave = trio.Event()
                clients = await _open(url, sessions, nursery, leave)
                await trio.sleep(1)
                await _snapshot(gateway, 2)
                leave.set()
                connected = sum(1 for c in clients if not c.failed)
                await trio.sleep(2)
                nursery.cancel_scope.cancel()
    return workdir / "snapshot-1.bin", workdir / "snapshot-2.bin", connected


def _report(before: Path, after: Path, sessions: int, top: int) -> None:
    first = tracemalloc.Snapshot.load(str(before))
    second = tracemalloc.Snapshot.load(str(after))
    lines = second.compare_to(first, "lineno")
    total = sum(stat.size_diff for stat in lines)
    print(
        f"Python heap growth: {total / sessions / 1024:.1f} KiB per idle session ({sessions} sessions)"
    )
    print(f"\ntop {top} source lines, bytes per session:")
    for stat in lines[:top]:
        frame = stat.traceback[0]
        where = frame.filename.split("site-packages/")[-1].split("/work/main/")[-1]
        print(
            f"  {stat.size_diff / sessions:9.0f}  {stat.count_diff / sessions:6.1f} blocks  {where}:{frame.lineno}"
        )
    by_module: Counter[str] = Counter()
    for stat in lines:
        name = stat.traceback[0].filename.split("site-packages/")[-1].split("/work/main/")[-1]
        by_module[name.split("/")[0] if "/" in name else name] += stat.size_diff
    print("\nby package, bytes per session:")
    for name, size in by_module.most_common(12):
        print(f"  {size / sessions:9.0f}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench._heap", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    with scratch_dir("livesvc-bench-heap-") as tmp:
        before, after, connected = run_guarded(_profile, args.sessions, tmp)
        _report(before, after, connected, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
