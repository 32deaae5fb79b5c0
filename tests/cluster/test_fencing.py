"""Fencing: a fleet node whose lease is gone cannot commit session state.

Real ``redis-server``: the lease key and each write are checked in one Lua
script, so a late write (after a SIGSTOP, a cut link) is refused by Redis itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import coredis
import pytest
import trio

from livesvc.cluster import NodeInfo, RedisLeases
from livesvc.store import SessionRecord
from livesvc.store._redis import Fence, RedisStore, RedisStoreServer, StoreFenced

NOW = 1_000_000.0


def record(owner: str, **changes: object) -> SessionRecord:
    fields: dict[str, object] = {
        "session_id": "s1",
        "principal": "key:dev",
        "profile": "default",
        "model": "models/m",
        "status": "active",
        "created_at": NOW,
        "updated_at": NOW,
        "setup": b"{}",
        "owner": owner,
    }
    fields.update(changes)
    return SessionRecord(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def node_a(
    redis_url: str, redis_prefix: str, nursery: trio.Nursery
) -> AsyncIterator[tuple[RedisStore, RedisLeases, NodeInfo, list[bool]]]:
    """Node a's store, fenced by its lease; ``local[0]`` is the node's own validity check."""
    store = RedisStore(prefix=redis_prefix, node="node-a")
    await nursery.start(RedisStoreServer(store, url=redis_url).run)
    async with coredis.Redis.from_url(redis_url) as client:
        leases = RedisLeases(client, prefix=redis_prefix)
        info = NodeInfo(node="node-a", address="127.0.0.1:1", token="incarnation-1")
        assert await leases.acquire(info, 30)
        local = [True]
        store.fence_with(
            Fence(key=f"{redis_prefix}node:node-a", token=info.token, valid=lambda: local[0])
        )
        yield store, leases, info, local
    nursery.cancel_scope.cancel()


async def test_writes_apply_while_the_lease_is_held(node_a):
    store, _, _, _ = node_a
    await store.put_session(record("node-a.1"))
    handle = await store.issue_handle("s1", now=NOW)
    assert handle.startswith("lsh.node-a.")
    assert handle.split(".")[1] == "node-a"  # the field HAProxy routes on
    updated = await store.update_session("s1", status="detached")
    assert updated is not None
    assert updated.status == "detached"


async def test_a_write_after_the_lease_passed_on_is_refused_by_redis(node_a):
    store, leases, info, _ = node_a
    await store.put_session(record("node-a.1"))
    # The key expired during a pause and a new incarnation of node-a took it.
    await leases.release(info)
    assert await leases.acquire(NodeInfo(node="node-a", address="x", token="incarnation-2"), 30)
    with pytest.raises(StoreFenced):
        await store.update_session("s1", status="closed")
    with pytest.raises(StoreFenced):
        await store.put_session(record("node-a.1", status="closed", updated_at=NOW + 1))
    with pytest.raises(StoreFenced):
        await store.issue_handle("s1", now=NOW)
    with pytest.raises(StoreFenced):
        await store.claim_session("s1", owner="node-a.2", expected="node-a.1")
    current = await store.get_session("s1")
    assert current is not None
    assert current.status == "active"
    assert current.owner == "node-a.1"


async def test_a_node_past_its_own_deadline_sends_nothing(node_a):
    store, _, _, local = node_a
    await store.put_session(record("node-a.1"))
    local[0] = False  # the node's clock says its lease ran out (it woke from a SIGSTOP)
    with pytest.raises(StoreFenced, match="not sent"):
        await store.update_session("s1", status="closed")
    current = await store.get_session("s1")
    assert current is not None
    assert current.status == "active"


async def test_an_unfenced_store_is_unchanged(redis_url: str, redis_prefix: str, nursery):
    store = RedisStore(prefix=redis_prefix)
    await nursery.start(RedisStoreServer(store, url=redis_url).run)
    await store.put_session(record("w1"))
    assert (await store.issue_handle("s1", now=NOW)).startswith("lsh_")
    assert await store.claim_session("s1", owner="w2", expected="w1")
