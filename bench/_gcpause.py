"""Garbage-collector pauses of ``livesvc serve`` under the relay load.

``python -m bench._gcpause [--clients 30] [--seconds 8] [--untuned]`` runs the
upstream, the daemon (with ``gc.callbacks`` timing every collection; ``--untuned``
switches off its collector tuning) and the relay load, then prints the pauses by
generation next to the load's round-trip percentiles. A
profiling aid for ``docs/performance.md``, not a suite.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import trio

from bench import _gateway, _nginx
from bench._drive import drive
from bench._procs import Child, run_guarded, scratch_dir, spawn, wait_port
from bench._stats import summary
from bench._upstream import READY as UPSTREAM_READY
from bench._upstream import upstream_argv
from livesvc.emulator import live_path

__all__ = ["main"]

# Runs the daemon with every collection timed; SIGUSR1 writes the pauses as JSON.
_WRAPPER = """
import gc, json, signal, sys, time
out, pauses, started = sys.argv[2], [], [0.0]
def timer(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        pauses.append((info["generation"], (time.perf_counter() - started[0]) * 1000))
gc.callbacks.append(timer)
def dump(*_):
    with open(out, "w") as f:
        json.dump(pauses, f)
    print("pauses written", flush=True)
signal.signal(signal.SIGUSR1, dump)
def reset(*_):  # the load starts: collections of the start-up (and its freeze) do not count
    pauses.clear()
    print("pauses reset", flush=True)
signal.signal(signal.SIGUSR2, reset)
from livesvc.cli import main
if sys.argv[3] == "untuned":  # the daemon tunes its collector once serving (livesvc._gc): not here
    import livesvc._gc, livesvc.daemon._daemon
    livesvc.daemon._daemon.tune_collector = lambda: livesvc._gc.CollectorTuning(
        frozen_objects=0, thresholds=gc.get_threshold(), previous_thresholds=gc.get_threshold()
    )
sys.argv = ["livesvc", "serve", "--config", sys.argv[1]]
sys.exit(main())
"""


async def _measure(clients: int, seconds: float, tuned: bool, workdir: Path) -> dict[str, Any]:
    async with spawn(
        "upstream", upstream_argv(), workdir=workdir, ready=UPSTREAM_READY
    ) as upstream:
        assert upstream.ready is not None
        port, admin = _nginx.free_port(), _nginx.free_port()
        conf = _gateway.write_config(
            workdir / "gateway", upstream_url=upstream.ready[1], port=port, admin_port=admin
        )
        pauses_file = workdir / "pauses.json"
        argv = [
            sys.executable,
            "-c",
            _WRAPPER,
            str(conf),
            str(pauses_file),
            "daemon" if tuned else "untuned",
        ]
        async with spawn(
            "gateway", argv, workdir=workdir, env={_gateway.UPSTREAM_KEY_ENV: _gateway.UPSTREAM_KEY}
        ) as gateway:
            await wait_port(gateway, port)
            await gateway.wait_for("daemon.ready", 30)
            os.kill(gateway.process.pid, signal.SIGUSR2)
            await gateway.wait_for("pauses reset", 30)
            url = f"ws://127.0.0.1:{port}{live_path()}?key={_gateway.CLIENT_KEY}"
            result = await drive(
                url, clients=clients, seconds=seconds, workdir=workdir, watch={"relay": gateway}
            )
            await _dump(gateway)
            pauses = json.loads(await trio.Path(pauses_file).read_text())
    by_generation: dict[str, Any] = {}
    for generation in (0, 1, 2):
        found = [ms for gen, ms in pauses if gen == generation]
        by_generation[f"gen{generation}"] = {**summary(found), "total_ms": round(sum(found), 1)}
    return {
        "gc": "as the daemon runs it (livesvc._gc: freeze, thresholds 10000/20/10)"
        if tuned
        else "CPython's defaults (the daemon's tuning switched off)",
        "clients": clients,
        "rtt_ms": summary(result.result.eos_ms + result.result.barge_ms),
        "relay_cpu_seconds": round(result.cpu_seconds.get("relay", 0.0), 2),
        "gc_pauses_ms": by_generation,
    }


async def _dump(gateway: Child) -> None:
    os.kill(gateway.process.pid, signal.SIGUSR1)
    await gateway.wait_for("pauses written", 30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench._gcpause", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--untuned",
        action="store_true",
        help="switch off the daemon's collector tuning (livesvc._gc), to compare",
    )
    args = parser.parse_args(argv)
    with scratch_dir("livesvc-bench-gc-") as tmp:
        report = run_guarded(_measure, args.clients, args.seconds, not args.untuned, tmp)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
