"""The session's actor tree as data: which actors, in which order, restarted how.

::

    session (rest_for_one, 5 restarts in 30 s)
      connection     the socket: dial, setup, reader, the one writer
      pinger         keepalive: drops a link that went silent
      reconnector    what follows a link's end (decide)
      tool_executor  starts and cancels tool calls in the session's runner

``rest_for_one``: a crashed connection restarts the actors after it (they watch
its links); a crashed tool executor restarts alone. Every restart costs at most
a resume: the state lives in the :class:`SessionCore`, not in the actors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

import trio

from livesvc.session._connection import ConnectionActor
from livesvc.session._core import SessionCore
from livesvc.session._pinger import PingerActor
from livesvc.session._reconnector import ReconnectorActor
from livesvc.session._tool_actor import ToolExecutorActor
from livesvc.tools import ToolRunner
from supervisors import Backoff, ChildContext, ChildSpec, Restart, Strategy, Supervisor

__all__ = ["ACTORS", "session_supervisor"]

# The actors' own restarts (a crash, not a disconnect): quick, bounded. More
# than 5 within 30 s means something is badly wrong; the session then fails.
_ACTOR_BACKOFF = Backoff(first=0.0, base=0.2, factor=2.0, max=5.0, jitter=0.1)
_INTENSITY, _PERIOD = 5, 30.0
ACTORS = ("connection", "pinger", "reconnector", "tool_executor")


class Actor(Protocol):
    """What the session's supervisor runs: one actor incarnation."""

    async def run(self, ctx: ChildContext, *, task_status: trio.TaskStatus[None] = ...) -> None: ...


async def _run_actor(
    factory: Callable[[], Actor],
    ctx: ChildContext,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    await factory().run(ctx, task_status=task_status)


def session_supervisor(core: SessionCore, runner: ToolRunner) -> Supervisor:
    """The supervisor of one session's actors; each incarnation is a fresh actor."""
    close_timeout = core.prepared.config.reconnect.close_timeout
    children: list[tuple[str, Callable[[], Actor], float | None]] = [
        ("connection", functools.partial(ConnectionActor, core), close_timeout),
        ("pinger", functools.partial(PingerActor, core), None),
        ("reconnector", functools.partial(ReconnectorActor, core, core.reconnect), None),
        ("tool_executor", functools.partial(ToolExecutorActor, core, runner), None),
    ]
    specs = [
        ChildSpec(
            id=name,
            start=functools.partial(_run_actor, factory),
            restart=Restart.PERMANENT,
            shutdown=shutdown,
        )
        for name, factory, shutdown in children
    ]
    return Supervisor(
        "session",
        specs,
        strategy=Strategy.REST_FOR_ONE,
        intensity=_INTENSITY,
        period=_PERIOD,
        backoff=_ACTOR_BACKOFF,
        rng=core.rng,
    )
