"""Relay suite: added latency, CPU per message and capacity of Live relays, side by side.

One run starts the upstream (the emulator, in its own process, real-time audio
pacing) and every contender in front of it, each in its own process:

* ``direct``: the clients talk to the emulator itself (the reference);
* ``gateway``: ``livesvc serve`` (our daemon and gateway);
* ``websockets``: a plain relay written like Google's proxy samples (``bench._wsrelay``);
* ``nginx``: nginx as a WebSocket reverse proxy, the floor of what the machine can do;
* ``trio-websocket``: a bare relay on our own stack (``bench._triorelay``), the floor
  of what any relay on trio + trio-websocket + wsproto can do.

Then, for each N of ``steps`` (clients, each streaming 16 kHz PCM up in 40 ms
chunks at real-time pace and hearing 24 kHz model audio, see ``bench._load``),
it runs the same load against each contender in turn, the order alternating
between steps. Added latency is the contender's round-trip percentile minus
direct's at the same N in the same step. A contender's capacity is the largest
N whose added p99 stays within ``p99_limit_ms`` with every client connected (a
failing run is repeated once, against a fresh direct run, and fails only if the
repeat fails too); the search stops for a contender at its first failing step, and for all of them when
direct itself fails (clients cannot connect, or the load generator falls behind
real time: the machine, not a relay, is then the limit), or when the time budget
is spent.

``python -m bench --only relay`` runs the defaults (about 3 minutes);
``python -m bench.relay --help`` shows the parameters to go bigger.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import _gateway, _nginx, _triorelay, _wsrelay
from bench._drive import Drive, drive
from bench._harness import Options, Suite, print_table
from bench._procs import (
    Child,
    ChildFailed,
    python_module,
    run_and_report,
    spawn,
    wait_port,
)
from bench._stats import percentile, rounded, summary
from bench._upstream import READY as UPSTREAM_READY
from bench._upstream import upstream_argv
from livesvc.emulator import live_path

__all__ = ["QUICK", "RelayParams", "SUITE", "run_relay"]

# `gateway-workers`: `livesvc serve` with `workers = 2` (a master and two worker
# processes on one SO_REUSEPORT port, no proxy), to compare one event loop with two.
CONTENDERS = (
    "direct",
    "gateway",
    "gateway-unmetered",
    "gateway-workers",
    "websockets",
    "nginx",
    "trio-websocket",
)
# Not in the default run: two `livesvc serve` processes sharing one store, behind nginx.
# gateway-baseline: the same daemon from another source tree (--baseline-src, e.g. a
# worktree of an earlier commit), for a before/after in one run.
OPTIONAL_CONTENDERS = ("gateway-x2", "gateway-baseline")
WORKERS = 2


@dataclass(frozen=True, kw_only=True)
class RelayParams:
    """What the relay suite runs (defaults: about 3 minutes on 2 cores)."""

    steps: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 80, 100, 120)
    seconds: float = 3.0  # measured window of each run
    p99_limit_ms: float = 20.0
    max_late_percent: float = 5.0  # sends >10 ms behind real time; above: results invalid
    budget_seconds: float = 160.0  # no new step starts after this
    table_clients: int = 20  # the step shown in the side-by-side table
    load_procs: int = 1  # load generator processes (more for big N)
    contenders: tuple[str, ...] = CONTENDERS
    nginx_workers: int = 1
    lead_seconds: float = 2.5  # before each window: start-up, connections, warm-up
    baseline_src: str | None = None  # the gateway-baseline contender's source tree


QUICK = RelayParams(steps=(2,), seconds=1.0, budget_seconds=30.0, lead_seconds=1.5, table_clients=2)


@dataclass(kw_only=True)
class _Contender:
    name: str
    url: str | None = None  # the Live URL the clients dial (None: skipped)
    child: Child | None = None  # the process charged for relaying
    extra: list[Child] = field(default_factory=list)  # more processes charged for it
    skipped: str | None = None
    capacity: int | None = None  # largest passing N so far
    failed_at: int | None = None
    why_failed: str | None = None


@dataclass(kw_only=True)
class _Run:
    contender: str
    clients: int
    drive: Drive
    rtt_ms: list[float] = field(default_factory=list)


def _row(run: _Run, direct: _Run | None) -> dict[str, Any]:
    result = run.drive.result
    messages = result.sent + result.received
    relay_keys = [k for k in run.drive.cpu_seconds if k.startswith("relay")]
    relay_cpu = sum(run.drive.cpu_seconds[k] for k in relay_keys) if relay_keys else None
    relay_rss = sum(v for k, v in run.drive.rss_bytes.items() if k.startswith("relay"))
    p50 = percentile(run.rtt_ms, 50)
    p99 = percentile(run.rtt_ms, 99)
    row: dict[str, Any] = {
        "contender": run.contender,
        "clients": run.clients,
        "connected": result.connected,
        "errors": result.errors,
        "rtt_ms": summary(run.rtt_ms),
        "eos_ms": summary(result.eos_ms),
        "barge_ms": summary(result.barge_ms),
        "added_p50_ms": None,
        "added_p99_ms": None,
        "messages_per_second": round(messages / result.window_seconds, 1),
        "audio_seconds_down_per_second": round(
            result.audio_bytes / 48000 / result.window_seconds, 2
        ),
        "relay_cpu_percent": None
        if relay_cpu is None
        else round(100 * relay_cpu / result.window_seconds, 1),
        "relay_cpu_us_per_message": None
        if relay_cpu is None or not messages
        else round(relay_cpu / messages * 1e6, 1),
        "upstream_cpu_percent": round(
            100 * run.drive.cpu_seconds.get("upstream", 0.0) / result.window_seconds, 1
        ),
        "load_cpu_percent": round(
            100 * run.drive.cpu_seconds.get("load", 0.0) / result.window_seconds, 1
        ),
        "relay_rss_mib": round(relay_rss / 2**20, 1) if relay_keys else None,
        "late_send_percent": round(100 * result.late_sends / max(1, result.sent), 2),
        "max_send_lag_ms": round(result.max_lag_ms, 1),
    }
    if direct is not None and run is not direct:
        d50, d99 = percentile(direct.rtt_ms, 50), percentile(direct.rtt_ms, 99)
        if None not in (p50, p99, d50, d99):
            row["added_p50_ms"] = rounded(p50 - d50)  # type: ignore[operator]
            row["added_p99_ms"] = rounded(p99 - d99)  # type: ignore[operator]
    elif run is direct:
        row["added_p50_ms"] = 0.0
        row["added_p99_ms"] = 0.0
    return row


def _verdict(row: dict[str, Any], params: RelayParams) -> str | None:
    """Why this run fails the capacity test, or None when it holds."""
    if row["connected"] < row["clients"]:
        return f"{row['clients'] - row['connected']} clients not connected"
    if row["rtt_ms"]["n"] == 0:
        return "no round trip measured"
    if row["late_send_percent"] > params.max_late_percent:
        # the load generator cannot keep real time: the machine, not a relay, is the limit
        return (
            f"{row['late_send_percent']}% of sends late > {params.max_late_percent}%:"
            " the load generator is the limit"
        )
    if row["contender"] == "direct":
        return None
    added = row["added_p99_ms"]
    if added is not None and added > params.p99_limit_ms:
        return f"added p99 {added} ms > {params.p99_limit_ms} ms"
    return None


# Relays that are one Python process in front of the upstream: module and ready line.
_PLAIN_RELAYS = {
    "websockets": ("bench._wsrelay", _wsrelay.READY),
    "trio-websocket": ("bench._triorelay", _triorelay.READY),
}


@asynccontextmanager
async def _contenders(
    params: RelayParams, workdir: Path
) -> AsyncIterator[tuple[Child, list[_Contender]]]:
    """Start the upstream and every contender; stop them all on exit."""
    async with AsyncExitStack() as stack:
        upstream = await stack.enter_async_context(
            spawn("upstream", upstream_argv(), workdir=workdir, ready=UPSTREAM_READY)
        )
        assert upstream.ready is not None
        upstream_url = upstream.ready[1]
        path = live_path() + "?key=bench"
        found: list[_Contender] = []
        for name in params.contenders:
            contender = _Contender(name=name)
            found.append(contender)
            try:
                if name == "direct":
                    contender.url = upstream_url + path
                elif name in _PLAIN_RELAYS:
                    module, ready = _PLAIN_RELAYS[name]
                    contender.child = await stack.enter_async_context(
                        spawn(
                            module.rsplit("_", 1)[1],
                            python_module(module, "--upstream", upstream_url),
                            workdir=workdir,
                            ready=ready,
                        )
                    )
                    assert contender.child.ready is not None
                    contender.url = contender.child.ready[1] + path
                elif name == "nginx":
                    await _start_nginx(stack, contender, params, workdir, upstream_url, path)
                elif name == "gateway":
                    await _start_gateway(stack, contender, workdir, upstream_url)
                elif name == "gateway-unmetered":  # the same, with usage metering off
                    await _start_gateway(stack, contender, workdir, upstream_url, metering=False)
                elif name == "gateway-baseline":
                    if params.baseline_src is None:
                        contender.skipped = "skipped: give --baseline-src DIR"
                        continue
                    await _start_gateway(
                        stack, contender, workdir, upstream_url, source=params.baseline_src
                    )
                elif name == "gateway-workers":
                    await _start_gateway(stack, contender, workdir, upstream_url, workers=WORKERS)
                elif name == "gateway-x2":
                    await _start_gateway_pair(stack, contender, params, workdir, upstream_url)
            except ChildFailed as exc:
                contender.skipped = f"failed to start: {str(exc).splitlines()[0]}"
                print(f"{name}: {exc}", file=sys.stderr)
        yield upstream, found


async def _start_nginx(
    stack: AsyncExitStack,
    contender: _Contender,
    params: RelayParams,
    workdir: Path,
    upstream_url: str,
    path: str,
) -> None:
    binary, why = await _nginx.ensure_nginx()
    if binary is None:
        contender.skipped = f"skipped: {why}"
        return
    port = _nginx.free_port()
    upstream_port = int(upstream_url.rsplit(":", 1)[1])
    conf = _nginx.write_config(
        workdir / "nginx",
        listen_port=port,
        upstream_port=upstream_port,
        workers=params.nginx_workers,
    )
    contender.child = await stack.enter_async_context(
        spawn("nginx", _nginx.nginx_argv(binary, conf), workdir=workdir)
    )
    await wait_port(contender.child, port)
    contender.url = f"ws://127.0.0.1:{port}{path}"


async def _start_gateway(
    stack: AsyncExitStack,
    contender: _Contender,
    workdir: Path,
    upstream_url: str,
    *,
    workers: int = 1,
    metering: bool = True,
    source: str | None = None,
) -> None:
    """``livesvc serve``; with ``workers`` > 1 a master and its workers, one process group.

    ``source``: run the livesvc package found in this directory instead (PYTHONPATH).

    The CPU charged to the contender is its process group's, so the workers count.
    """
    why = _gateway.gateway_available()
    if why is not None:
        contender.skipped = why
        return
    port, admin_port = _nginx.free_port(), _nginx.free_port()
    conf = _gateway.write_config(
        workdir / contender.name,
        upstream_url=upstream_url,
        port=port,
        admin_port=admin_port,
        workers=workers,
        metering=metering,
    )
    contender.child = await stack.enter_async_context(
        spawn(
            contender.name,
            _gateway.gateway_argv(conf),
            workdir=workdir,
            env={
                _gateway.UPSTREAM_KEY_ENV: _gateway.UPSTREAM_KEY,
                **({"PYTHONPATH": source} if source is not None else {}),
            },
        )
    )
    await wait_port(contender.child, port)
    await _gateway.wait_ready(admin_port)
    contender.url = f"ws://127.0.0.1:{port}{live_path()}?key={_gateway.CLIENT_KEY}"


async def _start_gateway_pair(
    stack: AsyncExitStack,
    contender: _Contender,
    params: RelayParams,
    workdir: Path,
    upstream_url: str,
) -> None:
    """Two daemons sharing one SQLite store, nginx spreading connections over them."""
    why = _gateway.gateway_available()
    binary, why_nginx = await _nginx.ensure_nginx()
    if why is not None or binary is None:
        contender.skipped = why or f"skipped: {why_nginx}"
        return
    store = workdir / "gateway-x2-store.db"
    ports: list[int] = []
    for index in range(2):
        port, admin_port = _nginx.free_port(), _nginx.free_port()
        conf = _gateway.write_config(
            workdir / f"gateway-x2-{index}",
            upstream_url=upstream_url,
            port=port,
            admin_port=admin_port,
            store_path=store,
        )
        worker = await stack.enter_async_context(
            spawn(
                f"gateway-x2-{index}",
                _gateway.gateway_argv(conf),
                workdir=workdir,
                env={_gateway.UPSTREAM_KEY_ENV: _gateway.UPSTREAM_KEY},
            )
        )
        await wait_port(worker, port)
        contender.extra.append(worker)
        ports.append(port)
    port = _nginx.free_port()
    conf_path = _nginx.write_config(
        workdir / "nginx-x2", listen_port=port, upstream_port=ports, workers=params.nginx_workers
    )
    contender.child = await stack.enter_async_context(
        spawn("nginx-x2", _nginx.nginx_argv(binary, conf_path), workdir=workdir)
    )
    await wait_port(contender.child, port)
    contender.url = f"ws://127.0.0.1:{port}{live_path()}?key={_gateway.CLIENT_KEY}"


async def _run_one(
    params: RelayParams, contender: _Contender, upstream: Child, clients: int, workdir: Path
) -> _Run:
    assert contender.url is not None
    watch = {"upstream": upstream}
    if contender.child is not None:
        watch["relay"] = contender.child
    for index, extra in enumerate(contender.extra):
        watch[f"relay-{index + 1}"] = extra
    result = await drive(
        contender.url,
        clients=clients,
        seconds=params.seconds,
        workdir=workdir,
        watch=watch,
        procs=params.load_procs,
        tag=f"load-{contender.name}-{clients}",
        lead_seconds=params.lead_seconds,
    )
    return _Run(
        contender=contender.name,
        clients=clients,
        drive=result,
        rtt_ms=result.result.eos_ms + result.result.barge_ms,
    )


async def _measure(params: RelayParams, workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    async with _contenders(params, workdir) as (upstream, contenders):
        active = [c for c in contenders if c.url is not None]
        direct = next(c for c in active if c.name == "direct")
        for step_index, clients in enumerate(params.steps):
            if time.monotonic() - started > params.budget_seconds:
                print(f"  time budget spent before N={clients}", flush=True)
                break
            order = active if step_index % 2 == 0 else list(reversed(active))
            # direct first in every step: the others are judged against it
            order = sorted(order, key=lambda c: c.name != "direct")
            runs: dict[str, _Run] = {}
            for contender in order:
                run = await _run_one(params, contender, upstream, clients, workdir)
                runs[contender.name] = run
                row = _row(run, runs.get("direct"))
                why = _verdict(row, params)
                if why is not None and contender.name != "direct":
                    # one slow moment (a GC pause, a neighbour's burst) must not end a
                    # contender's search: confirm against a fresh direct run at the same N
                    row["superseded_by_recheck"] = True
                    _print_progress(row, f"{why}; checking again", rows)
                    fresh = await _run_one(params, direct, upstream, clients, workdir)
                    _print_progress(_row(fresh, fresh), None, rows)
                    run = await _run_one(params, contender, upstream, clients, workdir)
                    row = _row(run, fresh)
                    row["recheck"] = True
                    why = _verdict(row, params)
                _print_progress(row, why, rows)
                if why is None:
                    contender.capacity = clients
                else:
                    contender.failed_at, contender.why_failed = clients, why
            machine_limited = any(c.name == "direct" and c.failed_at == clients for c in active)
            active = [c for c in active if c.failed_at is None]
            if machine_limited or not [c for c in active if c.name != "direct"]:
                break
    return _result(params, contenders, rows, time.monotonic() - started)


def _print_progress(row: dict[str, Any], why: str | None, rows: list[dict[str, Any]]) -> None:
    """Print a run's line and keep its row for the JSON."""
    rows.append(row)
    rtt = row["rtt_ms"]
    print(
        f"  N={row['clients']:<4} {row['contender']:<15} rtt p50 {rtt['p50']} p99 {rtt['p99']} ms"
        f"  added p99 {row['added_p99_ms']}  relay cpu {row['relay_cpu_percent']}%"
        + (f"  FAIL: {why}" if why else ""),
        flush=True,
    )


def _result(
    params: RelayParams, contenders: list[_Contender], rows: list[dict[str, Any]], elapsed: float
) -> dict[str, Any]:
    measured = {r["clients"] for r in rows}
    first_step = (
        params.table_clients
        if params.table_clients in measured
        else (rows[0]["clients"] if rows else None)
    )
    table: list[dict[str, Any]] = []
    for contender in contenders:
        first = next(
            (
                r
                for r in rows
                if r["contender"] == contender.name
                and r["clients"] == first_step
                and not r.get("superseded_by_recheck")
            ),
            None,
        )
        table.append(
            {
                "contender": contender.name,
                "status": contender.skipped or "ok",
                "clients": first_step,
                "rtt_p50_ms": first["rtt_ms"]["p50"] if first else None,
                "rtt_p99_ms": first["rtt_ms"]["p99"] if first else None,
                "added_p50_ms": first["added_p50_ms"] if first else None,
                "added_p99_ms": first["added_p99_ms"] if first else None,
                "relay_cpu_us_per_message": first["relay_cpu_us_per_message"] if first else None,
                "capacity_clients": contender.capacity,
                "capacity_bound": "exact"
                if contender.failed_at is not None
                else ("at least (search ended)" if contender.capacity is not None else None),
                "failed_at": contender.failed_at,
                "why_failed": contender.why_failed,
            }
        )
    by_name = {t["contender"]: t for t in table}
    ratios = _ratios(by_name.get("gateway"), by_name.get("websockets"))
    workers = _ratios(by_name.get("gateway-workers"), by_name.get("websockets"))
    if by_name.get("gateway-workers") is not None:
        ratios["workers"] = workers
    metered, unmetered = by_name.get("gateway"), by_name.get("gateway-unmetered")
    if (
        metered
        and unmetered
        and metered["relay_cpu_us_per_message"]
        and unmetered["relay_cpu_us_per_message"]
    ):
        # What usage metering costs the relay: CPU per message with it / without it.
        ratios["cpu_per_message_metered_over_unmetered"] = round(
            metered["relay_cpu_us_per_message"] / unmetered["relay_cpu_us_per_message"], 2
        )
    return {
        "suite": "relay",
        "utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "params": asdict(params),
        "elapsed_seconds": round(elapsed, 1),
        "method": (
            "round trip of one frame up and the server's immediate answer down"
            " (end of speech -> inputTranscription, barge-in -> interrupted);"
            " added = contender percentile - direct percentile at the same N, same step"
        ),
        "summary": table,
        "ratios": ratios,
        "runs": rows,
    }


def _ratios(ours: dict[str, Any] | None, theirs: dict[str, Any] | None) -> dict[str, Any]:
    """Capacity (ours / theirs, with whether each is exact) and CPU per message (theirs / ours)."""
    ratios: dict[str, Any] = {
        "capacity_gateway_over_websockets": None,
        "cpu_per_message_websockets_over_gateway": None,
    }
    if ours and theirs and ours["capacity_clients"] and theirs["capacity_clients"]:
        ratios["capacity_gateway_over_websockets"] = round(
            ours["capacity_clients"] / theirs["capacity_clients"], 2
        )
        # a capacity the search did not reach the end of is only a lower bound
        exact = (ours["capacity_bound"] == "exact", theirs["capacity_bound"] == "exact")
        ratios["capacity_ratio_bound"] = {
            (True, True): "exact",
            (True, False): "at most",
            (False, True): "at least",
        }.get(exact, "unknown")
    if ours and theirs and ours["relay_cpu_us_per_message"] and theirs["relay_cpu_us_per_message"]:
        ratios["cpu_per_message_websockets_over_gateway"] = round(
            theirs["relay_cpu_us_per_message"] / ours["relay_cpu_us_per_message"], 2
        )
    return ratios


def _print(result: dict[str, Any]) -> None:
    def fmt(value: Any, suffix: str = "") -> str:
        return "-" if value is None else f"{value}{suffix}"

    table = result["summary"]
    first = table[0]["clients"] if table else "?"
    print(
        f"\nrelay at N={first} clients (round-trip latency, ms) and capacity (added p99 <= "
        f"{result['params']['p99_limit_ms']} ms):"
    )
    print_table(
        ["contender", "p50", "p99", "added p50", "added p99", "cpu µs/msg", "capacity N", "status"],
        [
            [
                t["contender"],
                fmt(t["rtt_p50_ms"]),
                fmt(t["rtt_p99_ms"]),
                fmt(t["added_p50_ms"]),
                fmt(t["added_p99_ms"]),
                fmt(t["relay_cpu_us_per_message"]),
                fmt(t["capacity_clients"])
                + ("+" if t["capacity_bound"] and t["capacity_bound"] != "exact" else ""),
                t["status"],
            ]
            for t in table
        ],
    )
    names = [t["contender"] for t in table if t["status"] == "ok"]
    steps = sorted({r["clients"] for r in result["runs"]})
    by_key = {
        (r["contender"], r["clients"]): r
        for r in result["runs"]
        if not r.get("superseded_by_recheck")
    }
    print("\nround-trip p99 ms (added over direct) and relay CPU per message, by N:")
    print_table(
        ["N", *names],
        [
            [
                str(n),
                *(
                    "-"
                    if (name, n) not in by_key
                    else f"{by_key[name, n]['rtt_ms']['p99']} (+{by_key[name, n]['added_p99_ms']})"
                    + (
                        f" {by_key[name, n]['relay_cpu_us_per_message']}µs"
                        if by_key[name, n]["relay_cpu_us_per_message"]
                        else ""
                    )
                    for name in names
                ),
            ]
            for n in steps
        ],
    )
    ratios = result["ratios"]
    print()
    for name, each in (
        ("gateway", ratios),
        (f"gateway-workers ({WORKERS})", ratios.get("workers")),
    ):
        if each is None:
            continue
        print(
            f"{name} vs websockets relay: capacity"
            f" {_bound_word(each.get('capacity_ratio_bound'))}{fmt(each['capacity_gateway_over_websockets'], 'x')},"
            f" CPU per message {fmt(each['cpu_per_message_websockets_over_gateway'], 'x')} (websockets / ours)"
        )


def _bound_word(bound: str | None) -> str:
    return {"at most": "at most ", "at least": "at least ", "unknown": "~"}.get(bound or "", "")


def run_relay(params: RelayParams, options: Options) -> dict[str, Any]:
    """Run the suite with ``params``; prints the table, writes JSON when ``options.write``."""
    return run_and_report("relay", _measure, params, _print, options)


def run(options: Options) -> dict[str, Any]:
    # --quick (3 repeats) is the smoke-test size
    return run_relay(QUICK if options.repeats <= 3 else RelayParams(), options)


SUITE = Suite(
    name="relay",
    description="added latency, CPU/message and capacity: gateway (one and two workers) vs websockets relay vs nginx",
    run=run,
)


def main(argv: list[str] | None = None) -> int:
    defaults = RelayParams()
    parser = argparse.ArgumentParser(
        prog="python -m bench.relay", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--steps",
        default=",".join(map(str, defaults.steps)),
        help="client counts to try, in order (default %(default)s)",
    )
    parser.add_argument("--seconds", type=float, default=defaults.seconds, help="window per run")
    parser.add_argument(
        "--table-clients",
        type=int,
        default=defaults.table_clients,
        help="the N of the side-by-side table (default %(default)s; else the first step)",
    )
    parser.add_argument("--p99-limit-ms", type=float, default=defaults.p99_limit_ms)
    parser.add_argument("--budget-seconds", type=float, default=defaults.budget_seconds)
    parser.add_argument("--load-procs", type=int, default=defaults.load_procs)
    parser.add_argument(
        "--contenders",
        default=",".join(CONTENDERS),
        help=f"comma-separated, direct first; also: {', '.join(OPTIONAL_CONTENDERS)}",
    )
    parser.add_argument("--nginx-workers", type=int, default=defaults.nginx_workers)
    parser.add_argument(
        "--lead-seconds",
        type=float,
        default=defaults.lead_seconds,
        help="before each window: start-up, connections, warm-up",
    )
    parser.add_argument(
        "--baseline-src",
        help="a source tree (e.g. `git worktree add /tmp/before <commit>`) run as gateway-baseline",
    )
    parser.add_argument("--results-dir", type=Path)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    params = replace(
        defaults,
        baseline_src=args.baseline_src,
        steps=tuple(int(n) for n in args.steps.split(",")),
        seconds=args.seconds,
        table_clients=args.table_clients,
        p99_limit_ms=args.p99_limit_ms,
        budget_seconds=args.budget_seconds,
        load_procs=args.load_procs,
        contenders=tuple(c for c in args.contenders.split(",") if c),
        nginx_workers=args.nginx_workers,
        lead_seconds=args.lead_seconds,
    )
    if "direct" not in params.contenders:
        parser.error("contenders must include direct (the reference)")
    unknown = set(params.contenders) - set(CONTENDERS) - set(OPTIONAL_CONTENDERS)
    if unknown:
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    options = Options(write=not args.no_write)
    if args.results_dir:
        options = Options(write=not args.no_write, results_dir=args.results_dir)
    run_relay(params, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
