"""The supervisor's private bookkeeping: children, incarnations and its inbox.

Nothing here decides anything; :mod:`supervisors._core` does. Each record is
touched only by the supervisor's own tasks, between checkpoints, so no locks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import trio

from ._context import ChildContext
from ._restart import Outcome, Shutdown
from ._snapshot import ChildState
from ._spec import ChildSpec

_REASON_LIMIT = 300


class StartAborted(Exception):
    """The supervisor cancelled a child before it was ready (internal)."""

    def __init__(self, child: str) -> None:
        super().__init__(f"child {child!r} was stopped by its supervisor before it was ready")


class Incarnation:
    """One run of a child, from start to exit."""

    __slots__ = (
        "ctx",
        "error",
        "exited",
        "killed",
        "number",
        "outcome",
        "reason",
        "scope",
        "settled",
        "started_at",
        "why",
    )

    def __init__(self, number: int, ctx: ChildContext, why: str) -> None:
        self.number = number
        self.why = why  # why it starts: "start" or "restart"
        self.ctx = ctx
        self.scope = trio.CancelScope()
        self.exited = trio.Event()
        self.started_at: float | None = None
        self.outcome: Outcome | None = None
        self.error: Exception | None = None
        self.reason = ""
        # Set once the supervisor has taken charge of this incarnation's end
        # (it is terminating it, or has handled its exit): a late exit report
        # for it is then ignored, so it is never handled twice.
        self.settled = False
        self.killed = False  # kill_child() cancelled it: its exit is an error


class ChildRecord:
    """A supervisor's record of one child across its incarnations."""

    __slots__ = (
        "attempt",
        "current",
        "incarnations",
        "last_exit",
        "next_start_at",
        "pending",
        "restarts",
        "spec",
        "state",
    )

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.state = ChildState.STOPPED
        self.incarnations = 0
        self.restarts = 0
        self.attempt = 0  # backoff attempt since the last reset
        self.current: Incarnation | None = None
        self.pending: trio.CancelScope | None = None  # a scheduled restart
        self.next_start_at: float | None = None
        self.last_exit: str | None = None


class Exited:
    __slots__ = ("child", "inc")

    def __init__(self, child: ChildRecord, inc: Incarnation) -> None:
        self.child = child
        self.inc = inc


class StopRequested:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class EventQueue:
    """The supervisor's inbox. Bounded by construction: at most one exit per live
    incarnation plus one stop request, so it never needs backpressure."""

    def __init__(self) -> None:
        self._items: deque[Exited | StopRequested] = deque()
        self._lot = trio.lowlevel.ParkingLot()

    def put(self, item: Exited | StopRequested) -> None:
        self._items.append(item)
        self._lot.unpark_all()

    async def get(self) -> Exited | StopRequested:
        await trio.lowlevel.checkpoint()
        while not self._items:
            await self._lot.park()
        return self._items.popleft()


class ReadySignal(trio.TaskStatus[Any]):
    """Passes a child's ``task_status.started()`` on, noting when it happened."""

    def __init__(self, outer: trio.TaskStatus[None], on_ready: Callable[[], None]) -> None:
        self._outer = outer
        self._on_ready = on_ready

    def started(self, value: Any = None) -> None:
        self._outer.started()
        self._on_ready()


def describe_exit(outcome: Outcome, error: BaseException | None) -> str:
    """A short, log-friendly reason for an exit."""
    if outcome is Outcome.SHUTDOWN and isinstance(error, Shutdown):
        text = f"shutdown: {error.reason}"
    elif outcome is Outcome.ERROR and error is not None:
        text = repr(error)
    else:
        text = outcome.value
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 3] + "..."
