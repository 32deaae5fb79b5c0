"""One contract, two backends: the SQLite store and the Redis store behave alike.

Every test here runs against both. What differs by design (Redis expires records
with TTLs, SQLite deletes them in ``purge``) is asserted through what a caller
sees after ``purge``, which both must agree on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from livesvc.store import (
    SessionRecord,
    Store,
    StoreError,
    StoreServer,
    TokenRecord,
    UsageRow,
    open_store_channel,
)
from livesvc.store._redis import RedisStore, RedisStoreServer

NOW = 1_000_000.0


@pytest.fixture(params=["sqlite", "redis"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, nursery: trio.Nursery
) -> AsyncIterator[Store | RedisStore]:
    if request.param == "sqlite":
        send, receive = open_store_channel()
        await nursery.start(StoreServer(receive, path=str(tmp_path / "live.db")).run)
        yield Store(send)
    else:
        url: str = request.getfixturevalue("redis_url")
        # A fresh prefix per test keeps tests apart on the run's one server.
        redis_store = RedisStore(
            prefix=request.getfixturevalue("redis_prefix"), keep_closed_seconds=3600.0
        )
        await nursery.start(RedisStoreServer(redis_store, url=url).run)
        yield redis_store
    nursery.cancel_scope.cancel()


def record(session_id: str = "s1", **changes: object) -> SessionRecord:
    fields: dict[str, object] = {
        "session_id": session_id,
        "principal": "key:dev",
        "profile": "default",
        "model": "models/m",
        "status": "active",
        "created_at": NOW,
        "updated_at": NOW,
        "setup": b'{"model":"models/m"}',
    }
    fields.update(changes)
    return SessionRecord(**fields)  # type: ignore[arg-type]


def token(uses: int = 1, *, token_id: str = "t1", expire: float = NOW + 3600) -> TokenRecord:
    return TokenRecord(
        token_id=token_id,
        profile="default",
        principal="admin",
        created_at=NOW,
        expire_time=expire,
        new_session_expire_time=NOW + 60,
        uses=uses,
        uses_left=None if uses == 0 else uses,
        setup=b'{"model":"models/m"}',
        field_mask="model",
    )


async def test_a_record_round_trips_with_every_field(store):
    full = record(
        upstream_handle="g-handle",
        handle_expires_at=NOW + 7200,
        turns=3,
        last_close_code=1011,
        last_close_reason="Internal error",
        owner="w1",
    )
    await store.put_session(full)
    assert await store.get_session("s1") == full
    assert await store.get_session("nope") is None


async def test_update_changes_only_the_named_fields(store):
    await store.put_session(record())
    updated = await store.update_session("s1", status="detached", turns=2, updated_at=NOW + 5)
    assert updated == record(status="detached", turns=2, updated_at=NOW + 5)
    assert await store.get_session("s1") == updated
    assert await store.update_session("missing", turns=1) is None
    with pytest.raises(ValueError, match="owner"):
        await store.update_session("s1", owner="w2")


async def test_a_write_from_a_former_owner_is_refused(store):
    await store.put_session(record(owner="w1"))
    assert await store.claim_session("s1", owner="w2", expected="w1")
    await store.put_session(record(owner="w1", turns=9))  # late write of the old owner
    assert (await store.get_session("s1")).owner == "w2"
    assert (await store.get_session("s1")).turns == 0
    await store.put_session(record(owner="w2", turns=4))
    assert (await store.get_session("s1")).turns == 4


async def test_of_racing_claims_exactly_one_wins(store):
    await store.put_session(record(owner="w1"))
    wins: list[str] = []

    async def claim(me: str) -> None:
        if await store.claim_session("s1", owner=me, expected="w1"):
            wins.append(me)

    async with trio.open_nursery() as nursery:
        for name in ("a", "b", "c", "d"):
            nursery.start_soon(claim, name)
    assert len(wins) == 1
    assert (await store.get_session("s1")).owner == wins[0]


async def test_a_closed_session_cannot_be_claimed(store):
    await store.put_session(record(owner="w1", status="closed", closed_at=NOW))
    assert not await store.claim_session("s1", owner="w2", expected="w1")


async def test_handles_find_their_session_until_it_closes_or_expires(store):
    await store.put_session(record(handle_expires_at=NOW + 100))
    first = await store.issue_handle("s1", now=NOW)
    second = await store.issue_handle("s1", now=NOW)
    assert first != second
    assert (await store.find_by_handle(first, now=NOW)).session_id == "s1"
    assert (await store.find_by_handle(second, now=NOW)).session_id == "s1"
    assert await store.find_by_handle("lsh_unknown", now=NOW) is None
    assert await store.find_by_handle(first, now=NOW + 101) is None  # expired
    await store.update_session("s1", status="closed", closed_at=NOW + 1, updated_at=NOW + 1)
    assert await store.find_by_handle(first, now=NOW + 2) is None


async def test_write_sessions_issues_handles_with_the_records(store):
    handles = await store.write_sessions([record("a"), record("b")], issue_handles_for=["a"])
    assert list(handles) == ["a"]
    assert (await store.find_by_handle(handles["a"], now=NOW)).session_id == "a"
    assert (await store.get_session("b")) == record("b")


async def test_listing_is_newest_first_and_filters_by_status(store):
    for i, status in enumerate(["active", "detached", "closed", "active"]):
        await store.put_session(record(f"s{i}", status=status, created_at=NOW + i))
    assert [r.session_id for r in await store.list_sessions()] == ["s3", "s2", "s1", "s0"]
    active = await store.list_sessions(["active"])
    assert [r.session_id for r in active] == ["s3", "s0"]
    assert [r.session_id for r in await store.list_sessions(limit=2)] == ["s3", "s2"]


async def test_detaching_touches_only_the_owners_active_sessions(store):
    await store.put_session(record("a", owner="w1"))
    await store.put_session(record("b", owner="w1", status="closed"))
    await store.put_session(record("c", owner="w2"))
    assert await store.detach_owned_by("w1", now=NOW + 1) == 1
    assert (await store.get_session("a")).status == "detached"
    assert (await store.get_session("a")).updated_at == NOW + 1
    assert (await store.get_session("c")).status == "active"
    assert await store.mark_orphans_detached(now=NOW + 2) == 1
    assert (await store.get_session("c")).status == "detached"


async def test_a_one_use_token_opens_exactly_one_session_under_a_race(store):
    await store.add_token("auth_tokens/x", token(uses=1))
    results: list[TokenRecord | None] = []

    async def use() -> None:
        results.append(await store.use_token("auth_tokens/x", now=NOW))

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(use)
    spent = [r for r in results if r is not None]
    assert len(spent) == 1
    assert spent[0].uses_left == 0


async def test_token_uses_count_down_and_unlimited_stays_unlimited(store):
    await store.add_token("auth_tokens/three", token(uses=3, token_id="three"))
    await store.add_token("auth_tokens/any", token(uses=0, token_id="any"))
    lefts = [(await store.use_token("auth_tokens/three", now=NOW)).uses_left for _ in range(3)]
    assert lefts == [2, 1, 0]
    assert await store.use_token("auth_tokens/three", now=NOW) is None
    for _ in range(5):
        assert (await store.use_token("auth_tokens/any", now=NOW)).uses_left is None
    assert await store.use_token("auth_tokens/unknown", now=NOW) is None


async def test_a_token_cannot_open_sessions_after_its_windows(store):
    await store.add_token("auth_tokens/x", token(uses=5))
    assert await store.use_token("auth_tokens/x", now=NOW + 61) is None  # new-session window
    assert (await store.get_token("auth_tokens/x")).uses_left == 5


async def test_a_token_id_is_unique(store):
    await store.add_token("auth_tokens/a", token(token_id="same"))
    with pytest.raises(StoreError):
        await store.add_token("auth_tokens/b", token(token_id="same"))
    assert await store.get_token("auth_tokens/b") is None


async def test_after_purge_expired_tokens_are_gone_and_live_ones_stay(store):
    await store.add_token("auth_tokens/old", token(token_id="old", expire=NOW + 10))
    await store.add_token("auth_tokens/new", token(token_id="new", expire=NOW + 3600))
    await store.purge(now=NOW + 20, keep_closed_seconds=3600)
    assert [t.token_id for t in await store.list_tokens(now=NOW + 20)] == ["new"]
    assert await store.get_token("auth_tokens/old") is None
    assert await store.get_token("auth_tokens/new") is not None


# -- usage (issue 16): amounts add up, whoever writes them ------------------------------


def usage_row(day: str, metric: str, amount: float, key: str = "mobile") -> UsageRow:
    return UsageRow(day=day, key=key, profile="default", model="m", metric=metric, amount=amount)


async def test_usage_amounts_add_up_across_writes(store: Store):
    await store.add_usage([usage_row("2026-12-02", "tokens.output.TEXT", 4)])
    await store.add_usage(
        [
            usage_row("2026-12-02", "tokens.output.TEXT", 7),  # another worker's flush
            usage_row("2026-12-03", "audio_seconds.input", 1.5),
            usage_row("2026-12-03", "turns", 1, key="other"),
        ]
    )
    rows = await store.usage_rows(key=None, since="2026-12-02", until="2026-12-03")
    assert rows == [
        usage_row("2026-12-02", "tokens.output.TEXT", 11),
        usage_row("2026-12-03", "audio_seconds.input", 1.5),
        usage_row("2026-12-03", "turns", 1, key="other"),
    ]
    assert await store.usage_rows(key="other", since="2026-12-01", until="2026-12-31") == [
        usage_row("2026-12-03", "turns", 1, key="other")
    ]
    assert await store.usage_rows(key=None, since="2026-12-04", until="2026-12-31") == []
