"""The write-behind session writer: coalescing, batched transactions, contained failures."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import trio

from livesvc.store import (
    SessionRecord,
    SessionWriter,
    Store,
    StoreError,
    StoreServer,
    open_store_channel,
)


def record(session_id: str, turns: int = 0) -> SessionRecord:
    return SessionRecord(
        session_id=session_id,
        principal="key:web",
        profile="default",
        model="m",
        status="active",
        created_at=1.0,
        updated_at=1.0 + turns,
        turns=turns,
    )


class BatchStore:
    """Records each batch the writer writes; can fail, or block until released."""

    def __init__(self) -> None:
        self.batches: list[list[SessionRecord]] = []
        self.times: list[float] = []
        self.fail = False
        self.release = trio.Event()
        self.release.set()

    async def write_sessions(
        self, records: list[SessionRecord], *, issue_handles_for: list[str] = ()
    ) -> dict[str, str]:
        await self.release.wait()
        if self.fail:
            raise StoreError("store: write_sessions failed: disk I/O error")
        self.batches.append(list(records))
        self.times.append(trio.current_time())
        return {sid: f"lsh_{sid}" for sid in issue_handles_for}


async def test_many_updates_to_one_session_coalesce_into_one_write_of_the_newest(autojump_clock):
    store = BatchStore()
    writer = SessionWriter(store)  # type: ignore[arg-type]
    tickets = [writer.submit(record("s1", turns=n)) for n in range(100)]
    assert writer.pending == 1
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        assert await tickets[0].wait()
        nursery.cancel_scope.cancel()
    assert [[r.turns for r in batch] for batch in store.batches] == [[99]]
    assert all(t.ok for t in tickets)


async def test_updates_that_arrive_during_a_write_go_in_the_next_batch(autojump_clock):
    store = BatchStore()
    store.release = trio.Event()
    writer = SessionWriter(store)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        first = writer.submit(record("s1", turns=1))
        await trio.testing.wait_all_tasks_blocked()  # the writer is inside the store now
        later = [writer.submit(record(sid, turns=2)) for sid in ("s1", "s2", "s3")]
        assert not first.done
        store.release.set()
        assert await later[0].wait()
        nursery.cancel_scope.cancel()
    assert [[(r.session_id, r.turns) for r in b] for b in store.batches] == [
        [("s1", 1)],
        [("s1", 2), ("s2", 2), ("s3", 2)],
    ]


async def test_a_failed_batch_is_counted_its_tickets_fail_and_its_records_are_retried(
    autojump_clock,
):
    store = BatchStore()
    store.fail = True
    errors = []
    writer = SessionWriter(store, retry_delay=1.0, on_error=lambda: errors.append(1))  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        ticket = writer.submit(record("s1", turns=1), issue_handle=True)
        assert not await ticket.wait()
        assert (ticket.handle, errors) == (None, [1])
        failed_at = trio.current_time()
        store.fail = False
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert store.times == [failed_at + 1.0]  # retried once, after the delay
    assert [[r.turns for r in b] for b in store.batches] == [[1]]


async def test_a_batch_writes_many_sessions_and_their_handles_in_one_transaction(tmp_path: Path):
    send, receive = open_store_channel()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(StoreServer(receive, path=str(tmp_path / "live.db")).run)
            store = Store(send)
            writer = SessionWriter(store)
            tickets = [
                writer.submit(record(f"s{n}", turns=n), issue_handle=n % 2 == 0) for n in range(200)
            ]
            await nursery.start(writer.run)
            assert all([await t.wait() for t in tickets])
            assert writer.batches == 1
            stored = await store.list_sessions()
            assert sorted(r.turns for r in stored) == list(range(200))
            found = await store.find_by_handle(tickets[4].handle or "", now=2.0)
            assert found is not None
            assert found.session_id == "s4"
            assert tickets[3].handle is None
            nursery.cancel_scope.cancel()


async def test_the_writer_flushes_what_is_pending_when_it_is_stopped(tmp_path: Path):
    send, receive = open_store_channel()
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(StoreServer(receive, path=str(tmp_path / "live.db")).run)
            store = Store(send)
            writer = SessionWriter(store)
            async with trio.open_nursery() as inner:
                await inner.start(writer.run)
                writer.submit(record("s1", turns=7))
                inner.cancel_scope.cancel()  # before the writer had a turn
            got = await store.get_session("s1")
            assert got is not None
            assert got.turns == 7
            nursery.cancel_scope.cancel()


BATCH_WRITER = textwrap.dedent(
    """
    import sys, trio
    from livesvc.logs import configure_logging
    from livesvc.store import (
        SessionRecord, SessionWriter, Store, StoreServer, open_store_channel)

    def report(session_id):
        def done(ticket):
            if ticket.ok:
                print(session_id, ticket.handle, flush=True)
        return done

    async def main(path):
        send, receive = open_store_channel()
        async with trio.open_nursery() as nursery:
            await nursery.start(StoreServer(receive, path=path).run)
            writer = SessionWriter(Store(send))
            await nursery.start(writer.run)
            for i in range(100_000):
                ticket = writer.submit(SessionRecord(
                    session_id=f"s{i}", principal="key:dev", profile="p", model="m",
                    status="active", created_at=1.0, updated_at=1.0), issue_handle=True)
                ticket.on_done(report(f"s{i}"))
                if i % 20 == 19:
                    await ticket.wait()

    configure_logging(stream=sys.stderr)
    trio.run(main, sys.argv[1])
    """
)


async def test_kill_9_keeps_every_handle_whose_batch_reported_committed(tmp_path: Path):
    """A handle a session could have shown to its client resumes after SIGKILL mid-stream."""
    path = str(tmp_path / "live.db")
    with trio.fail_after(60):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-c", BATCH_WRITER, path], stdout=subprocess.PIPE
        )
        assert process.stdout is not None
        seen = b""
        while seen.count(b"\n") < 200:
            seen += await process.stdout.receive_some()
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    committed = [line.split() for line in seen.decode().split("\n")[:-1]]
    send, receive = open_store_channel()
    async with trio.open_nursery() as nursery:
        await nursery.start(StoreServer(receive, path=path).run)
        store = Store(send)
        found = [await store.find_by_handle(handle, now=2.0) for _, handle in committed]
        nursery.cancel_scope.cancel()
    assert process.returncode == -signal.SIGKILL
    assert [r.session_id if r else None for r in found] == [sid for sid, _ in committed]
