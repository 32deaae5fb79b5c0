"""The supervision engine shared by :class:`Supervisor` and :class:`DynamicSupervisor`.

One task (the one running :meth:`SupervisorBase.run`) makes every decision, as
an OTP supervisor process does: it receives child exits from a queue, applies
the restart table, the intensity window and the strategy, terminates siblings in
reverse order and schedules restarts. Everything that waits runs elsewhere:

- each incarnation of a child runs in its own task in the supervisor's nursery,
  inside its own cancel scope, and reports its exit to the queue;
- each restart waits out its backoff in a separate task, so one child's delay
  never holds up the handling of another child's exit.

Exceptions: only ``Exception`` (which includes ``ExceptionGroup``) is caught from
children. Cancellation and ``KeyboardInterrupt`` propagate untouched.

:class:`SupervisorBase` is the common type of both supervisors, for code that
takes either (an admin API listing a tree, a health check).

Example::

    import trio

    from supervisors import ChildSpec, DynamicSupervisor, Supervisor, SupervisorBase

    async def idle(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        await trio.sleep_forever()

    def ids(sup: SupervisorBase) -> list[str]:
        return [child.id for child in sup.which_children()]

    async def main():
        sessions = DynamicSupervisor("sessions", max_children=8)
        service = Supervisor(
            "service", [ChildSpec(id="store", start=idle, shutdown=None), sessions.child_spec()]
        )
        async with service.running():
            await sessions.start_child(ChildSpec(id="s1", start=idle, shutdown=None))
            assert ids(service) == ["store", "sessions"] and ids(sessions) == ["s1"]

    trio.run(main)
"""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar, Self

import structlog
import trio

from ._backoff import Backoff
from ._context import ChildContext
from ._errors import (
    ChildKilled,
    ChildNotFound,
    RestartIntensityExceeded,
    StartFailed,
    SupervisorError,
)
from ._log import log
from ._records import (
    ChildRecord,
    EventQueue,
    Exited,
    Incarnation,
    ReadySignal,
    StartAborted,
    StopRequested,
    describe_exit,
)
from ._restart import Outcome, Restart, classify_exit, should_restart
from ._snapshot import ChildSnapshot, ChildState, SupervisorSnapshot, SupervisorState
from ._spec import ChildSpec
from ._window import RestartWindow

DEFAULT_BACKOFF = Backoff()


class SupervisorBase:
    """What every supervisor has: run, stop, snapshots and child bookkeeping."""

    kind: ClassVar[str]

    def __init__(
        self,
        name: str,
        *,
        intensity: int,
        period: float,
        backoff: Backoff,
        rng: random.Random | None,
    ) -> None:
        if not name:
            raise ValueError("a supervisor needs a non-empty name")
        self.name = name
        self._window = RestartWindow(intensity=intensity, period=period)
        self._backoff = backoff
        self._rng = rng if rng is not None else random.Random()
        self._state = SupervisorState.IDLE
        self._nursery: trio.Nursery | None = None
        self._children: dict[str, ChildRecord] = {}
        self._events = EventQueue()
        self._finished = trio.Event()
        self._stop_requested = False

    # -- hooks for the concrete supervisors ---------------------------------

    @property
    def strategy(self) -> str:
        """The restart strategy's name."""
        raise NotImplementedError

    def _initial_specs(self) -> list[ChildSpec]:
        raise NotImplementedError

    def _restart_group(self, child: ChildRecord) -> list[ChildRecord]:
        """The children to restart (in start order) when ``child`` is restarted."""
        raise NotImplementedError

    def _after_final_exit(self, child: ChildRecord) -> str | None:
        """Called when ``child`` exited and will not be restarted; a returned
        reason stops the supervisor."""
        raise NotImplementedError

    async def _terminate_all(self, reason: str) -> None:
        raise NotImplementedError

    # -- public -------------------------------------------------------------

    @property
    def state(self) -> SupervisorState:
        """Where the supervisor is in its life cycle."""
        return self._state

    @property
    def intensity(self) -> int:
        """Restarts allowed within :attr:`period` seconds."""
        return self._window.intensity

    @property
    def period(self) -> float:
        """Length of the restart window in seconds."""
        return self._window.period

    async def run(
        self,
        ctx: ChildContext | None = None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Start the children in order, then supervise them until stopped.

        Use it as ``await nursery.start(sup.run)``: that returns once every initial
        child has called ``task_status.started()``. ``ctx`` is given when this
        supervisor is itself a child; its stop request makes this supervisor stop
        its children in order and return.

        Raises:
            StartFailed: an initial child failed before it was ready (raised from
                ``nursery.start``, after the children already started were stopped).
            RestartIntensityExceeded: too many restarts; all children were stopped.
            RuntimeError: the supervisor is already running.
        """
        if self._state in (
            SupervisorState.STARTING,
            SupervisorState.RUNNING,
            SupervisorState.STOPPING,
        ):
            raise RuntimeError(f"supervisor {self.name!r} is already running")
        self._state = SupervisorState.STARTING
        self._children = {spec.id: ChildRecord(spec) for spec in self._initial_specs()}
        self._events = EventQueue()
        self._window.clear()
        self._finished = trio.Event()
        self._stop_requested = False
        failure: SupervisorError | None = None
        reason = "aborted"  # cancelled from outside, or KeyboardInterrupt
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if ctx is not None:
                    nursery.start_soon(self._forward_stop_request, ctx)
                failure = await self._start_initial_children()
                if failure is None:
                    self._state = SupervisorState.RUNNING
                    log.info(
                        "supervisor.started",
                        supervisor=self.name,
                        strategy=self.strategy,
                        children=list(self._children),
                    )
                    task_status.started()
                    reason, failure = await self._supervise()
                else:
                    reason = "start_failed"
                self._state = SupervisorState.STOPPING
                log.info("supervisor.stopping", supervisor=self.name, reason=reason)
                await self._terminate_all(reason)
                nursery.cancel_scope.cancel(reason=f"supervisor {self.name!r} stopped")
        finally:
            # The nursery has exited: whatever the path out, nothing runs any more.
            for child in self._children.values():
                child.state = ChildState.STOPPED
                child.pending = None
                child.next_start_at = None
            self._state = SupervisorState.STOPPED
            self._nursery = None
            self._finished.set()
            log.info("supervisor.stopped", supervisor=self.name, reason=reason)
        if failure is not None:
            # Raised outside the nursery, so callers get it bare, not in a group
            # made by our nursery (theirs may still group it).
            raise failure

    async def stop(self) -> None:
        """Stop gracefully: terminate every child (see ``shutdown``), then return.

        Returns once :meth:`run` has finished; returns at once if it is not running.
        Static supervisors stop their children one by one in reverse start order.
        """
        if self._state in (SupervisorState.IDLE, SupervisorState.STOPPED):
            return
        self._request_stop("stop")
        await self._finished.wait()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Self]:
        """Run the supervisor for the duration of an ``async with`` block.

        The block starts once every initial child is ready. Leaving it normally
        stops the supervisor gracefully; an exception in the block, or an
        escalation from the supervisor, cancels both. Errors come out as an
        exception group, as from any nursery (``StartFailed`` included): catch
        them with ``except* RestartIntensityExceeded``.
        """
        async with trio.open_nursery() as nursery:
            await nursery.start(self.run)
            yield self
            await self.stop()

    def child_spec(
        self,
        *,
        id: str | None = None,
        restart: Restart = Restart.PERMANENT,
        shutdown: float | None = math.inf,
        backoff: Backoff | None = None,
        significant: bool = False,
    ) -> ChildSpec:
        """A spec that runs this supervisor as the child of another.

        ``shutdown`` defaults to infinity as in OTP: a parent waits for a child
        supervisor to stop its own children in order.
        """
        return ChildSpec(
            id=id or self.name,
            start=self.run,
            restart=restart,
            shutdown=shutdown,
            backoff=backoff,
            significant=significant,
            subtree=self.snapshot,
        )

    def kill_child(self, id: str) -> bool:
        """Kill child ``id`` now, as OTP's ``exit(Pid, kill)``: no grace, no stop request.

        Its running incarnation is cancelled and its exit reported as an error
        (:class:`ChildKilled`), so it is restarted per its spec and counts
        against the restart intensity, like any crash. Meant for fault injection
        and for an owner that knows a child is stuck.

        Returns ``False`` (and does nothing) when the child is not running: it
        is starting, waiting to restart, stopping or stopped.

        Raises:
            ChildNotFound: no child has this id.

        Example::

            async with sup.running():
                assert sup.kill_child("pinger")   # restarted per its spec
        """
        child = self._children.get(id)
        if child is None:
            raise ChildNotFound(supervisor=self.name, child=id)
        inc = child.current
        if inc is None or inc.settled or inc.started_at is None or inc.exited.is_set():
            return False
        inc.killed = True
        inc.scope.cancel(reason=f"supervisor {self.name!r}: kill_child")
        log.warning("child.killing", supervisor=self.name, child=id, incarnation=inc.number)
        return True

    def which_children(self) -> list[ChildSnapshot]:
        """Every child, in start order, with its state and counters."""
        return [self._child_snapshot(child) for child in self._children.values()]

    def lookup(self, id: str) -> ChildSnapshot | None:
        """The child with this id, or ``None``."""
        child = self._children.get(id)
        return None if child is None else self._child_snapshot(child)

    def snapshot(self) -> SupervisorSnapshot:
        """This supervisor and its subtree, ready for ``msgspec.json.encode``."""
        try:
            recent = self._window.count(trio.current_time())
        except RuntimeError:  # outside trio.run
            recent = len(self._window)
        return SupervisorSnapshot(
            name=self.name,
            kind=self.kind,
            strategy=self.strategy,
            state=self._state,
            intensity=self._window.intensity,
            period=self._window.period,
            recent_restarts=recent,
            max_children=self._max_children_for_snapshot(),
            children=self.which_children(),
        )

    # -- internals ----------------------------------------------------------

    def _max_children_for_snapshot(self) -> int | None:
        return None

    def _child_snapshot(self, child: ChildRecord) -> ChildSnapshot:
        inc = child.current
        running = child.state in (ChildState.RUNNING, ChildState.STOPPING)
        return ChildSnapshot(
            id=child.spec.id,
            state=child.state,
            restart=child.spec.restart.value,
            incarnation=child.incarnations,
            restarts=child.restarts,
            started_at=inc.started_at if inc is not None and running else None,
            next_start_at=child.next_start_at,
            last_exit=child.last_exit,
            subtree=child.spec.subtree() if child.spec.subtree is not None else None,
        )

    def _request_stop(self, reason: str) -> None:
        if not self._stop_requested:
            self._stop_requested = True
            self._events.put(StopRequested(reason))

    async def _forward_stop_request(self, ctx: ChildContext) -> None:
        await ctx.wait_stop_requested()
        self._request_stop("shutdown")

    async def _start_initial_children(self) -> SupervisorError | None:
        for child in self._children.values():
            try:
                await self._start_child(child)
            except Exception as exc:
                failure = StartFailed(supervisor=self.name, child=child.spec.id)
                failure.__cause__ = exc
                return failure
        return None

    async def _supervise(self) -> tuple[str, SupervisorError | None]:
        """The decision loop: returns why the supervisor stops, and any escalation."""
        while True:
            event = await self._events.get()
            if isinstance(event, StopRequested):
                return event.reason, None
            child, inc = event.child, event.inc
            if (
                inc.settled
                or child.current is not inc
                or self._children.get(child.spec.id) is not child
            ):
                continue  # already dealt with (terminated, superseded or removed)
            inc.settled = True
            verdict = await self._handle_exit(child, inc)
            if verdict is not None:
                return verdict

    async def _handle_exit(
        self, child: ChildRecord, inc: Incarnation
    ) -> tuple[str, SupervisorError | None] | None:
        spec = child.spec
        assert inc.outcome is not None
        if not should_restart(spec.restart, inc.outcome):
            child.state = ChildState.STOPPED
            stop_reason = self._after_final_exit(child)
            return None if stop_reason is None else (stop_reason, None)

        now = trio.current_time()
        if not self._window.allow(now):
            log.error(
                "supervisor.escalating",
                supervisor=self.name,
                child=spec.id,
                incarnation=inc.number,
                reason=inc.reason,
                intensity=self._window.intensity,
                period=self._window.period,
            )
            failure = RestartIntensityExceeded(
                supervisor=self.name,
                child=spec.id,
                incarnation=inc.number,
                intensity=self._window.intensity,
                period=self._window.period,
                reason=inc.reason,
            )
            failure.__cause__ = inc.error
            return "escalated", failure

        backoff = spec.backoff or self._backoff
        if inc.started_at is not None and now - inc.started_at >= backoff.reset_after:
            child.attempt = 0
        delay = backoff.delay(child.attempt, self._rng)
        child.attempt += 1
        child.restarts += 1
        child.state = ChildState.RESTARTING

        group = self._restart_group(child)
        for sibling in reversed(group):
            if sibling is not child:
                await self._terminate(sibling, reason="sibling_exited")
        # OTP: a temporary child is never restarted, even when a sibling's exit
        # terminated it.
        restarting = [c for c in group if c is child or c.spec.restart is not Restart.TEMPORARY]
        self._schedule_restart(restarting, delay, cause=child, reason=inc.reason)
        return None

    def _schedule_restart(
        self, group: list[ChildRecord], delay: float, *, cause: ChildRecord, reason: str
    ) -> None:
        assert self._nursery is not None
        scope = trio.CancelScope()
        start_at = trio.current_time() + delay
        for child in group:
            child.pending = scope
            child.state = ChildState.RESTARTING
            child.next_start_at = start_at
            log.warning(
                "child.restarting",
                supervisor=self.name,
                child=child.spec.id,
                incarnation=child.incarnations + 1,
                reason=reason if child is cause else "sibling_exited",
                cause=cause.spec.id,
                delay=delay,
                attempt=child.attempt,
                restarts=child.restarts,
            )
        self._nursery.start_soon(self._restart_later, group, delay, scope)

    async def _restart_later(
        self, group: list[ChildRecord], delay: float, scope: trio.CancelScope
    ) -> None:
        with scope:
            await trio.sleep(delay)
            for child in group:
                if child.pending is not scope:
                    continue
                try:
                    await self._start_child(child, why="restart")
                except Exception:
                    inc = child.current
                    if inc is not None and not inc.settled:
                        # A failed restart is an exit like any other: the loop
                        # counts it and restarts this child and its group again.
                        self._events.put(Exited(child, inc))
                    return
                finally:
                    if child.pending is scope:
                        child.pending = None

    async def _start_child(self, child: ChildRecord, *, why: str = "start") -> None:
        """Start one incarnation; returns once it is ready, raises if it is not.

        ``why`` ("start" or "restart") is the ``reason`` of its ``child.started`` event.
        """
        assert self._nursery is not None
        child.incarnations += 1
        inc = Incarnation(
            child.incarnations,
            ChildContext(id=child.spec.id, incarnation=child.incarnations, supervisor=self.name),
            why,
        )
        child.current = inc
        child.state = ChildState.STARTING
        child.next_start_at = None
        try:
            await self._nursery.start(self._run_incarnation, child, inc)
        except Exception as exc:
            if not inc.settled:
                inc.outcome = Outcome.ERROR
                inc.error = exc
                inc.reason = describe_exit(Outcome.ERROR, exc)
                child.last_exit = inc.reason
                child.state = ChildState.STOPPED
                log.error(
                    "child.start_failed",
                    supervisor=self.name,
                    child=child.spec.id,
                    incarnation=inc.number,
                    reason=inc.reason,
                    exc_info=exc,
                )
            raise
        finally:
            if inc.started_at is None:
                inc.exited.set()  # its task may never have run

    def _on_ready(self, child: ChildRecord, inc: Incarnation) -> None:
        inc.started_at = trio.current_time()
        if child.current is inc and not inc.settled:
            child.state = ChildState.RUNNING
        log.info(
            "child.started",
            supervisor=self.name,
            child=child.spec.id,
            incarnation=inc.number,
            reason=inc.why,
        )

    async def _run_incarnation(
        self, child: ChildRecord, inc: Incarnation, *, task_status: trio.TaskStatus[None]
    ) -> None:
        spec = child.spec
        ready = ReadySignal(task_status, lambda: self._on_ready(child, inc))
        error: Exception | None = None
        try:
            with (
                structlog.contextvars.bound_contextvars(actor=spec.id, incarnation=inc.number),
                inc.scope,
            ):
                try:
                    await spec.start(inc.ctx, task_status=ready)
                except Exception as exc:
                    if inc.started_at is None:
                        raise  # a start failure: nursery.start raises it
                    error = exc
                else:
                    if inc.started_at is None and not inc.scope.cancel_called:
                        raise RuntimeError(
                            f"child {spec.id!r} returned before calling task_status.started()"
                        )
            if inc.started_at is None:
                raise StartAborted(spec.id)

            if error is not None:
                outcome = classify_exit(error)
            elif inc.scope.cancelled_caught and inc.killed:
                error = ChildKilled(spec.id)
                outcome = Outcome.ERROR
            elif inc.scope.cancelled_caught:
                outcome = Outcome.KILLED
            else:
                outcome = Outcome.NORMAL
            inc.outcome = outcome
            inc.error = error
            inc.reason = describe_exit(outcome, error)
            if child.current is inc:
                child.last_exit = inc.reason
            fields: dict[str, Any] = {
                "supervisor": self.name,
                "child": spec.id,
                "incarnation": inc.number,
                "outcome": outcome.value,
                "reason": inc.reason,
                "uptime": trio.current_time() - inc.started_at,
            }
            if outcome is Outcome.ERROR:
                log.warning("child.exited", exc_info=error, **fields)
            else:
                log.info("child.exited", **fields)
            if not inc.settled:
                child.state = ChildState.STOPPED
                self._events.put(Exited(child, inc))
        finally:
            inc.exited.set()

    async def _terminate(self, child: ChildRecord, *, reason: str) -> None:
        """Stop one child: ask, wait its grace, then cancel (or cancel at once)."""
        if child.pending is not None:
            child.pending.cancel(reason=f"supervisor {self.name!r}: {reason}")
            child.pending = None
        child.next_start_at = None
        inc = child.current
        if inc is None or inc.exited.is_set():
            if inc is not None:
                inc.settled = True
            child.state = ChildState.STOPPED
            return
        if inc.settled:
            # Another task is already terminating it (or the loop owns its exit).
            await inc.exited.wait()
            return
        inc.settled = True
        child.state = ChildState.STOPPING
        grace = child.spec.shutdown if inc.started_at is not None else None
        log.info(
            "child.stopping",
            supervisor=self.name,
            child=child.spec.id,
            incarnation=inc.number,
            reason=reason,
            grace=grace,
        )
        try:
            if grace is not None:
                inc.ctx.request_stop()
                with trio.move_on_after(grace):
                    await inc.exited.wait()
        finally:
            if not inc.exited.is_set():
                inc.scope.cancel(reason=f"supervisor {self.name!r}: {reason}")
                log.info(
                    "child.killed",
                    supervisor=self.name,
                    child=child.spec.id,
                    incarnation=inc.number,
                    reason=reason,
                    grace=grace,
                )
        await inc.exited.wait()
        if child.current is inc:
            child.state = ChildState.STOPPED

    def _cancel_pending_restarts(self) -> None:
        for child in self._children.values():
            if child.pending is not None:
                child.pending.cancel(reason=f"supervisor {self.name!r} stopping")
                child.pending = None
                child.next_start_at = None
                if child.current is None or child.current.exited.is_set():
                    child.state = ChildState.STOPPED
