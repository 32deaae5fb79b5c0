"""A three-node fleet, for real: Redis, HAProxy and three ``livesvc serve`` processes.

Each scenario holds a conversation through HAProxy, breaks the node that owns
it, resumes with the stock SDK, and reads the emulator's counter: ``echo #3``
means the upstream saw turn three as the third, nothing lost, nothing repeated.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import coredis
import httpx
import pytest
import trio
from google.genai import errors

from livesvc.emulator import Emulator, EmulatorConfig, run_emulator

from ..real_servers import free_port
from .fleet_support import (
    ADMIN_TOKEN,
    NODES,
    UPSTREAM_KEY,
    Chat,
    HAProxy,
    Node,
    chat,
    lease_gone,
    node_config,
    session_record,
)
from .netns import TestNet, test_net

pytestmark = [pytest.mark.filterwarnings("ignore::Warning"), pytest.mark.timeout(120)]


class Fleet:
    def __init__(self, nodes: dict[str, Node], proxy: HAProxy, redis_url: str, prefix: str):
        self.nodes = nodes
        self.proxy = proxy
        self.redis_url = redis_url
        self.prefix = prefix

    def owner_of(self, handle: str) -> Node:
        node = handle.split(".")[1]
        return next(n for n in self.nodes.values() if n.node == node)


@pytest.fixture
async def fleet(
    tmp_path: Path, nursery: trio.Nursery, redis_url: str, redis_prefix: str
) -> AsyncIterator[Fleet]:
    google: Emulator = await nursery.start(
        run_emulator, EmulatorConfig(api_keys=(UPSTREAM_KEY,), session_lifetime=None)
    )
    nodes: dict[str, Node] = {}
    for name in NODES:
        ports = (free_port(), free_port(), free_port())
        path = tmp_path / f"{name}.toml"
        path.write_text(
            node_config(
                name=name,
                state_dir=tmp_path / f"state-{name}",
                host="127.0.0.1",
                gateway_port=ports[0],
                admin_port=ports[1],
                cluster_port=ports[2],
                redis_url=redis_url,
                redis_prefix=redis_prefix,
                upstream_url=google.http_base_url,
            )
        )
        nodes[name] = Node(name, path, "127.0.0.1", ports)
    try:
        for node in nodes.values():
            await node.start(nursery)
        proxy = HAProxy(tmp_path, nodes)
        try:
            yield Fleet(nodes, proxy, redis_url, redis_prefix)
        finally:
            proxy.stop()
    finally:
        for node in nodes.values():
            node.stop_now()
        nursery.cancel_scope.cancel()


async def two_turns(c: Chat) -> tuple[str, str, str | None]:
    one = await c.say("one")
    two = await c.say("two")
    return one, two, await c.wait_handle()


async def third_turn(c: Chat) -> str:
    return await c.say("three")


async def open_conversation(fleet: Fleet) -> tuple[str, Node]:
    one, two, handle = await chat(fleet.proxy, two_turns)
    assert (one, two) == ("echo #1: one", "echo #2: two")
    assert handle is not None
    assert handle.startswith("lsh.node-")  # a fleet handle names its node
    return handle, fleet.owner_of(handle)


async def test_sigkill_a_node_and_its_client_resumes_on_another(fleet: Fleet):
    handle, owner = await open_conversation(fleet)
    owner.kill()
    await owner.wait()
    # Nothing can claim the session while the dead node's lease lives (it might be
    # only cut off); the lease ends by its TTL, then another node takes over.
    await lease_gone(fleet.redis_url, fleet.prefix, owner.node)
    three = await chat(fleet.proxy, third_turn, handle=handle)
    assert three == "echo #3: three"
    taker = await _taker(fleet, exclude=owner)
    assert taker.node != owner.node


async def test_sigterm_drain_deletes_the_lease_and_the_client_resumes_elsewhere(fleet: Fleet):
    handle, owner = await open_conversation(fleet)
    owner.signal(signal.SIGTERM)
    with trio.fail_after(30):
        assert await owner.wait() == 0
    await owner.wait_for("lease.released")
    # Deleted on the drain, not expired: no wait for the TTL.
    await lease_gone(fleet.redis_url, fleet.prefix, owner.node, bound=0.5)
    three = await chat(fleet.proxy, third_turn, handle=handle)
    assert three == "echo #3: three"


async def test_a_resume_routed_to_a_live_owner_continues_there(fleet: Fleet):
    handle, _ = await open_conversation(fleet)
    three = await chat(fleet.proxy, third_turn, handle=handle)
    assert three == "echo #3: three"
    # The routing header sent it to its owner: no hand-off was needed.
    assert not any(
        e.get("event") == "gateway.session_taken_over"
        for n in fleet.nodes.values()
        for e in n.events
    )


async def test_a_resume_without_the_header_is_handed_over_by_the_owner(fleet: Fleet):
    handle, owner = await open_conversation(fleet)
    # Without the header HAProxy balances; leastconn over idle nodes may pick the owner,
    # so resume until a turn lands elsewhere (at most one try per node).
    texts = []
    for turn in ("three", "four", "five"):

        async def say(c: Chat, turn: str = turn) -> tuple[str, str | None]:
            text = await c.say(turn)
            return text, await c.wait_handle()

        text, handle = await chat(fleet.proxy, say, handle=handle, route=False)
        texts.append(text)
        assert handle is not None
        if any(e.get("event") == "gateway.session_released" for e in owner.events):
            break
    assert texts == [
        f"echo #{3 + i}: {t}" for i, t in enumerate(("three", "four", "five")[: len(texts)])
    ]
    assert any(e.get("event") == "gateway.session_released" for e in owner.events)


async def test_a_node_that_handed_a_session_over_keeps_issuing_handles(fleet: Fleet):
    handle, owner = await open_conversation(fleet)
    other = next(n for n in fleet.nodes.values() if n is not owner)
    assert await chat(fleet.proxy, third_turn, handle=handle, route_to=other.node) == (
        "echo #3: three"
    )
    await owner.wait_for("gateway.session_released")
    # Its store writer must not stall after the hand-off: a new session there gets handles.
    one, two, fresh = await chat(fleet.proxy, two_turns, route_to=owner.node)
    assert (one, two) == ("echo #1: one", "echo #2: two")
    assert fresh is not None
    assert fresh.split(".")[1] == owner.node


async def test_sigstop_past_the_lease_then_sigcont_the_node_neither_serves_nor_writes(
    fleet: Fleet,
):
    seen: dict[str, Any] = {}
    token = trio.lowlevel.current_trio_token()

    async def stop_then_continue(owner: Node) -> None:
        session_id = next(e["session_id"] for e in owner.events if "session_id" in e)
        owner.signal(signal.SIGSTOP)
        await lease_gone(fleet.redis_url, fleet.prefix, owner.node)
        seen["before"] = await session_record(fleet.redis_url, fleet.prefix, session_id)
        mark = len(owner.events)
        owner.signal(signal.SIGCONT)
        with trio.fail_after(30):
            seen["exit"] = await owner.wait()
        seen["fenced"] = await owner.wait_for("lease.fenced", after=mark)
        seen["after"] = await session_record(fleet.redis_url, fleet.prefix, session_id)

    async def script(c: Chat) -> tuple[str, str, str | None, str]:
        one, two = await c.say("one"), await c.say("two")
        owner = fleet.owner_of(await c.wait_handle())
        await asyncio.to_thread(trio.from_thread.run, stop_then_continue, owner, trio_token=token)
        try:
            await c.say("lost")
        except Exception as err:  # the SDK raises on the close frame
            return one, two, c.handle, str(err)
        return one, two, c.handle, "served after the lease was gone"

    one, two, handle, closed = await chat(fleet.proxy, script)
    assert (one, two) == ("echo #1: one", "echo #2: two")
    assert handle is not None
    assert seen["exit"] == 1  # it fenced itself and exited
    assert "1012" in closed  # CLOSE_SERVICE_RESTART: resume elsewhere
    # Not one field of the record changed after the lease was gone.
    assert seen["after"] == seen["before"]
    three = await chat(fleet.proxy, third_turn, handle=handle)
    assert three == "echo #3: three"


async def _taker(fleet: Fleet, exclude: Node) -> Node:
    for node in fleet.nodes.values():
        if node is not exclude and any(
            e.get("event") == "gateway.session_taken_over" for e in node.events
        ):
            return node
    raise AssertionError("no node took the session over")


async def test_the_admin_api_of_any_node_shows_the_whole_fleet(fleet: Fleet):
    _, owner = await open_conversation(fleet)
    other = next(n for n in fleet.nodes.values() if n is not owner)
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=other.admin_url, headers=auth, timeout=10) as http:
        nodes = (await http.get("/v1/nodes")).json()["nodes"]
        sessions = (await http.get("/v1/sessions")).json()["sessions"]
        metrics = (await http.get("/metrics")).text
    assert [n["node"] for n in nodes] == ["node-a", "node-b", "node-c"]
    assert [n["node"] for n in nodes if n["this_node"]] == [other.node]
    assert sum(sum(n["sessions"].values()) for n in nodes if n["node"] == owner.node) == 1
    assert all(not n["sessions"] for n in nodes if n["node"] != owner.node)
    assert "token" not in str(nodes)  # the lease token stays in Redis
    assert [s["node"] for s in sessions] == [owner.node]
    samples = [line for line in metrics.splitlines() if line and not line.startswith("#")]
    assert samples
    assert all(f'node="{other.node}"' in line for line in samples)


@pytest.mark.filterwarnings("ignore:The SDK.s ephemeral token support")
@pytest.mark.parametrize("uses", [1, 2])
async def test_a_tokens_uses_are_counted_across_the_fleet(fleet: Fleet, uses: int):
    from google import genai

    def mint() -> str:
        admin = genai.Client(
            api_key=ADMIN_TOKEN,
            http_options={"base_url": fleet.nodes["a"].admin_url, "api_version": "v1alpha"},
        )
        token = admin.auth_tokens.create(
            config={
                "uses": uses,
                "live_connect_constraints": {
                    "model": "gemini-live-2.5-flash-preview",
                    "config": {"response_modalities": ["TEXT"]},
                },
            }
        )
        assert token.name is not None
        return token.name

    token = await trio.to_thread.run_sync(mint)

    async def hello(c: Chat) -> str:
        return await c.say("hi")

    outcomes = []
    for node in fleet.nodes.values():  # one attempt on each node, in turn
        try:
            await chat(fleet.proxy, hello, key=token, api_version="v1alpha", route_to=node.node)
            outcomes.append(("opened", node.name))
        except errors.APIError as err:
            outcomes.append((f"refused {err.code}", node.name))
    assert outcomes == [("opened", n) for n in NODES[:uses]] + [
        ("refused 1008", n) for n in NODES[uses:]
    ]
    # Each session ran on the node it was sent to: the uses were spent on different nodes.
    started = [
        n.name
        for n in fleet.nodes.values()
        if any(e.get("event") == "session.started" for e in n.events)
    ]
    assert started == list(NODES[:uses])


@pytest.fixture
async def netfleet(
    tmp_path: Path, nursery: trio.Nursery, redis_prefix: str
) -> AsyncIterator[tuple[Fleet, TestNet]]:
    """The fleet with Redis and each node in a network namespace of its own (real links)."""
    with test_net(["redis", *NODES]) as net:
        redis_host = net.address("redis")
        redis = net.popen(
            "redis",
            [
                "redis-server",
                "--bind",
                redis_host,
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        redis_url = f"redis://{redis_host}:6379/0"
        try:
            async with coredis.Redis.from_url(redis_url) as client:
                with trio.fail_after(10):
                    while True:  # bounded: until redis-server accepts
                        try:
                            await client.ping()
                            break
                        except (OSError, coredis.exceptions.ConnectionError):
                            await trio.sleep(0.05)
            google: Emulator = await nursery.start(
                run_emulator,
                EmulatorConfig(api_keys=(UPSTREAM_KEY,), session_lifetime=None, host=net.gateway),
            )
            nodes: dict[str, Node] = {}
            for name in NODES:
                host = net.address(name)
                ports = (8443, 8081, 9000)  # each node has its own address
                path = tmp_path / f"{name}.toml"
                path.write_text(
                    node_config(
                        name=name,
                        state_dir=tmp_path / f"state-{name}",
                        host=host,
                        gateway_port=ports[0],
                        admin_port=ports[1],
                        cluster_port=ports[2],
                        redis_url=redis_url,
                        redis_prefix=redis_prefix,
                        upstream_url=google.http_base_url,
                    )
                )
                nodes[name] = Node(
                    name, path, host, ports, prefix=["ip", "netns", "exec", net.netns(name)]
                )
            try:
                for node in nodes.values():
                    await node.start(nursery)
                proxy = HAProxy(tmp_path, nodes)
                try:
                    yield Fleet(nodes, proxy, redis_url, redis_prefix), net
                finally:
                    proxy.stop()
            finally:
                for node in nodes.values():
                    node.stop_now()
                nursery.cancel_scope.cancel()
        finally:
            redis.kill()
            redis.wait(timeout=10)


async def test_a_node_cut_off_from_redis_fences_itself_and_its_client_resumes_elsewhere(
    netfleet: tuple[Fleet, TestNet],
):
    fleet, net = netfleet
    token = trio.lowlevel.current_trio_token()
    seen: dict[str, Any] = {}

    async def cut(owner: Node) -> None:
        mark = len(owner.events)
        net.cut(owner.name, "redis")
        seen["cut"] = owner.name
        with trio.fail_after(30):
            await owner.wait_for("lease.fenced", after=mark)
            seen["exit"] = await owner.wait()

    async def script(c: Chat) -> tuple[str, str, str | None, str]:
        one, two = await c.say("one"), await c.say("two")
        owner = fleet.owner_of(await c.wait_handle())
        await asyncio.to_thread(trio.from_thread.run, cut, owner, trio_token=token)
        try:
            await c.say("lost")
        except Exception as err:  # the SDK raises on the close frame
            return one, two, c.handle, str(err)
        return one, two, c.handle, "served without a lease"

    one, two, handle, closed = await chat(fleet.proxy, script)
    assert (one, two) == ("echo #1: one", "echo #2: two")
    assert handle is not None
    assert "1012" in closed  # CLOSE_SERVICE_RESTART, before the lease could expire
    assert seen["exit"] == 1
    net.mend(seen["cut"], "redis")
    owner = fleet.owner_of(handle)
    await lease_gone(fleet.redis_url, fleet.prefix, owner.node)
    three = await chat(fleet.proxy, third_turn, handle=handle)
    assert three == "echo #3: three"
