"""The store actor (one SQLite connection, one writer) and the client other actors call it with.

Every operation is a closure over the connection, sent to the actor's bounded
inbox with a one-shot reply channel (OTP's ``call``). The actor runs them one
at a time in a worker thread (``trio.to_thread.run_sync``), each in its own
transaction, so SQLite never blocks the event loop and there is exactly one
writer. A caller waits at most ``timeout`` seconds; inside the thread a
progress handler aborts any statement that runs past the same deadline.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgspec
import outcome
import trio

from livesvc.logs import get_logger
from livesvc.store import _sql, _usage
from livesvc.store._records import RecordStatus, SessionRecord, TokenRecord, digest
from livesvc.store._usage import UsageRow

__all__ = ["Store", "StoreError", "StoreServer", "StoreTimeout", "open_store_channel"]

log = get_logger(__name__)

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], Any]

# Statements are checked against their deadline every this many SQLite VM steps.
_PROGRESS_STEPS = 10_000


class StoreError(Exception):
    """A store operation failed (the message never contains a handle or token)."""


class StoreTimeout(StoreError):
    """A store operation did not finish within the store's timeout."""


class _Call(msgspec.Struct, frozen=True, kw_only=True):
    operation: Operation
    name: str
    reply: trio.MemorySendChannel[outcome.Outcome[Any]]


def open_store_channel(
    size: int = 64,
) -> tuple[trio.MemorySendChannel[_Call], trio.MemoryReceiveChannel[_Call]]:
    """The store's mailbox. The service owns both ends, so a restarted store keeps it."""
    return trio.open_memory_channel[_Call](size)


class StoreServer:
    """The store actor: opens the database, then serves calls until cancelled.

    Example::

        send, receive = open_store_channel()
        server = StoreServer(receive, path="live.db")
        await nursery.start(server.run)
        store = Store(send)
        await store.get_session("s1")
    """

    def __init__(
        self,
        inbox: trio.MemoryReceiveChannel[_Call],
        *,
        path: str,
        timeout: float = 5.0,
        synchronous: str = "full",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inbox = inbox
        self._path = path
        self._timeout = timeout
        self._synchronous = synchronous
        # The worker thread's clock for a query's deadline (a test counts steps instead).
        self._monotonic = monotonic
        self._deadline = 0.0  # read by the progress handler, in the worker thread

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with trio.fail_after(self._timeout):
            try:
                conn = await trio.to_thread.run_sync(self._open)
            except sqlite3.Error as err:
                raise StoreError(f"store: cannot open {self._path}: {err}") from err
        try:
            async with self._inbox.clone() as inbox:
                log.info("store.opened", path=self._path)
                task_status.started()
                async for call in inbox:
                    result = await trio.to_thread.run_sync(self._execute, conn, call)
                    try:
                        call.reply.send_nowait(result)
                    except (trio.BrokenResourceError, trio.WouldBlock):
                        pass  # the caller timed out or was cancelled; nobody is waiting
        finally:
            with trio.move_on_after(self._timeout, shield=True):
                await trio.to_thread.run_sync(conn.close)

    def _open(self) -> sqlite3.Connection:
        conn = _sql.connect(self._path, synchronous=self._synchronous, busy_timeout=self._timeout)
        conn.set_progress_handler(self._past_deadline, _PROGRESS_STEPS)
        return conn

    def _past_deadline(self) -> bool:
        return self._monotonic() > self._deadline

    def _execute(self, conn: sqlite3.Connection, call: _Call) -> outcome.Outcome[Any]:
        self._deadline = self._monotonic() + self._timeout
        return outcome.capture(call.operation, conn)


class Store:
    """What other actors hold: async methods that call the store actor.

    Handles and tokens are passed in plain and stored only as SHA-256 digests.
    Times are Unix wall-clock seconds, passed in by the caller.
    """

    def __init__(self, outbox: trio.MemorySendChannel[_Call], *, timeout: float = 5.0) -> None:
        self._outbox = outbox
        self._timeout = timeout

    async def _call(self, name: str, operation: Callable[[sqlite3.Connection], T]) -> T:
        reply_send, reply_receive = trio.open_memory_channel[outcome.Outcome[Any]](1)
        try:
            with trio.fail_after(self._timeout):
                await self._outbox.send(_Call(operation=operation, name=name, reply=reply_send))
                result = await reply_receive.receive()
        except trio.TooSlowError:
            log.warning("store.timeout", operation=name, timeout=self._timeout)
            raise StoreTimeout(f"store: {name} took longer than {self._timeout}s") from None
        finally:
            reply_receive.close()
        try:
            value: T = result.unwrap()
        except sqlite3.Error as err:
            log.error("store.failed", operation=name, error=str(err))
            raise StoreError(f"store: {name} failed: {err}") from err
        return value

    async def put_session(self, record: SessionRecord) -> None:
        """Insert or replace the record for ``record.session_id``."""
        await self._call("put_session", lambda c: _sql.upsert_session(c, record))

    async def write_sessions(
        self, records: Sequence[SessionRecord], *, issue_handles_for: Iterable[str] = ()
    ) -> dict[str, str]:
        """Upsert many records and issue one daemon handle per listed session, in one transaction.

        Returns the new handles by session id. Used by :class:`SessionWriter`.

        Example::

            handles = await store.write_sessions([a, b], issue_handles_for=["s-a"])
        """
        rows = list(records)
        times = {r.session_id: r.updated_at for r in rows}
        handles = {sid: "lsh_" + secrets.token_urlsafe(32) for sid in issue_handles_for}
        entries = [(sid, digest(h), times.get(sid, time.time())) for sid, h in handles.items()]
        await self._call("write_sessions", lambda c: _sql.write_sessions(c, rows, entries))
        return handles

    async def update_session(self, session_id: str, **changes: Any) -> SessionRecord | None:
        """Change some fields; returns the new record, ``None`` if there is no such session."""
        return await self._call(
            "update_session", lambda c: _sql.update_session(c, session_id, changes)
        )

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._call("get_session", lambda c: _sql.get_session(c, session_id))

    async def list_sessions(
        self, statuses: Iterable[RecordStatus] | None = None, *, limit: int = 1000
    ) -> list[SessionRecord]:
        wanted = None if statuses is None else tuple(statuses)
        return await self._call("list_sessions", lambda c: _sql.list_sessions(c, wanted, limit))

    async def issue_handle(self, session_id: str, *, now: float) -> str:
        """Give the session one more daemon resumption handle (earlier ones keep working).

        Every handle of a session works until the session closes or its
        ``handle_expires_at`` passes, as Google's handles do.
        """
        handle = "lsh_" + secrets.token_urlsafe(32)
        await self._call(
            "issue_handle", lambda c: _sql.add_handle(c, session_id, digest(handle), now)
        )
        return handle

    async def find_by_handle(self, handle: str, *, now: float) -> SessionRecord | None:
        """The resumable session a daemon handle names, or ``None`` (unknown, closed or expired)."""
        return await self._call(
            "find_by_handle", lambda c: _sql.find_by_handle(c, digest(handle), now)
        )

    async def claim_session(
        self, session_id: str, *, owner: str | None, expected: str | None
    ) -> bool:
        """Take a session over from ``expected`` (its owner as last read); False if someone else did.

        Example::

            if await store.claim_session(record.session_id, owner=me, expected=record.owner):
                restore(record)
        """
        return await self._call(
            "claim_session", lambda c: _sql.claim_session(c, session_id, owner, expected)
        )

    async def detach_owned_by(self, owner: str, *, now: float) -> int:
        """Mark the ``active`` sessions of a dead worker ``detached``; returns how many."""
        return await self._call("detach_owned_by", lambda c: _sql.detach_owned_by(c, owner, now))

    async def mark_orphans_detached(self, *, now: float) -> int:
        return await self._call(
            "mark_orphans_detached", lambda c: _sql.mark_orphans_detached(c, now)
        )

    async def add_token(self, token: str, record: TokenRecord) -> None:
        await self._call("add_token", lambda c: _sql.insert_token(c, digest(token), record))

    async def get_token(self, token: str) -> TokenRecord | None:
        return await self._call("get_token", lambda c: _sql.get_token(c, digest(token)))

    async def use_token(self, token: str, *, now: float) -> TokenRecord | None:
        """Spend one use of ``token`` for a new session; ``None`` when it is unknown, spent or expired."""
        return await self._call("use_token", lambda c: _sql.use_token(c, digest(token), now))

    async def list_tokens(self, *, now: float) -> list[TokenRecord]:
        return await self._call("list_tokens", lambda c: _sql.list_tokens(c, now))

    async def add_usage(self, rows: list[UsageRow]) -> None:
        """Add usage amounts (see :mod:`livesvc.store._usage`)."""
        await self._call("add_usage", lambda conn: _usage.add_usage(conn, rows))

    async def usage_rows(self, *, key: str | None, since: str, until: str) -> list[UsageRow]:
        """Usage rows from ``since`` to ``until`` (UTC days, inclusive)."""
        return await self._call(
            "usage_rows", lambda conn: _usage.usage_rows(conn, key, since, until)
        )

    async def purge(self, *, now: float, keep_closed_seconds: float) -> tuple[int, int]:
        """Delete expired tokens and old sessions; returns (tokens, sessions) deleted."""
        return await self._call("purge", lambda c: _sql.purge(c, now, keep_closed_seconds))
