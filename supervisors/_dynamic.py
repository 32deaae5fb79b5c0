"""A supervisor whose children come and go at run time (one per session, say).

It is ``one_for_one`` with a cap on the number of children. Children are added
with :meth:`DynamicSupervisor.start_child` (which returns once the child is ready,
and raises if it fails to start) and removed with
:meth:`~DynamicSupervisor.terminate_child`; a child that exits for good (transient
after a clean exit, temporary after any exit) is removed by itself. When the
supervisor stops, it stops all children at once, as OTP's dynamic supervisors do,
so that one slow child does not hold up every other one's shutdown.

Example::

    import trio

    from supervisors import ChildSpec, DynamicSupervisor, Restart, SupervisorFull

    async def session(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        with ctx.cancel_on_stop():
            await trio.sleep_forever()

    async def main():
        sessions = DynamicSupervisor("sessions", max_children=2)
        async with trio.open_nursery() as nursery:
            await nursery.start(sessions.run)
            for sid in ("s1", "s2"):
                await sessions.start_child(
                    ChildSpec(id=sid, start=session, restart=Restart.TEMPORARY))
            try:
                await sessions.start_child(ChildSpec(id="s3", start=session))
            except SupervisorFull:
                pass
            assert [c.id for c in sessions.which_children()] == ["s1", "s2"]
            await sessions.terminate_child("s1")
            assert sessions.lookup("s1") is None
            await sessions.stop()

    trio.run(main)
"""

from __future__ import annotations

import random

import trio

from ._backoff import Backoff
from ._core import DEFAULT_BACKOFF, SupervisorBase
from ._errors import (
    ChildNotFound,
    DuplicateChild,
    StartFailed,
    SupervisorFull,
    SupervisorNotRunning,
)
from ._log import log
from ._records import ChildRecord
from ._snapshot import ChildSnapshot, SupervisorState
from ._spec import ChildSpec


class DynamicSupervisor(SupervisorBase):
    """Supervises children added and removed at run time (``one_for_one``).

    Args:
        name: names the supervisor in logs, snapshots and errors.
        max_children: the most children it holds at once (starting, running,
            restarting or stopping all count).
        intensity: restarts allowed within ``period`` seconds, over all children.
        period: the restart window in seconds.
        backoff: restart delays for children whose spec has none.
        rng: the source of backoff jitter (seed it in tests).
    """

    kind = "dynamic"

    def __init__(
        self,
        name: str,
        *,
        max_children: int,
        intensity: int = 1,
        period: float = 5.0,
        backoff: Backoff = DEFAULT_BACKOFF,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(name, intensity=intensity, period=period, backoff=backoff, rng=rng)
        if max_children < 1:
            raise ValueError(f"max_children must be >= 1, got {max_children}")
        self.max_children = max_children

    @property
    def strategy(self) -> str:
        """Always ``one_for_one``."""
        return "one_for_one"

    def __len__(self) -> int:
        return len(self._children)

    async def start_child(self, spec: ChildSpec) -> ChildSnapshot:
        """Start a child and return its snapshot once it is ready.

        Raises:
            SupervisorNotRunning: the supervisor is not running.
            DuplicateChild: a child with this id is already supervised.
            SupervisorFull: ``max_children`` children are already supervised.
            StartFailed: the child failed before it was ready (``__cause__`` says why).
        """
        if self._state is not SupervisorState.RUNNING:
            raise SupervisorNotRunning(supervisor=self.name, state=self._state.value)
        if spec.id in self._children:
            raise DuplicateChild(supervisor=self.name, child=spec.id)
        if len(self._children) >= self.max_children:
            log.warning(
                "child.start_rejected",
                supervisor=self.name,
                child=spec.id,
                reason="full",
                max_children=self.max_children,
            )
            raise SupervisorFull(
                supervisor=self.name, max_children=self.max_children, child=spec.id
            )
        child = ChildRecord(spec)
        self._children[spec.id] = child  # holds its slot while it starts
        try:
            await self._start_child(child)
        except Exception as exc:
            failure = StartFailed(supervisor=self.name, child=spec.id)
            raise failure from exc
        finally:
            inc = child.current
            if (inc is None or inc.started_at is None) and self._children.get(spec.id) is child:
                del self._children[spec.id]
        return self._child_snapshot(child)

    async def terminate_child(self, id: str) -> None:
        """Stop a child (ask, grace, then cancel) and remove it.

        Raises:
            ChildNotFound: no child has this id.
        """
        child = self._children.get(id)
        if child is None:
            raise ChildNotFound(supervisor=self.name, child=id)
        await self._terminate(child, reason="terminate_child")
        if self._children.get(id) is child:
            del self._children[id]

    def _max_children_for_snapshot(self) -> int | None:
        return self.max_children

    def _initial_specs(self) -> list[ChildSpec]:
        return []

    def _restart_group(self, child: ChildRecord) -> list[ChildRecord]:
        return [child]

    def _after_final_exit(self, child: ChildRecord) -> str | None:
        if self._children.get(child.spec.id) is child:
            del self._children[child.spec.id]
        return None

    async def _terminate_all(self, reason: str) -> None:
        self._cancel_pending_restarts()
        async with trio.open_nursery() as nursery:
            for child in list(self._children.values()):
                nursery.start_soon(self._stop_one, child, reason)

    async def _stop_one(self, child: ChildRecord, reason: str) -> None:
        await self._terminate(child, reason=reason)
