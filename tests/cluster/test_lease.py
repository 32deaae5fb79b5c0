"""The node lease: renewed on time, given up before it can expire, never shared.

The timing tests run on trio's virtual clock against an in-memory lease table
that the test can cut off; the Redis tests check the atomic scripts on a real
``redis-server``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import coredis
import pytest
import trio

from livesvc.cluster import LeaseLost, LeaseSettings, LeaseTaken, NodeInfo, NodeLease, RedisLeases

SETTINGS = LeaseSettings(ttl_seconds=10, renew_every_seconds=2, margin_seconds=3)


class TableLeases:
    """Leases in a dict keyed by node, expiring on the trio clock, with a switch to cut the link."""

    def __init__(self) -> None:
        self.held: dict[str, tuple[NodeInfo, float]] = {}
        self.reachable = True
        self.renewals: list[float] = []

    def _live(self, node: str) -> NodeInfo | None:
        entry = self.held.get(node)
        if entry is None or entry[1] <= trio.current_time():
            return None
        return entry[0]

    async def acquire(self, info: NodeInfo, ttl: float) -> bool:
        if not self.reachable:
            raise OSError("unreachable")
        if self._live(info.node) is not None:
            return False
        self.held[info.node] = (info, trio.current_time() + ttl)
        return True

    async def renew(self, info: NodeInfo, ttl: float) -> bool:
        if not self.reachable:
            await trio.sleep_forever()  # a dead link hangs; the call timeout ends it
        self.renewals.append(trio.current_time())
        holder = self._live(info.node)
        if holder is None or holder.token != info.token:
            return False
        self.held[info.node] = (info, trio.current_time() + ttl)
        return True

    async def release(self, info: NodeInfo) -> None:
        holder = self._live(info.node)
        if holder is not None and holder.token == info.token:
            del self.held[info.node]

    async def nodes(self) -> list[NodeInfo]:
        return [info for node, (info, _) in self.held.items() if self._live(node)]

    async def holder(self, node: str) -> NodeInfo | None:
        return self._live(node)


async def test_the_lease_is_renewed_every_period(autojump_clock):
    table = TableLeases()
    lease = NodeLease(table, "a", "127.0.0.1:1", SETTINGS)
    async with trio.open_nursery() as nursery:
        await nursery.start(lease.run, _never)
        await trio.sleep(7)
        assert lease.valid()
        await lease.release()
    assert table.renewals == [2.0, 4.0, 6.0]
    assert await table.nodes() == []


async def test_a_cut_link_fences_the_node_before_its_lease_can_expire(autojump_clock):
    table = TableLeases()
    lease = NodeLease(table, "a", "127.0.0.1:1", SETTINGS)
    fenced: list[float] = []

    async def on_fenced() -> None:
        fenced.append(trio.current_time())
        assert not lease.valid()  # nothing is served while sessions stop

    async def cut_at_5() -> None:
        await trio.sleep(5)
        table.reachable = False

    assert await lost(lease, on_fenced, cut_at_5)
    # Last acknowledged renewal was sent at 4: Redis keeps the key until 14; the
    # node gave up at 4 + 10 - 3 = 11, leaving the 3 s margin to stop its sessions.
    assert fenced == [11.0]
    assert table.held["a"][1] == 14.0


async def test_a_paused_node_that_lost_its_key_fences_itself_on_waking(autojump_clock):
    table = TableLeases()
    lease = NodeLease(table, "a", "127.0.0.1:1", SETTINGS)
    fenced: list[float] = []

    async def taken_over() -> None:
        await trio.sleep(3)
        # As after a SIGSTOP past the TTL: the key expired and another incarnation took it.
        table.held["a"] = (NodeInfo(node="a", address="x", token="other"), 100.0)

    async def on_fenced() -> None:
        fenced.append(trio.current_time())

    assert await lost(lease, on_fenced, taken_over)
    # Renewal at 4 is refused; the node stops serving at 2 + 10 - 3 = 9 at the latest.
    assert fenced == [9.0]


async def test_a_second_node_with_the_same_name_is_refused(autojump_clock):
    table = TableLeases()
    first = NodeLease(table, "a", "127.0.0.1:1", SETTINGS)
    second = NodeLease(table, "a", "127.0.0.1:2", SETTINGS)
    async with trio.open_nursery() as nursery:
        await nursery.start(first.run, _never)
        with pytest.raises(LeaseTaken):
            await second.run(_never)
        await first.release()


def test_settings_refuse_a_margin_that_leaves_no_time():
    with pytest.raises(ValueError, match="renew_every_seconds"):
        LeaseSettings(ttl_seconds=10, renew_every_seconds=8, margin_seconds=3)
    with pytest.raises(ValueError, match="margin_seconds"):
        LeaseSettings(ttl_seconds=10, margin_seconds=10)


async def lost(
    lease: NodeLease, on_fenced: Callable[[], Awaitable[None]], event: Callable[[], Awaitable[None]]
) -> bool:
    """Run the lease beside ``event``; True when the lease ended with LeaseLost."""
    ended_lost = False
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(event)
            await nursery.start(lease.run, on_fenced)
    except* LeaseLost:
        ended_lost = True
    return ended_lost


async def _never() -> None:
    raise AssertionError("the lease was not supposed to be lost")


async def test_redis_leases_are_atomic_per_token(redis_url: str, redis_prefix: str):
    async with coredis.Redis.from_url(redis_url) as client:
        leases = RedisLeases(client, prefix=redis_prefix)
        a = NodeInfo(node="a", address="10.0.0.1:80", token="t-a")
        a_again = NodeInfo(node="a", address="10.0.0.1:80", token="t-a2")
        b = NodeInfo(node="b", address="10.0.0.2:80", token="t-b")
        assert await leases.acquire(a, 10)
        assert not await leases.acquire(a_again, 10)
        assert await leases.acquire(b, 10)
        assert await leases.renew(a, 10)
        assert not await leases.renew(a_again, 10)  # a stale incarnation cannot extend it
        await leases.release(a_again)  # nor delete it
        assert [n.node for n in await leases.nodes()] == ["a", "b"]
        await leases.release(a)
        assert await leases.nodes() == [b]
        assert await leases.acquire(a_again, 10)


async def test_redis_lease_expires_with_its_ttl(redis_url: str, redis_prefix: str):
    async with coredis.Redis.from_url(redis_url) as client:
        leases = RedisLeases(client, prefix=redis_prefix)
        a = NodeInfo(node="a", address="x", token="t")
        assert await leases.acquire(a, 10)
        ttl_ms = await client.pttl(f"{redis_prefix}node:a")
        assert 0 < ttl_ms <= 10_000


async def test_the_node_may_serve_until_exactly_ttl_minus_margin_after_its_last_renewal(
    autojump_clock,
):
    """What the store's local fence reads: valid() turns False at 4 + 10 - 3 = 11, not later."""
    table = TableLeases()
    lease = NodeLease(table, "a", "127.0.0.1:1", SETTINGS)
    validity: list[tuple[float, bool]] = []

    async def watch() -> None:
        await trio.sleep(5)
        table.reachable = False  # renewals from 6 on hang until their timeout
        await trio.sleep_until(10.999)
        validity.append((trio.current_time(), lease.valid()))

    async def on_fenced() -> None:
        validity.append((trio.current_time(), lease.valid()))

    assert await lost(lease, on_fenced, watch)
    assert validity == [(10.999, True), (11.0, False)]
