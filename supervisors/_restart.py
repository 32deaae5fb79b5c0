"""Restart types, exit outcomes and OTP's restart decision table.

A child's exit is classified into an :class:`Outcome`, and :func:`should_restart`
decides from the child's :class:`Restart` type whether its supervisor restarts it:

==============================  =========  =========  =========
outcome                         permanent  transient  temporary
==============================  =========  =========  =========
``NORMAL`` (returned)           restart    done       done
``SHUTDOWN`` (raised Shutdown)  restart    done       done
``ERROR`` (raised Exception)    restart    restart    done
``KILLED`` (cancelled)          done       done       done
==============================  =========  =========  =========

``KILLED`` is what a child's own supervisor does to it while terminating it, so it
is never a reason to restart. Cancellation from *outside* the supervisor is not an
outcome at all: it propagates, like ``KeyboardInterrupt``.

Example::

    from supervisors import Outcome, Restart, Shutdown, classify_exit, should_restart

    assert classify_exit(None) is Outcome.NORMAL
    assert classify_exit(ExceptionGroup("g", [Shutdown("bye")])) is Outcome.SHUTDOWN
    assert classify_exit(ExceptionGroup("g", [Shutdown("bye"), OSError()])) is Outcome.ERROR
    assert should_restart(Restart.TRANSIENT, Outcome.ERROR)
    assert not should_restart(Restart.TRANSIENT, Outcome.SHUTDOWN)
"""

from __future__ import annotations

from enum import StrEnum

import trio


class Restart(StrEnum):
    """When a child is restarted after it exits (OTP's ``restart`` key)."""

    PERMANENT = "permanent"
    """Always restarted, even after a normal return."""
    TRANSIENT = "transient"
    """Restarted only after an abnormal exit (an exception other than :class:`Shutdown`)."""
    TEMPORARY = "temporary"
    """Never restarted, not even when a sibling's exit terminates it."""


class Outcome(StrEnum):
    """How one incarnation of a child ended."""

    NORMAL = "normal"
    """``start`` returned."""
    SHUTDOWN = "shutdown"
    """``start`` raised :class:`Shutdown` (or a group of nothing but ``Shutdown``)."""
    ERROR = "error"
    """``start`` raised any other ``Exception``, or a group holding one."""
    KILLED = "killed"
    """The supervisor cancelled the child while terminating it."""


class Shutdown(Exception):
    """Raise from a child to exit cleanly with a reason (OTP's ``{shutdown, Reason}``).

    A transient child that raises it is not restarted; a permanent one is.

    Example::

        from supervisors import Shutdown

        async def worker(ctx, *, task_status):
            task_status.started()
            raise Shutdown("upstream said goodbye")
    """

    def __init__(self, reason: str = "shutdown") -> None:
        super().__init__(reason)
        self.reason = reason


_RESTARTED: dict[Restart, frozenset[Outcome]] = {
    Restart.PERMANENT: frozenset({Outcome.NORMAL, Outcome.SHUTDOWN, Outcome.ERROR}),
    Restart.TRANSIENT: frozenset({Outcome.ERROR}),
    Restart.TEMPORARY: frozenset(),
}


def should_restart(restart: Restart, outcome: Outcome) -> bool:
    """Return whether a child of type ``restart`` is restarted after ``outcome``."""
    return outcome in _RESTARTED[restart]


def classify_exit(exc: BaseException | None) -> Outcome:
    """Classify how a child ended from what it raised (``None``: it returned).

    Exception groups are judged by all their leaves, never by unwrapping one: a
    group is ``SHUTDOWN`` only if every leaf is a :class:`Shutdown`, and ``KILLED``
    only if every leaf is a ``trio.Cancelled``.

    Raises:
        TypeError: for a ``BaseException`` that is neither ``Exception`` nor
            cancellation (``KeyboardInterrupt``, ``SystemExit``): supervisors never
            catch those, so they have no outcome.
    """
    if exc is None:
        return Outcome.NORMAL
    if isinstance(exc, Shutdown):
        return Outcome.SHUTDOWN
    if isinstance(exc, trio.Cancelled):
        return Outcome.KILLED
    if isinstance(exc, BaseExceptionGroup):
        _, not_shutdown = exc.split(Shutdown)
        if not_shutdown is None:
            return Outcome.SHUTDOWN
        _, not_cancelled = exc.split(trio.Cancelled)
        if not_cancelled is None:
            return Outcome.KILLED
    if isinstance(exc, Exception):
        return Outcome.ERROR
    raise TypeError(f"{type(exc).__name__} is never caught by a supervisor; it propagates")
