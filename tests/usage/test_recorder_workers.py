"""Budgets see what every worker spent: the recorder re-reads the store after each flush."""

from __future__ import annotations

import datetime
from pathlib import Path

import trio

from livesvc.store import Store, StoreServer, open_store_channel
from livesvc.usage import UsageMeter, UsageRecorder
from livesvc.wire import ServerMessage, UsageMetadata

WALL = datetime.datetime(2026, 12, 3, 12, tzinfo=datetime.UTC).timestamp()


def spend(recorder: UsageRecorder, tokens: int) -> None:
    meter = UsageMeter()
    meter.server_message(ServerMessage(usage_metadata=UsageMetadata(prompt_token_count=tokens)))
    recorder.record(key="k0", profile="p", model="m", delta=meter.take())


async def test_a_worker_sees_what_another_worker_spent_after_a_flush(
    tmp_path: Path, nursery: trio.Nursery
) -> None:
    send, receive = open_store_channel()
    await nursery.start(StoreServer(receive, path=str(tmp_path / "live.db")).run)
    store = Store(send)  # one store file, shared by two workers' recorders
    first = UsageRecorder(store, wall_clock=lambda: WALL)
    second = UsageRecorder(store, wall_clock=lambda: WALL)
    assert (await first.spent_today("k0")).tokens == 0  # a session of k0 starts on first
    spend(second, 40)
    await second.flush()
    spend(first, 2)  # recorded on first, not written yet
    await first.flush()
    spent = first.spent_cached("k0")
    assert spent is not None
    assert spent.tokens == 42
    spend(second, 8)
    await second.flush()
    spend(first, 1)
    await trio.lowlevel.checkpoint()
    assert first.spent_cached("k0").tokens == 43  # type: ignore[union-attr]
    await first.flush()  # the flush re-reads: 40 + 8 (second) + 2 + 1 (first)
    assert first.spent_cached("k0").tokens == 51  # type: ignore[union-attr]
    nursery.cancel_scope.cancel()
