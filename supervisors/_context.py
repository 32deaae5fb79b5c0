"""The per-incarnation context a supervisor passes to each child it starts.

Stopping in trio has two steps, and this context carries the first:

1. **Ask.** The supervisor calls :meth:`ChildContext.request_stop`. The child sees it
   as :attr:`~ChildContext.stop_requested`, by awaiting
   :meth:`~ChildContext.wait_stop_requested`, or (most conveniently) because the
   body of ``with ctx.cancel_on_stop():`` is cancelled. Code after that block runs
   normally and can finish cleanly (flush, send a close frame) before returning.
2. **Cancel.** If the child is still running when its ``shutdown`` grace ends, its
   supervisor cancels it. Cleanup that must still await then needs
   ``with trio.move_on_after(t, shield=True)``.

A context belongs to one incarnation; a restarted child gets a fresh one, so a
stop request can never leak into the next incarnation (a ``Stop`` message left
in a shared mailbox could). Build one yourself to test an actor without a
supervisor.

Example::

    import trio

    from supervisors import ChildContext

    done = []

    async def pump(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        with ctx.cancel_on_stop():
            await trio.sleep_forever()    # the actor's loop
        done.append("flushed")            # graceful cleanup after the ask

    async def main():
        ctx = ChildContext(id="pump")
        async with trio.open_nursery() as nursery:
            await nursery.start(pump, ctx)
            ctx.request_stop()
        assert done == ["flushed"]

    trio.run(main)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import trio


class ChildContext:
    """What one incarnation of a child knows about its supervision.

    Args:
        id: the child's id.
        incarnation: 1 for the first start, then one more per restart.
        supervisor: the supervising supervisor's name.
    """

    __slots__ = ("_id", "_incarnation", "_scopes", "_stop", "_supervisor")

    def __init__(self, *, id: str, incarnation: int = 1, supervisor: str = "") -> None:
        self._id = id
        self._incarnation = incarnation
        self._supervisor = supervisor
        self._stop = trio.Event()
        self._scopes: set[trio.CancelScope] = set()

    def __repr__(self) -> str:
        return (
            f"ChildContext(id={self._id!r}, incarnation={self._incarnation}, "
            f"supervisor={self._supervisor!r}, stop_requested={self.stop_requested})"
        )

    @property
    def id(self) -> str:
        """The child's id."""
        return self._id

    @property
    def incarnation(self) -> int:
        """1 for the first start, then one more per restart."""
        return self._incarnation

    @property
    def supervisor(self) -> str:
        """The supervising supervisor's name."""
        return self._supervisor

    @property
    def stop_requested(self) -> bool:
        """Whether the supervisor has asked this incarnation to stop."""
        return self._stop.is_set()

    async def wait_stop_requested(self) -> None:
        """Wait until the supervisor asks this incarnation to stop."""
        await self._stop.wait()

    @contextmanager
    def cancel_on_stop(self) -> Iterator[trio.CancelScope]:
        """A cancel scope that is cancelled when a stop is requested.

        The ``with`` block ends quietly on the request; the code after it is the
        child's graceful shutdown, which runs within the supervisor's grace period.
        """
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                if self._stop.is_set():
                    scope.cancel(reason="stop requested")
                yield scope
            finally:
                self._scopes.discard(scope)

    def request_stop(self) -> None:
        """Ask this incarnation to stop (idempotent)."""
        self._stop.set()
        for scope in list(self._scopes):
            scope.cancel(reason="stop requested")
