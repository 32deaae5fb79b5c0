"""Memory suite: resident memory per idle and per streaming session, at 100 and 1000.

Each contender (``gateway``: ``livesvc serve``; ``websockets``: the plain relay of
the Google samples; ``nginx``) runs in its own process in front of the upstream
(the emulator, its own process). For each N:

1. the contender's memory is read with no client (``base``);
2. N clients connect and finish their ``setup``, then stay silent: ``idle``;
3. every client streams one utterance (16 kHz PCM up in 40 ms chunks at real-time
   pace, speech then silence) and starts hearing the model's 24 kHz answer, at
   most ``stream_concurrency`` clients at a time; memory is sampled throughout and
   the peak kept: ``streaming``;
4. the clients leave.

Per session = (memory - base) / N, from the proportional set size (PSS) of the
contender's process group (RSS over-counts pages shared between processes; both
are in the JSON). Target: an idle session under 64 KiB.

``python -m bench --only memory`` runs the defaults (about a minute);
``python -m bench.memory --help`` shows the parameters.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio
import trio_websocket

from bench import _gateway, _nginx, _wsrelay
from bench._harness import Options, Suite, print_table
from bench._load import CHUNK_MS, Frames, LoadSpec
from bench._procs import (
    Child,
    ChildFailed,
    python_module,
    run_and_report,
    spawn,
    wait_port,
)
from bench._upstream import READY as UPSTREAM_READY
from bench._upstream import upstream_argv
from livesvc.emulator import live_path
from livesvc.wire import decode_server

__all__ = ["QUICK", "MemoryParams", "SUITE", "run_memory"]

CONTENDERS = ("gateway", "websockets", "nginx")
# Also accepted by --contenders: `livesvc serve` with `workers = 2` (master + workers,
# one process group: their memory together).
WORKERS = 2
KIB = 1024


@dataclass(frozen=True, kw_only=True)
class MemoryParams:
    """What the memory suite runs."""

    sizes: tuple[int, ...] = (100, 1000)
    contenders: tuple[str, ...] = CONTENDERS
    stream_concurrency: int = 100  # clients streaming their utterance at once
    speech_chunks: int = 3  # 120 ms of speech
    silence_chunks: int = 4  # 160 ms of silence (the VAD ends the turn after 120)
    connect_concurrency: int = 50
    target_idle_kib: float = 64.0
    settle_seconds: float = 1.0  # before each memory reading with clients gone or just connected


QUICK = MemoryParams(sizes=(3,), contenders=("gateway", "websockets"), settle_seconds=0.3)


class _Client:
    """One connection: setup, then silence until told to stream, reading everything."""

    def __init__(self, url: str, frames: Frames, nursery: trio.Nursery) -> None:
        self._nursery = nursery  # holds the connection's background task
        self.url = url
        self.frames = frames
        self.ready = trio.Event()
        self.done = trio.Event()  # run() is over (the connection closed, or never opened)
        self.heard_audio = trio.Event()
        self.failed: str | None = None
        self._ws: trio_websocket.WebSocketConnection | None = None

    async def run(self, limiter: trio.CapacityLimiter, leave: trio.Event) -> None:
        try:
            async with limiter:
                with trio.fail_after(20):
                    ws = await trio_websocket.connect_websocket_url(self._nursery, self.url)
                self._ws = ws
                await ws.send_message(self.frames.setup)
                with trio.fail_after(20):
                    first = decode_server(await ws.get_message())
                if first.setup_complete is None:
                    raise ConnectionError("first server frame is not setupComplete")
            self.ready.set()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._read, ws)
                await leave.wait()
                nursery.cancel_scope.cancel()
            with trio.move_on_after(2, shield=True):
                await ws.aclose()
        except (OSError, trio_websocket.HandshakeError, trio_websocket.ConnectionClosed) as exc:
            self.failed = type(exc).__name__
        except (trio.TooSlowError, ConnectionError) as exc:
            self.failed = str(exc) or type(exc).__name__
        finally:
            self.ready.set()
            self.done.set()

    async def _read(self, ws: trio_websocket.WebSocketConnection) -> None:
        while True:
            message = decode_server(await ws.get_message())
            content = message.server_content
            if content is not None and content.model_turn is not None:
                self.heard_audio.set()

    async def utter(self, speech_chunks: int, silence_chunks: int) -> None:
        """Stream one utterance at real-time pace; return once the answer starts."""
        ws = self._ws
        if ws is None or self.failed:
            return
        start = trio.current_time()
        for index in range(speech_chunks + silence_chunks):
            await trio.sleep_until(start + index * CHUNK_MS / 1000)
            frame = self.frames.voiced if index < speech_chunks else self.frames.silent
            await ws.send_message(frame)
        with trio.move_on_after(5):
            await self.heard_audio.wait()


async def _sample_peak(child: Child, stop: trio.Event, peak: dict[str, int]) -> None:
    while not stop.is_set():
        stats = await trio.to_thread.run_sync(lambda: child.stats(with_pss=True))
        peak["pss"] = max(peak.get("pss", 0), stats.pss_bytes)
        peak["rss"] = max(peak.get("rss", 0), stats.rss_bytes)
        with trio.move_on_after(0.2):
            await stop.wait()


async def _memory(child: Child) -> tuple[int, int]:
    stats = await trio.to_thread.run_sync(lambda: child.stats(with_pss=True))
    return stats.pss_bytes, stats.rss_bytes


async def _measure_one(
    name: str, child: Child, url: str, clients: int, params: MemoryParams
) -> dict[str, Any]:
    spec = LoadSpec(
        url=url, clients=clients, seconds=1, start_at=0, vad_silence_ms=120, silence_ms=160
    )
    frames = Frames(spec)
    await trio.sleep(params.settle_seconds)  # sessions of the previous size have gone
    base_pss, base_rss = await _memory(child)
    started = time.monotonic()
    leave = trio.Event()
    connect_limit = trio.CapacityLimiter(params.connect_concurrency)
    async with trio.open_nursery() as nursery:
        pool = [_Client(url, frames, nursery) for _ in range(clients)]
        for client in pool:
            nursery.start_soon(client.run, connect_limit, leave)
        for client in pool:
            await client.ready.wait()
        connect_seconds = time.monotonic() - started
        print(f"  {name:<10} N={clients:<5} connected in {connect_seconds:.1f} s", flush=True)
        await trio.sleep(params.settle_seconds)  # let the contender settle
        idle_pss, idle_rss = await _memory(child)
        stop = trio.Event()
        peak: dict[str, int] = {}
        stream_limit = trio.CapacityLimiter(params.stream_concurrency)
        nursery.start_soon(_sample_peak, child, stop, peak)

        async def utter(client: _Client) -> None:
            async with stream_limit:
                await client.utter(params.speech_chunks, params.silence_chunks)

        stream_started = time.monotonic()
        async with trio.open_nursery() as streams:
            for client in pool:
                streams.start_soon(utter, client)
        stream_seconds = time.monotonic() - stream_started
        streaming_pss, streaming_rss = await _memory(child)
        stop.set()
        leave.set()
        with trio.move_on_after(10):
            for client in pool:
                await client.done.wait()
        # a connection whose close handshake went unanswered keeps a reader task: end it
        nursery.cancel_scope.cancel()
    failed = [c.failed for c in pool if c.failed]
    heard = sum(c.heard_audio.is_set() for c in pool)
    peak_pss = max(peak.get("pss", 0), streaming_pss)
    peak_rss = max(peak.get("rss", 0), streaming_rss)
    ok = clients - len(failed)

    def per(value: int, base: int) -> float | None:
        return round((value - base) / ok / KIB, 1) if ok else None

    return {
        "contender": name,
        "sessions": clients,
        "connected": ok,
        "failures": sorted(set(failed)),
        "heard_model_audio": heard,
        "connect_seconds": round(connect_seconds, 2),
        "stream_seconds": round(stream_seconds, 2),
        "base_pss_mib": round(base_pss / 2**20, 1),
        "idle_kib_per_session": per(idle_pss, base_pss),
        "streaming_kib_per_session": per(peak_pss, base_pss),
        "idle_rss_kib_per_session": per(idle_rss, base_rss),
        "streaming_rss_kib_per_session": per(peak_rss, base_rss),
    }


async def _start(
    name: str,
    stack: AsyncExitStack,
    workdir: Path,
    upstream_url: str,
    max_sessions: int,
) -> tuple[Child, str] | str:
    """Start a contender; (process, client URL), or why it is skipped."""
    path = live_path()
    if name == "websockets":
        child = await stack.enter_async_context(
            spawn(
                "wsrelay",
                python_module("bench._wsrelay", "--upstream", upstream_url),
                workdir=workdir,
                ready=_wsrelay.READY,
            )
        )
        assert child.ready is not None
        return child, child.ready[1] + path + "?key=bench"
    if name == "nginx":
        binary, why = await _nginx.ensure_nginx()
        if binary is None:
            return f"skipped: {why}"
        port = _nginx.free_port()
        conf = _nginx.write_config(
            workdir / "nginx",
            listen_port=port,
            upstream_port=int(upstream_url.rsplit(":", 1)[1]),
        )
        child = await stack.enter_async_context(
            spawn("nginx", _nginx.nginx_argv(binary, conf), workdir=workdir)
        )
        await wait_port(child, port)
        return child, f"ws://127.0.0.1:{port}{path}?key=bench"
    if name in ("gateway", "gateway-workers"):
        why_not = _gateway.gateway_available()
        if why_not is not None:
            return why_not
        workers = WORKERS if name == "gateway-workers" else 1
        port, admin_port = _nginx.free_port(), _nginx.free_port()
        conf = _gateway.write_config(
            workdir / name,
            upstream_url=upstream_url,
            port=port,
            admin_port=admin_port,
            max_sessions=max_sessions + 100,
            log_level="warning",
            workers=workers,
        )
        child = await stack.enter_async_context(
            spawn(
                name,
                _gateway.gateway_argv(conf),
                workdir=workdir,
                env={_gateway.UPSTREAM_KEY_ENV: _gateway.UPSTREAM_KEY},
            )
        )
        await wait_port(child, port)
        await _gateway.wait_ready(admin_port)
        return child, f"ws://127.0.0.1:{port}{path}?key={_gateway.CLIENT_KEY}"
    raise ValueError(f"unknown contender {name!r}")


async def _measure(params: MemoryParams, workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    async with spawn(
        "upstream", upstream_argv(), workdir=workdir, ready=UPSTREAM_READY
    ) as upstream:
        assert upstream.ready is not None
        for name in params.contenders:
            async with AsyncExitStack() as stack:
                try:
                    started_one = await _start(
                        name, stack, workdir, upstream.ready[1], max(params.sizes)
                    )
                except ChildFailed as exc:
                    started_one = f"failed to start: {str(exc).splitlines()[0]}"
                if isinstance(started_one, str):
                    skipped[name] = started_one
                    print(f"  {name}: {started_one}", flush=True)
                    continue
                child, url = started_one
                for clients in params.sizes:
                    row = await _measure_one(name, child, url, clients, params)
                    rows.append(row)
                    print(
                        f"  {name:<10} N={clients:<5} idle {row['idle_kib_per_session']} KiB/session,"
                        f" streaming {row['streaming_kib_per_session']} KiB/session"
                        f" ({row['connected']} connected)",
                        flush=True,
                    )
    return {
        "suite": "memory",
        "utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "params": asdict(params),
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "method": (
            "(PSS of the contender's process group - PSS with no client) / sessions;"
            " streaming = peak while every client streams one utterance and hears the answer"
        ),
        "skipped": skipped,
        "rows": rows,
    }


def _print(result: dict[str, Any]) -> None:
    def fmt(value: Any) -> str:
        return "-" if value is None else str(value)

    rows = [
        [
            r["contender"],
            str(r["sessions"]),
            str(r["connected"]),
            fmt(r["idle_kib_per_session"]),
            fmt(r["streaming_kib_per_session"]),
            fmt(r["base_pss_mib"]),
        ]
        for r in result["rows"]
    ]
    rows += [[name, "-", "-", "-", "-", why] for name, why in result["skipped"].items()]
    print_table(
        [
            "contender",
            "sessions",
            "connected",
            "idle KiB/session",
            "streaming KiB/session",
            "base MiB",
        ],
        rows,
    )
    target = result["params"]["target_idle_kib"]
    for r in result["rows"]:
        if r["contender"] == "gateway" and r["idle_kib_per_session"] is not None:
            verdict = "met" if r["idle_kib_per_session"] < target else "MISSED"
            print(
                f"gateway idle session at N={r['sessions']}: {r['idle_kib_per_session']} KiB,"
                f" target < {target} KiB: {verdict}"
            )


def run_memory(params: MemoryParams, options: Options) -> dict[str, Any]:
    """Run the suite with ``params``; prints the table, writes JSON when ``options.write``."""
    return run_and_report("memory", _measure, params, _print, options)


def run(options: Options) -> dict[str, Any]:
    # --quick (3 repeats) is the smoke-test size
    return run_memory(QUICK if options.repeats <= 3 else MemoryParams(), options)


SUITE = Suite(
    name="memory",
    description="resident memory per idle and per streaming session, at 100 and 1000",
    run=run,
)


def main(argv: list[str] | None = None) -> int:
    defaults = MemoryParams()
    parser = argparse.ArgumentParser(
        prog="python -m bench.memory", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sizes", default=",".join(map(str, defaults.sizes)))
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--stream-concurrency", type=int, default=defaults.stream_concurrency)
    parser.add_argument("--settle-seconds", type=float, default=defaults.settle_seconds)
    parser.add_argument("--results-dir", type=Path)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    params = replace(
        defaults,
        sizes=tuple(int(n) for n in args.sizes.split(",")),
        contenders=tuple(c for c in args.contenders.split(",") if c),
        stream_concurrency=args.stream_concurrency,
        settle_seconds=args.settle_seconds,
    )
    options = Options(write=not args.no_write)
    if args.results_dir:
        options = Options(write=not args.no_write, results_dir=args.results_dir)
    run_memory(params, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
