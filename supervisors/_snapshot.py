"""Point-in-time snapshots of a supervision tree, for admin APIs and metrics.

Snapshots are plain frozen msgspec Structs: ``msgspec.json.encode(sup.snapshot())``
gives JSON, ``msgspec.to_builtins(...)`` gives dicts. Times are trio clock
readings (``trio.current_time()``), not wall-clock time.

Example::

    import msgspec

    from supervisors import ChildSnapshot, ChildState, SupervisorSnapshot, SupervisorState

    snap = SupervisorSnapshot(
        name="sessions", kind="dynamic", strategy="one_for_one",
        state=SupervisorState.RUNNING, intensity=3, period=30.0,
        children=[ChildSnapshot(id="s1", state=ChildState.RUNNING, restart="temporary",
                                incarnation=1)],
    )
    assert msgspec.json.decode(msgspec.json.encode(snap))["children"][0]["id"] == "s1"
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class ChildState(StrEnum):
    """Where a child is in its life cycle."""

    STARTING = "starting"
    """An incarnation is initialising (before ``task_status.started()``)."""
    RUNNING = "running"
    RESTARTING = "restarting"
    """Waiting out its backoff delay (or for an earlier sibling to start)."""
    STOPPING = "stopping"
    """Asked to stop; cancelled when its grace period ends."""
    STOPPED = "stopped"
    """Not running and not scheduled to run."""


class SupervisorState(StrEnum):
    """Where a supervisor is in its life cycle."""

    IDLE = "idle"
    """Never run."""
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class ChildSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One child as its supervisor sees it.

    Attributes:
        id: the child's id, unique within its supervisor.
        state: see :class:`ChildState`.
        restart: its restart type (``permanent``, ``transient``, ``temporary``).
        incarnation: how many times it was started (1 for the first start).
        restarts: how many times it was restarted after exiting itself (restarts
            caused by a sibling under one_for_all/rest_for_one are not counted).
        started_at: trio time when the current incarnation became ready.
        next_start_at: trio time of the scheduled restart, while restarting.
        last_exit: the reason the previous incarnation ended.
        subtree: the child's own supervision tree, when it is a supervisor.
    """

    id: str
    state: ChildState
    restart: str
    incarnation: int
    restarts: int = 0
    started_at: float | None = None
    next_start_at: float | None = None
    last_exit: str | None = None
    subtree: SupervisorSnapshot | None = None


class SupervisorSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A supervisor and, recursively, its children.

    Attributes:
        name: the supervisor's name.
        kind: ``static`` (:class:`Supervisor`) or ``dynamic`` (:class:`DynamicSupervisor`).
        strategy: ``one_for_one``, ``one_for_all`` or ``rest_for_one``.
        state: see :class:`SupervisorState`.
        intensity: restarts allowed within ``period`` seconds.
        period: length of the restart window in seconds.
        recent_restarts: restarts within the current window.
        max_children: the cap on children (dynamic supervisors only).
        children: in start order.
    """

    name: str
    kind: str
    strategy: str
    state: SupervisorState
    intensity: int
    period: float
    recent_restarts: int = 0
    max_children: int | None = None
    children: list[ChildSnapshot] = []
