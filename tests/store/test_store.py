"""The store: session records, daemon handles and tokens, one writer, durable commits."""

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

from livesvc.store import (
    SessionRecord,
    Store,
    StoreError,
    StoreServer,
    StoreTimeout,
    TokenRecord,
    open_store_channel,
)


def record(session_id: str = "s1", **changes) -> SessionRecord:
    fields = {
        "session_id": session_id,
        "principal": "key:dev",
        "profile": "default",
        "model": "models/m",
        "status": "active",
        "created_at": 1000.0,
        "updated_at": 1000.0,
        "setup": b'{"model":"models/m"}',
    }
    fields.update(changes)
    return SessionRecord(**fields)


def token(uses: int = 1, *, expire: float = 3000.0, new_session: float = 1100.0) -> TokenRecord:
    return TokenRecord(
        token_id="t1",
        profile="default",
        principal="admin",
        created_at=1000.0,
        expire_time=expire,
        new_session_expire_time=new_session,
        uses=uses,
        uses_left=None if uses == 0 else uses,
        setup=b'{"model":"models/m"}',
        field_mask="model",
    )


class TestSessions:
    async def test_put_get_update_roundtrip(self, store: Store):
        await store.put_session(record())
        assert await store.get_session("s1") == record()
        updated = await store.update_session("s1", status="detached", turns=3, updated_at=1010.0)
        assert updated == record(status="detached", turns=3, updated_at=1010.0)
        assert await store.get_session("s1") == updated
        assert await store.get_session("nope") is None
        assert await store.update_session("nope", turns=1) is None

    async def test_put_again_replaces_but_keeps_creation_time(self, store: Store):
        await store.put_session(record())
        await store.put_session(record(created_at=5.0, model="models/other"))
        stored = await store.get_session("s1")
        assert stored is not None
        assert stored.model == "models/other"
        assert stored.created_at == 1000.0

    async def test_list_by_status_newest_first(self, store: Store):
        await store.put_session(record("a", created_at=1.0))
        await store.put_session(record("b", created_at=2.0, status="closed"))
        await store.put_session(record("c", created_at=3.0, status="detached"))
        assert [r.session_id for r in await store.list_sessions()] == ["c", "b", "a"]
        live = await store.list_sessions(["active", "detached"])
        assert [r.session_id for r in live] == ["c", "a"]

    async def test_unknown_field_is_refused(self, store: Store):
        with pytest.raises(ValueError, match="not updatable"):
            await store.update_session("s1", created_at=5.0)

    async def test_orphans_become_detached_after_restart(self, store: Store):
        await store.put_session(record("a"))
        await store.put_session(record("b", status="closed"))
        assert await store.mark_orphans_detached(now=2000.0) == 1
        a = await store.get_session("a")
        assert a is not None
        assert (a.status, a.updated_at) == ("detached", 2000.0)


class TestHandles:
    async def test_handle_finds_its_session_until_it_expires(self, store: Store):
        await store.put_session(record(handle_expires_at=2000.0, upstream_handle="google-h"))
        handle = await store.issue_handle("s1", now=1001.0)
        assert handle.startswith("lsh_")
        found = await store.find_by_handle(handle, now=1999.0)
        assert found is not None
        assert found.upstream_handle == "google-h"
        assert await store.find_by_handle(handle, now=2000.0) is None
        assert await store.find_by_handle("lsh_guess", now=1500.0) is None

    async def test_earlier_handles_keep_working_like_googles(self, store: Store):
        await store.put_session(record())
        old = await store.issue_handle("s1", now=1001.0)
        new = await store.issue_handle("s1", now=1002.0)
        assert old != new
        for handle in (old, new):
            found = await store.find_by_handle(handle, now=1003.0)
            assert found is not None
            assert found.session_id == "s1"

    async def test_closed_sessions_cannot_be_resumed(self, store: Store):
        await store.put_session(record())
        handle = await store.issue_handle("s1", now=1001.0)
        await store.update_session("s1", status="closed", closed_at=1002.0)
        assert await store.find_by_handle(handle, now=1003.0) is None

    async def test_plain_handles_never_reach_the_file(self, store: Store, tmp_path: Path):
        await store.put_session(record())
        handle = await store.issue_handle("s1", now=1001.0)
        await store.add_token("auth_tokens/secret-token-value", token())
        blob = await trio.to_thread.run_sync(
            lambda: b"".join(p.read_bytes() for p in tmp_path.glob("live.db*"))
        )
        assert handle.encode() not in blob
        assert b"secret-token-value" not in blob


class TestTokens:
    async def test_uses_are_spent_atomically(self, store: Store):
        await store.add_token("tok", token(uses=2))
        first = await store.use_token("tok", now=1001.0)
        second = await store.use_token("tok", now=1002.0)
        assert (first and first.uses_left, second and second.uses_left) == (1, 0)
        assert await store.use_token("tok", now=1003.0) is None
        stored = await store.get_token("tok")
        assert stored is not None
        assert stored.uses_left == 0

    async def test_concurrent_uses_never_overspend(self, store: Store):
        await store.add_token("tok", token(uses=3))
        results = []

        async def use():
            results.append(await store.use_token("tok", now=1001.0))

        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(use)
        assert sum(r is not None for r in results) == 3

    async def test_zero_uses_means_unlimited(self, store: Store):
        await store.add_token("tok", token(uses=0))
        for _ in range(5):
            used = await store.use_token("tok", now=1001.0)
            assert used is not None
            assert used.uses_left is None

    async def test_new_sessions_stop_at_new_session_expire_time(self, store: Store):
        await store.add_token("tok", token(uses=5, new_session=1100.0, expire=3000.0))
        assert await store.use_token("tok", now=1099.0) is not None
        assert await store.use_token("tok", now=1100.0) is None
        assert await store.get_token("tok") is not None  # still valid for resumes

    async def test_purge_drops_expired_tokens_and_old_closed_sessions(self, store: Store):
        await store.add_token("tok", token(expire=1500.0))
        await store.put_session(record("old", status="closed", updated_at=100.0))
        await store.put_session(record("recent", status="closed", updated_at=1900.0))
        await store.put_session(record("live", updated_at=100.0))
        assert await store.purge(now=2000.0, keep_closed_seconds=500.0) == (1, 1)
        assert {r.session_id for r in await store.list_sessions()} == {"recent", "live"}
        assert await store.list_tokens(now=1000.0) == []


class TestActor:
    async def test_mailbox_survives_a_store_restart(self, tmp_path: Path):
        send, receive = open_store_channel()
        store = Store(send)
        server = StoreServer(receive, path=str(tmp_path / "live.db"))
        async with trio.open_nursery() as nursery:
            first = trio.CancelScope()

            async def incarnation(scope: trio.CancelScope, *, task_status=trio.TASK_STATUS_IGNORED):
                with scope:
                    await server.run(task_status=task_status)

            await nursery.start(incarnation, first)
            await store.put_session(record())
            first.cancel()
            await trio.testing.wait_all_tasks_blocked()
            await nursery.start(incarnation, trio.CancelScope())
            assert await store.get_session("s1") == record()
            nursery.cancel_scope.cancel()

    async def test_runaway_query_times_out_and_the_store_carries_on(
        self, tmp_path: Path, nursery: trio.Nursery
    ):
        send, receive = open_store_channel()
        # The query's deadline is 5 "seconds" on a clock that ticks once per
        # progress check: it trips after a fixed amount of work, not of real time.
        ticks = itertools.count()
        server = StoreServer(
            receive, path=str(tmp_path / "live.db"), timeout=5.0, monotonic=lambda: next(ticks)
        )
        await nursery.start(server.run)
        store = Store(send, timeout=60.0)

        def runaway(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
            ).fetchone()[0]

        with pytest.raises(StoreError):
            await store._call("runaway", runaway)
        await store.put_session(record())
        assert await store.get_session("s1") == record()

    async def test_call_without_a_running_store_times_out(self, autojump_clock):
        send, _receive = open_store_channel()
        store = Store(send, timeout=2.0)
        with pytest.raises(StoreTimeout):
            await store.get_session("s1")
        assert trio.current_time() == 2.0

    async def test_newer_schema_is_refused(self, tmp_path: Path):
        path = tmp_path / "live.db"
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version=99")
        conn.close()
        _send, receive = open_store_channel()
        with pytest.RaisesGroup(pytest.RaisesExc(StoreError, match="schema version 99")):
            async with trio.open_nursery() as nursery:
                await nursery.start(StoreServer(receive, path=str(path)).run)


WRITER = textwrap.dedent(
    """
    import sys, trio
    from livesvc.logs import configure_logging
    from livesvc.store import SessionRecord, Store, StoreServer, open_store_channel

    async def main(path):
        send, receive = open_store_channel()
        async with trio.open_nursery() as nursery:
            await nursery.start(StoreServer(receive, path=path).run)
            store = Store(send)
            for i in range(10_000):
                await store.put_session(SessionRecord(
                    session_id=f"s{i}", principal="key:dev", profile="p", model="m",
                    status="active", created_at=float(i), updated_at=float(i)))
                print(i, flush=True)

    configure_logging(stream=sys.stderr)
    trio.run(main, sys.argv[1])
    """
)


async def test_kill_9_loses_nothing_committed(tmp_path: Path):
    """Every write a caller saw return is on disk after SIGKILL in mid-stream."""
    path = str(tmp_path / "live.db")
    with trio.fail_after(60):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE
        )
        assert process.stdout is not None
        seen = b""
        while seen.count(b"\n") < 50:
            seen += await process.stdout.receive_some()
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    committed = [int(line) for line in seen.split(b"\n")[:-1]]
    send, receive = open_store_channel()
    async with trio.open_nursery() as nursery:
        await nursery.start(StoreServer(receive, path=path).run)
        stored = {r.session_id for r in await Store(send).list_sessions(limit=100_000)}
        nursery.cancel_scope.cancel()
    assert process.returncode == -signal.SIGKILL
    assert {f"s{i}" for i in committed} <= stored
