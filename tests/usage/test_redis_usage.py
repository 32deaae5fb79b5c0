"""The Redis store writes a usage flush whole or not at all.

The recorder keeps a flush that failed and writes it again with the next one;
if the first attempt had written part of it, that part would count twice. Here
the connection fails on the second command of a flush (a drop mid-way).
"""

from __future__ import annotations

from typing import Any

import trio
from coredis.exceptions import ConnectionError as RedisConnectionError

from livesvc.store import StoreError, UsageRow
from livesvc.store._redis import RedisStore, RedisStoreServer


class DropsOnSecondCommand:
    """A coredis client whose second command (script calls included) fails unsent."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.commands = 0
        self.armed = False  # only the commands of the flush count

    def _command(self, call: Any) -> Any:
        async def command(*args: Any, **kwargs: Any) -> Any:
            self.commands += self.armed
            if self.armed and self.commands == 2:
                raise RedisConnectionError("connection dropped")
            return await call(*args, **kwargs)

        return command

    def register_script(self, source: str) -> Any:
        return self._command(self._client.register_script(source))

    def __getattr__(self, name: str) -> Any:
        return self._command(getattr(self._client, name))


def row(metric: str, amount: float) -> UsageRow:
    return UsageRow(
        day="2026-12-03", key="k0", profile="default", model="m", metric=metric, amount=amount
    )


async def test_a_flush_cut_mid_way_then_retried_counts_each_amount_once(
    redis_url: str, redis_prefix: str, nursery: trio.Nursery
):
    store = RedisStore(prefix=redis_prefix, keep_closed_seconds=3600.0)
    await nursery.start(RedisStoreServer(store, url=redis_url).run)
    assert store._client is not None  # attached before the server reports started
    flaky = DropsOnSecondCommand(store._client)
    store._attach(flaky)
    batch = [row("tokens.input.TEXT", 5), row("tokens.output.TEXT", 8), row("turns", 1)]
    flaky.armed = True
    try:
        await store.add_usage(batch)
    except StoreError:
        await store.add_usage(batch)  # what the recorder does with a failed flush
    flaky.armed = False
    rows = await store.usage_rows(key="k0", since="2026-12-03", until="2026-12-03")
    assert {r.metric: r.amount for r in rows} == {
        "tokens.input.TEXT": 5,
        "tokens.output.TEXT": 8,
        "turns": 1,
    }
    nursery.cancel_scope.cancel()
