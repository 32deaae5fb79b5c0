"""A flush beside a running writer (a session handed to another node) must not stall it."""

import trio
import trio.testing

from livesvc.store import SessionRecord, SessionWriter


def record(session_id: str) -> SessionRecord:
    return SessionRecord(
        session_id=session_id,
        principal="key:web",
        profile="default",
        model="m",
        status="active",
        created_at=1.0,
        updated_at=1.0,
    )


class Store:
    def __init__(self) -> None:
        self.written: list[str] = []

    async def write_sessions(
        self, records: list[SessionRecord], *, issue_handles_for: list[str] = ()
    ) -> dict[str, str]:
        self.written += [r.session_id for r in records]
        return {sid: f"lsh_{sid}" for sid in issue_handles_for}


async def test_the_writer_keeps_writing_after_a_flush_from_another_task(autojump_clock):
    store = Store()
    writer = SessionWriter(store)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        assert await writer.submit(record("s1")).wait()
        await trio.testing.wait_all_tasks_blocked()  # run() idle, waiting for work
        # As Gateway.release_session does while run() serves: nothing is pending.
        assert await writer.flush()
        ticket = writer.submit(record("s3"), issue_handle=True)
        with trio.fail_after(5):  # virtual seconds: run() must pick it up by itself
            assert await ticket.wait()
        assert ticket.handle == "lsh_s3"
        nursery.cancel_scope.cancel()
    assert store.written == ["s1", "s3"]
