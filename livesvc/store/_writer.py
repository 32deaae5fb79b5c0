"""Write-behind persistence of session records: coalesced per session, batched per transaction.

A gateway session never waits for SQLite on its relay path. It hands its
newest record to the :class:`SessionWriter` (``submit`` never blocks); the
writer keeps only the newest record per session and writes everything pending
in one transaction (one fsync) per round. A :class:`Ticket` says when the
record it was given (or a newer one of the same session) is committed, so a
caller that needs durability (a daemon handle about to be shown to a client)
waits for that, and nobody else does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import trio

from livesvc.logs import get_logger
from livesvc.store._records import SessionRecord
from livesvc.store._store import Store, StoreError

__all__ = ["SessionWriter", "Ticket"]

log = get_logger(__name__)


class Ticket:
    """The fate of one submitted record: committed (``ok``) or not, and any handle issued with it.

    Example::

        ticket = writer.submit(record, issue_handle=True)
        if await ticket.wait():
            deliver(ticket.handle)
    """

    def __init__(self) -> None:
        self.ok: bool | None = None  # None while the write is pending
        self.handle: str | None = None
        self._done = trio.Event()
        self._callbacks: list[Callable[[Ticket], None]] = []

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def on_done(self, callback: Callable[[Ticket], None]) -> None:
        """Call ``callback(ticket)`` (synchronously, once) when the write ends, or now if it has."""
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    async def wait(self) -> bool:
        """Wait for the write; ``True`` if the record is durable."""
        await self._done.wait()
        return bool(self.ok)

    def _finish(self, ok: bool, handle: str | None = None) -> None:
        if self.done:
            return
        self.ok, self.handle = ok, handle
        self._done.set()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(self)
            except Exception as err:  # a caller's bug must not stop the writer
                log.error("store.writer_callback_failed", error=repr(err))


def _forward_to(older: Ticket) -> Callable[[Ticket], None]:
    """Resolve a superseded ticket with the fate of the record that replaced it."""

    def forward(newer: Ticket) -> None:
        older._finish(bool(newer.ok), newer.handle)

    return forward


class _Pending:
    __slots__ = ("issue_handle", "record", "ticket")

    def __init__(self, record: SessionRecord, issue_handle: bool) -> None:
        self.record = record
        self.issue_handle = issue_handle
        self.ticket = Ticket()


class SessionWriter:
    """One writer per daemon: sessions submit records, ``run`` writes them in batches.

    Records submitted while ``run`` is not running (e.g. between restarts of
    its owner) wait for the next ``run``. A failed batch is counted and
    logged; its records are written again with the next batch (unless a
    newer record of the same session replaced them) and their tickets fail.

    Example::

        writer = SessionWriter(store)
        await nursery.start(writer.run)
        writer.submit(record)  # returns at once
    """

    def __init__(
        self,
        store: Store,
        *,
        retry_delay: float = 1.0,
        final_flush_timeout: float = 5.0,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._retry_delay = retry_delay
        self._final_flush_timeout = final_flush_timeout
        self._on_error = on_error
        self._pending: dict[str, _Pending] = {}
        self._wakeup = trio.Event()
        self._writing = trio.Lock()  # run and flush never write at the same time
        self._running = False
        self.batches = 0  # transactions committed, for tests and diagnostics

    @property
    def running(self) -> bool:
        """``run`` is serving; when it is not, whoever needs durability calls :meth:`flush`."""
        return self._running

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(self, record: SessionRecord, *, issue_handle: bool = False) -> Ticket:
        """Queue ``record`` (replacing any pending record of its session); never blocks.

        ``issue_handle``: also issue a daemon resumption handle in the same
        transaction (``ticket.handle`` once committed).
        """
        pending = self._pending.get(record.session_id)
        if pending is None:
            pending = self._pending[record.session_id] = _Pending(record, issue_handle)
        else:
            pending.record = record
            pending.issue_handle = pending.issue_handle or issue_handle
        self._wakeup.set()
        return pending.ticket

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write batches until cancelled; then one last, bounded flush."""
        self._running = True
        task_status.started()
        try:
            while True:
                await self._wakeup.wait()
                if not await self._write_or_fail():
                    await trio.sleep(self._retry_delay)
        finally:
            self._running = False
            with trio.move_on_after(self._final_flush_timeout, shield=True):
                if self._pending:
                    await self._write_or_fail()

    async def flush(self) -> bool:
        """Write everything pending now; ``True`` on success.

        For callers that need a record durable while ``run`` is not serving
        (a session finishing after the gateway that runs the writer stopped).
        """
        return await self._write_or_fail()

    async def _write_pending(self) -> bool:
        batch, self._pending = self._pending, {}
        # fleet fix: a flush() beside run() must not leave run() waiting on an event
        # nobody sets any more: wake it, and it waits again on the new one.
        stale, self._wakeup = self._wakeup, trio.Event()
        stale.set()
        if not batch:
            return True
        try:
            handles = await self._write(list(batch.values()))
        except BaseException as err:
            # Cancelled mid-write, or failed: the batch is pending again (a newer record
            # of a session wins), so the final flush or the next round writes it.
            self._requeue(batch, failed=isinstance(err, StoreError))
            raise
        self.batches += 1
        for session_id, pending in batch.items():
            pending.ticket._finish(True, handles.get(session_id))
        return True

    def _requeue(self, batch: dict[str, _Pending], *, failed: bool) -> None:
        for session_id, pending in batch.items():
            newer = self._pending.get(session_id)
            if failed:
                pending.ticket._finish(False)  # a failed handle is not retried
                if newer is None:
                    self._pending[session_id] = _Pending(pending.record, issue_handle=False)
            elif newer is None:
                self._pending[session_id] = pending
            else:
                newer.issue_handle = newer.issue_handle or pending.issue_handle
                newer.ticket.on_done(_forward_to(pending.ticket))
        self._wakeup.set()

    async def _write_or_fail(self) -> bool:
        try:
            async with self._writing:
                return await self._write_pending()
        except StoreError as err:
            if self._on_error is not None:
                self._on_error()
            log.error("store.batch_failed", error=str(err))
            return False

    async def _write(self, batch: list[_Pending]) -> dict[str, str]:
        records = [p.record for p in batch]
        wanted = [p.record.session_id for p in batch if p.issue_handle]
        write_sessions: Any = getattr(self._store, "write_sessions", None)
        if write_sessions is not None:
            result: dict[str, str] = await write_sessions(records, issue_handles_for=wanted)
            return result
        # A store with only the one-record calls (a test fake): same outcome, more round trips.
        try:
            for record in records:
                await self._store.put_session(record)
            return {
                p.record.session_id: await self._store.issue_handle(
                    p.record.session_id, now=p.record.updated_at
                )
                for p in batch
                if p.issue_handle
            }
        except sqlite3.Error as err:
            raise StoreError(f"store: write failed: {err}") from err
