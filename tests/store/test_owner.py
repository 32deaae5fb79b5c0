"""Session ownership across worker processes: claims, fenced writes, a dead worker's sessions."""

import sqlite3
from pathlib import Path

import trio

from livesvc.store import SessionRecord, Store, StoreServer, open_store_channel

from .test_store import record as store_record


def record(session_id: str = "s1", **changes) -> SessionRecord:
    """The store tests' record, owned by worker ``w1`` unless told otherwise."""
    return store_record(session_id, **{"owner": "w1", **changes})


async def open_store(nursery: trio.Nursery, path: Path) -> Store:
    send, receive = open_store_channel()
    await nursery.start(StoreServer(receive, path=str(path)).run)
    return Store(send)


async def test_a_new_record_is_inserted_with_its_owner(store: Store):
    await store.put_session(record())
    assert (await store.get_session("s1")).owner == "w1"


async def test_a_claim_needs_the_expected_owner(store: Store):
    await store.put_session(record())
    assert not await store.claim_session("s1", owner="w2", expected="w3")
    assert await store.claim_session("s1", owner="w2", expected="w1")
    assert (await store.get_session("s1")).owner == "w2"
    assert not await store.claim_session("s1", owner="w3", expected="w1")


async def test_two_processes_racing_for_a_session_exactly_one_wins(tmp_path: Path, nursery):
    # Two store actors (two SQLite connections, as in two worker processes), one file.
    path = tmp_path / "live.db"
    first, second = await open_store(nursery, path), await open_store(nursery, path)
    for i in range(20):
        await first.put_session(record(f"s{i}", owner="dead"))
    wins: list[tuple[str, bool]] = []

    async def claim(store: Store, me: str, session_id: str) -> None:
        wins.append((me, await store.claim_session(session_id, owner=me, expected="dead")))

    with trio.fail_after(10):
        for i in range(20):
            async with trio.open_nursery() as racers:
                racers.start_soon(claim, first, "w1", f"s{i}")
                racers.start_soon(claim, second, "w2", f"s{i}")
            winners = [me for me, won in wins if won]
            assert len(winners) == 1
            assert (await second.get_session(f"s{i}")).owner == winners[0]
            wins.clear()


async def test_a_former_owner_cannot_overwrite_the_new_owners_record(store: Store):
    await store.put_session(record(upstream_handle="h1"))
    assert await store.claim_session("s1", owner="w2", expected="w1")
    await store.put_session(record(owner="w2", upstream_handle="h2", updated_at=1002.0))
    # w1's late write (its write-behind batch, say) is ignored as a whole.
    await store.write_sessions([record(status="closed", upstream_handle="h0", updated_at=1003.0)])
    now = await store.get_session("s1")
    assert (now.owner, now.status, now.upstream_handle) == ("w2", "active", "h2")


async def test_the_owner_keeps_writing_its_record(store: Store):
    await store.put_session(record())
    await store.write_sessions([record(upstream_handle="h9", turns=3, updated_at=1001.0)])
    now = await store.get_session("s1")
    assert (now.upstream_handle, now.turns) == ("h9", 3)


async def test_a_closed_session_cannot_be_claimed(store: Store):
    await store.put_session(record(status="closed"))
    assert not await store.claim_session("s1", owner="w2", expected="w1")


async def test_a_dead_workers_active_sessions_become_detached(store: Store):
    await store.put_session(record("a"))
    await store.put_session(record("b", status="closed"))
    await store.put_session(record("c", owner="w2"))
    assert await store.detach_owned_by("w1", now=2000.0) == 1
    statuses = {r.session_id: r.status for r in await store.list_sessions()}
    assert statuses == {"a": "detached", "b": "closed", "c": "active"}


async def test_a_version_1_database_gains_the_owner_column(tmp_path: Path, nursery):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE sessions (session_id TEXT PRIMARY KEY, principal TEXT NOT NULL, "
        "profile TEXT NOT NULL, model TEXT NOT NULL, status TEXT NOT NULL, "
        "created_at REAL NOT NULL, updated_at REAL NOT NULL, setup BLOB NOT NULL, "
        "closed_at REAL, upstream_handle TEXT, handle_expires_at REAL, "
        "turns INTEGER NOT NULL DEFAULT 0, upstream_resumes INTEGER NOT NULL DEFAULT 0, "
        "client_resumes INTEGER NOT NULL DEFAULT 0, last_close_code INTEGER, "
        "last_close_reason TEXT);"
        "INSERT INTO sessions (session_id, principal, profile, model, status, created_at, "
        "updated_at, setup) VALUES ('old', 'key:dev', 'default', 'm', 'detached', 1, 1, '{}');"
        "PRAGMA user_version=1;"
    )
    conn.close()
    store = await open_store(nursery, path)
    old = await store.get_session("old")
    assert (old.status, old.owner) == ("detached", None)
    assert await store.claim_session("old", owner="w1", expected=None)
