"""Child specifications: what a supervisor starts, and how it restarts and stops it.

A child's ``start`` is an async callable with the signature
``start(ctx, *, task_status)``. It must call ``task_status.started()`` once it is
really ready (OTP's synchronous ``start_link``): an exception raised before that
is a *start failure* and comes out of whoever started it. ``ctx`` is the
incarnation's :class:`ChildContext`; a child that never looks at it should use
``shutdown=None`` so its supervisor does not wait a grace period for nothing.

Example::

    import math

    import trio

    from supervisors import Backoff, ChildSpec, Restart

    async def pinger(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        while True:
            await trio.sleep(10)

    spec = ChildSpec(
        id="pinger",
        start=pinger,
        restart=Restart.PERMANENT,
        shutdown=None,                           # cancel at once (OTP brutal_kill)
        backoff=Backoff(first=0, base=1, max=30),
    )
    assert spec.shutdown is None and spec.backoff.base == 1
    assert ChildSpec(id="sub", start=pinger, shutdown=math.inf).shutdown == math.inf
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec
import trio

from ._backoff import Backoff
from ._context import ChildContext
from ._restart import Restart
from ._snapshot import SupervisorSnapshot


class ChildStart(Protocol):
    """The signature of a child's ``start``: ``async def run(ctx, *, task_status)``."""

    def __call__(
        self, ctx: ChildContext, /, *, task_status: trio.TaskStatus[Any]
    ) -> Awaitable[None]: ...


class ChildSpec(msgspec.Struct, frozen=True, kw_only=True):
    """How to start, restart and stop one child (OTP's child specification).

    Attributes:
        id: unique among the supervisor's children; used in logs and snapshots.
        start: ``async def start(ctx, *, task_status)``; see the module docs.
        restart: when the child is restarted after it exits.
        shutdown: grace in seconds between asking the child to stop and cancelling
            it; ``None`` cancels at once (OTP ``brutal_kill``), ``math.inf`` waits
            for as long as it takes (OTP ``infinity``, right for supervisors).
        backoff: restart delays for this child; ``None`` uses the supervisor's.
        significant: with a supervisor's ``auto_shutdown``, this child's final exit
            (one that is not followed by a restart) ends the supervisor. Only for
            transient and temporary children, as in OTP.
        subtree: returns the child's own tree for snapshots, when the child is a
            supervisor (:meth:`Supervisor.child_spec` fills it in).
    """

    id: str
    start: ChildStart
    restart: Restart = Restart.PERMANENT
    shutdown: float | None = 5.0
    backoff: Backoff | None = None
    significant: bool = False
    subtree: Callable[[], SupervisorSnapshot] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"ChildSpec.id must be a non-empty string, got {self.id!r}")
        if not callable(self.start):
            raise TypeError(f"ChildSpec.start must be callable, got {self.start!r}")
        if not isinstance(self.restart, Restart):
            raise TypeError(f"ChildSpec.restart must be a Restart, got {self.restart!r}")
        if self.shutdown is not None and not self.shutdown >= 0:  # also rejects NaN
            raise ValueError(f"ChildSpec.shutdown must be None or >= 0, got {self.shutdown!r}")
        if self.significant and self.restart is Restart.PERMANENT:
            raise ValueError(f"child {self.id!r}: a significant child cannot be permanent")
