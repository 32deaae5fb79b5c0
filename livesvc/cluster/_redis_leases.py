"""Node leases in Redis: ``{prefix}node:{name}`` holds the holder's :class:`NodeInfo` as JSON.

Each operation is one command or one Lua script, so renewing and releasing apply
only while the caller's token still holds the key: a node never extends or
deletes a lease that has passed to another incarnation.
"""

from __future__ import annotations

from typing import Any

import msgspec

from livesvc.cluster._lease import NodeInfo

__all__ = ["RedisLeases"]

_RENEW = """
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
if cjson.decode(value)['token'] ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

_RELEASE = """
local value = redis.call('GET', KEYS[1])
if value and cjson.decode(value)['token'] == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


class RedisLeases:
    """:class:`~livesvc.cluster.LeaseBackend` on a coredis client.

    Connection errors surface as :class:`OSError`, which the lease counts as a
    failed attempt.
    """

    def __init__(self, client: Any, *, prefix: str = "livesvc:") -> None:
        self._client = client
        self._prefix = prefix
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def key(self, node: str) -> str:
        """The Redis key of ``node``'s lease (store writes are fenced on it)."""
        return f"{self._prefix}node:{node}"

    _key = key

    async def acquire(self, info: NodeInfo, ttl: float) -> bool:
        async with _as_oserror():
            done = await self._client.set(
                self._key(info.node), msgspec.json.encode(info), px=int(ttl * 1000), condition="NX"
            )
        return bool(done)

    async def renew(self, info: NodeInfo, ttl: float) -> bool:
        async with _as_oserror():
            done = await self._renew(
                keys=[self._key(info.node)], args=[info.token, int(ttl * 1000)]
            )
        return bool(done)

    async def release(self, info: NodeInfo) -> None:
        async with _as_oserror():
            await self._release(keys=[self._key(info.node)], args=[info.token])

    async def holder(self, node: str) -> NodeInfo | None:
        async with _as_oserror():
            value = await self._client.get(self._key(node))
        return None if value is None else msgspec.json.decode(value, type=NodeInfo)

    async def nodes(self) -> list[NodeInfo]:
        found: list[NodeInfo] = []
        async with _as_oserror():
            async for key in self._client.scan_iter(match=f"{self._prefix}node:*"):
                value = await self._client.get(key)
                if value is not None:
                    found.append(msgspec.json.decode(value, type=NodeInfo))
        return sorted(found, key=lambda n: n.node)


class _as_oserror:
    """Turns the Redis client's errors into :class:`OSError` (the lease's failure signal)."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: Any
    ) -> bool:
        from coredis.exceptions import RedisError

        if err is not None and isinstance(err, RedisError) and not isinstance(err, OSError):
            raise OSError(f"redis: {type(err).__name__}") from err
        return False
