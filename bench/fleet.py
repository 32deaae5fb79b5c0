"""Fleet suite: how long a client waits to get its conversation back across nodes.

Three ``livesvc serve`` nodes share a ``redis-server`` behind Debian's
``haproxy`` (``deploy/haproxy.cfg``, TLS at HAProxy), the emulator upstream,
leases of 3 s (renew 0.5 s, margin 1 s). Each round holds a fresh
conversation through HAProxy, then resumes it with the stock google-genai SDK
and times **reconnect -> first answered turn** (the ``echo #N+1`` reply proves
nothing was lost or repeated):

- ``same node``: the routing header sends the resume to its owner;
- ``hand-off, no header``: the resume lands on another node (as an unrouted
  client may; the bench sends it there so every round is a hand-off), which
  asks the live owner to release the session (signed node-to-node call);
- ``after SIGKILL``: the owner is killed; the client resumes with the header and
  retries on 1013 ("try again") every 100 ms until the dead node's lease has
  expired and another node claims the session. Timed from the kill: bounded
  below by the lease TTL by design (docs/fleet.md).

``python -m bench --only fleet`` (``--quick``: 3 rounds each).
"""

from __future__ import annotations

import importlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from google.genai import errors

from bench._harness import Options, Suite, print_table, write_results
from bench._stats import summary
from livesvc.emulator import EmulatorConfig, run_emulator

# The fleet's test harness is the bench's too (one way to start a real fleet);
# imported by name so that type checking of ``bench`` stays out of ``tests``.
_support: Any = importlib.import_module("tests.fleet.fleet_support")
_servers: Any = importlib.import_module("tests.real_servers")
NODES = _support.NODES
UPSTREAM_KEY = _support.UPSTREAM_KEY
HAProxy = _support.HAProxy
Node = _support.Node
chat = _support.chat
node_config = _support.node_config
free_port = _servers.free_port
redis_server = _servers.redis_server

__all__ = ["SUITE", "run"]

_RETRY_EVERY = 0.1
_MAX_RETRIES = 200  # 20 s: well past the 3 s lease


async def _first_turns(c: Any) -> tuple[str | None, int]:
    # The first daemon handle follows a turnComplete once the store committed it
    # (later on a node's first writes): talk until one came, at most five turns.
    turns = 0
    while c.handle is None and turns < 5:
        turns += 1
        reply = await c.say(f"t{turns}")
        if reply != f"echo #{turns}: t{turns}":
            raise RuntimeError(f"unexpected reply {reply!r}")
    return c.handle, turns


async def _next_turn(c: Any) -> str:
    return await c.say("next")


async def _measure(rounds: int, directory: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {
        "same node": [],
        "hand-off, no header": [],
        "after SIGKILL": [],
    }
    with redis_server(directory / "redis") as redis_url:
        async with trio.open_nursery() as nursery:
            google = await nursery.start(
                run_emulator, EmulatorConfig(api_keys=(UPSTREAM_KEY,), session_lifetime=None)
            )
            nodes: dict[str, Any] = {}
            for name in NODES:
                ports = (free_port(), free_port(), free_port())
                path = directory / f"{name}.toml"
                path.write_text(
                    node_config(
                        name=name,
                        state_dir=directory / f"state-{name}",
                        host="127.0.0.1",
                        gateway_port=ports[0],
                        admin_port=ports[1],
                        cluster_port=ports[2],
                        redis_url=redis_url,
                        redis_prefix="bench:",
                        upstream_url=google.http_base_url,
                    )
                )
                nodes[name] = Node(name, path, "127.0.0.1", ports)
                await nodes[name].start(nursery)
            proxy = HAProxy(directory, nodes)
            try:
                for _ in range(rounds):
                    for kind in times:
                        times[kind].append(await _round(kind, proxy, nodes, nursery))
            finally:
                proxy.stop()
                for node in nodes.values():
                    node.stop_now()
                nursery.cancel_scope.cancel()
    return times


async def _round(kind: str, proxy: Any, nodes: dict[str, Any], nursery: Any) -> float:
    handle, turns = await chat(proxy, _first_turns)
    if handle is None:
        raise RuntimeError("no daemon handle after five turns")
    owner = next(n for n in nodes.values() if n.node == handle.split(".")[1])
    if kind == "same node":
        started = time.perf_counter()
        reply = await chat(proxy, _next_turn, handle=handle)
    elif kind == "hand-off, no header":
        other = next(n for n in nodes.values() if n is not owner)
        started = time.perf_counter()
        reply = await chat(proxy, _next_turn, handle=handle, route_to=other.node)
    else:
        started = time.perf_counter()
        owner.kill()
        for _ in range(_MAX_RETRIES):
            try:
                reply = await chat(proxy, _next_turn, handle=handle)
                break
            except errors.APIError as err:
                if err.code != 1013:
                    raise
                await trio.sleep(_RETRY_EVERY)
        else:
            raise RuntimeError("the session never moved")
        await owner.wait()
        # The node comes back (as systemd would restart it) for the next round.
        fresh = Node(
            owner.name,
            owner.config_path,
            owner.host,
            (owner.gateway_port, owner.admin_port, owner.cluster_port),
        )
        await fresh.start(nursery)
        nodes[owner.name] = fresh
        await proxy.wait_up(owner.name)
    elapsed = (time.perf_counter() - started) * 1000
    if reply != f"echo #{turns + 1}: next":
        raise RuntimeError(f"the conversation did not continue: {reply!r}")
    return elapsed


def run(options: Options) -> dict[str, Any]:
    rounds = max(3, min(options.repeats, 10))
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        times = trio.run(_measure, rounds, Path(tmp))
    rows = {kind: summary(values) for kind, values in times.items()}
    print_table(
        ["resume (reconnect -> answered turn)", "n", "p50 ms", "p99 ms", "max ms"],
        [
            [kind, str(s["n"]), f"{s['p50']}", f"{s['p99']}", f"{s['max']}"]
            for kind, s in rows.items()
        ],
    )
    result = {
        "suite": "fleet",
        "lease": {"ttl_seconds": 3, "renew_seconds": 0.5, "margin_seconds": 1},
        "cpus": os.cpu_count(),
        "resume_ms": rows,
        "samples_ms": times,
    }
    if options.write:
        print(f"wrote {write_results('fleet', result, options)}")
    return result


SUITE = Suite(
    name="fleet",
    description="cross-node resume through HAProxy: same node, hand-off, after a SIGKILL",
    run=run,
)
