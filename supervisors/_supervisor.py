"""A supervisor of a fixed, ordered list of children (OTP's ``supervisor``).

Children start in list order, each one only after the previous one is ready, and
stop in reverse order. When a child exits, the restart table decides whether it
is restarted; the strategy decides which siblings are restarted with it:

- ``ONE_FOR_ONE``: only the child;
- ``ONE_FOR_ALL``: every child (the others are first stopped in reverse order);
- ``REST_FOR_ONE``: the child and every child after it in start order.

More than ``intensity`` restarts within ``period`` seconds stops every child and
raises :class:`RestartIntensityExceeded` out of :meth:`Supervisor.run`.

Example::

    import trio

    from supervisors import ChildSpec, Strategy, Supervisor

    started = []

    def worker(name):
        async def run(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
            started.append(name)
            task_status.started()
            with ctx.cancel_on_stop():
                await trio.sleep_forever()
        return run

    async def main():
        sup = Supervisor(
            "session",
            [ChildSpec(id=n, start=worker(n)) for n in ("connection", "pinger", "tools")],
            strategy=Strategy.REST_FOR_ONE,
            intensity=3,
            period=30,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)       # returns once all three are ready
            assert started == ["connection", "pinger", "tools"]
            await sup.stop()                   # tools, pinger, connection

    trio.run(main)
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from enum import StrEnum

from ._backoff import Backoff
from ._core import DEFAULT_BACKOFF, SupervisorBase
from ._records import ChildRecord
from ._snapshot import ChildState
from ._spec import ChildSpec


class Strategy(StrEnum):
    """Which children restart together (OTP's ``strategy``)."""

    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


class AutoShutdown(StrEnum):
    """Whether significant children end their supervisor (OTP's ``auto_shutdown``)."""

    NEVER = "never"
    ANY_SIGNIFICANT = "any_significant"
    """Stop when any significant child exits for good."""
    ALL_SIGNIFICANT = "all_significant"
    """Stop when every significant child has exited for good."""


class Supervisor(SupervisorBase):
    """Supervises a fixed, ordered list of children.

    Args:
        name: names the supervisor in logs, snapshots and errors.
        children: started in this order, stopped in the reverse order.
        strategy: which children restart together.
        intensity: restarts allowed within ``period`` seconds (OTP default 1).
        period: the restart window in seconds (OTP default 5).
        backoff: restart delays for children whose spec has none.
        auto_shutdown: let significant children end the supervisor normally.
        rng: the source of backoff jitter (seed it in tests).
    """

    kind = "static"

    def __init__(
        self,
        name: str,
        children: Iterable[ChildSpec],
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        intensity: int = 1,
        period: float = 5.0,
        backoff: Backoff = DEFAULT_BACKOFF,
        auto_shutdown: AutoShutdown = AutoShutdown.NEVER,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(name, intensity=intensity, period=period, backoff=backoff, rng=rng)
        self._specs = list(children)
        seen: set[str] = set()
        for spec in self._specs:
            if spec.id in seen:
                raise ValueError(f"supervisor {name!r}: duplicate child id {spec.id!r}")
            seen.add(spec.id)
        self._strategy = Strategy(strategy)
        self._auto_shutdown = AutoShutdown(auto_shutdown)
        self._children = {spec.id: ChildRecord(spec) for spec in self._specs}

    @property
    def strategy(self) -> str:
        """The restart strategy's name."""
        return self._strategy.value

    @property
    def specs(self) -> list[ChildSpec]:
        """The child specs, in start order."""
        return list(self._specs)

    def _initial_specs(self) -> list[ChildSpec]:
        return self._specs

    def _restart_group(self, child: ChildRecord) -> list[ChildRecord]:
        if self._strategy is Strategy.ONE_FOR_ONE:
            return [child]
        ordered = list(self._children.values())
        if self._strategy is Strategy.ONE_FOR_ALL:
            return ordered
        return ordered[ordered.index(child) :]

    def _after_final_exit(self, child: ChildRecord) -> str | None:
        if not child.spec.significant or self._auto_shutdown is AutoShutdown.NEVER:
            return None
        if self._auto_shutdown is AutoShutdown.ANY_SIGNIFICANT:
            return "auto_shutdown"
        significant = [c for c in self._children.values() if c.spec.significant]
        if all(c.state is ChildState.STOPPED and c.pending is None for c in significant):
            return "auto_shutdown"
        return None

    async def _terminate_all(self, reason: str) -> None:
        self._cancel_pending_restarts()
        for child in reversed(list(self._children.values())):
            await self._terminate(child, reason=reason)
