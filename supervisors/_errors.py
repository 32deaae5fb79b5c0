"""The exceptions a supervisor raises to its caller or parent.

All of them derive from :class:`SupervisorError` and carry the supervisor's name.
Escalations chain the child's last exception as ``__cause__``, so a traceback
through two levels reads outer supervisor -> inner supervisor -> original error.

Example::

    from supervisors import RestartIntensityExceeded, SupervisorError

    err = RestartIntensityExceeded(
        supervisor="session", child="connection", incarnation=4,
        intensity=3, period=30.0, reason="OSError('reset')",
    )
    assert isinstance(err, SupervisorError)
    assert "session" in str(err) and "connection" in str(err)
"""

from __future__ import annotations


class SupervisorError(Exception):
    """Base of every error a supervisor raises; ``supervisor`` is its name."""

    def __init__(self, message: str, *, supervisor: str) -> None:
        super().__init__(message)
        self.supervisor = supervisor


class RestartIntensityExceeded(SupervisorError):
    """More than ``intensity`` restarts happened within ``period`` seconds.

    The supervisor has terminated all its children and exits with this error
    (OTP's escalation). ``child`` is the child whose exit crossed the limit, and
    ``__cause__`` is that child's exception (``None`` if it returned normally).
    """

    def __init__(
        self,
        *,
        supervisor: str,
        child: str,
        incarnation: int,
        intensity: int,
        period: float,
        reason: str,
    ) -> None:
        super().__init__(
            f"supervisor {supervisor!r} exceeded {intensity} restart(s) in {period:g}s: "
            f"child {child!r} (incarnation {incarnation}) exited with {reason}",
            supervisor=supervisor,
        )
        self.child = child
        self.incarnation = incarnation
        self.intensity = intensity
        self.period = period
        self.reason = reason


class StartFailed(SupervisorError):
    """A child failed before it called ``task_status.started()``.

    Raised from the supervisor's own start (for its initial children, after the
    children already started have been stopped in reverse order) and from
    :meth:`DynamicSupervisor.start_child`. ``__cause__`` is the child's exception.
    """

    def __init__(self, *, supervisor: str, child: str) -> None:
        super().__init__(
            f"supervisor {supervisor!r} failed to start child {child!r}", supervisor=supervisor
        )
        self.child = child


class SupervisorFull(SupervisorError):
    """A dynamic supervisor already has ``max_children`` children."""

    def __init__(self, *, supervisor: str, max_children: int, child: str) -> None:
        super().__init__(
            f"supervisor {supervisor!r} is full ({max_children} children); "
            f"cannot start child {child!r}",
            supervisor=supervisor,
        )
        self.max_children = max_children
        self.child = child


class ChildKilled(Exception):
    """A child's incarnation was cancelled by ``kill_child`` (OTP's ``exit(Pid, kill)``).

    It is the exit error of that incarnation: the exit counts as a crash.
    """

    def __init__(self, child: str) -> None:
        super().__init__(f"child {child!r} killed")
        self.child = child


class ChildNotFound(SupervisorError, LookupError):
    """No child with this id is supervised (any more)."""

    def __init__(self, *, supervisor: str, child: str) -> None:
        super().__init__(f"supervisor {supervisor!r} has no child {child!r}", supervisor=supervisor)
        self.child = child


class DuplicateChild(SupervisorError, ValueError):
    """A child with this id is already supervised."""

    def __init__(self, *, supervisor: str, child: str) -> None:
        super().__init__(
            f"supervisor {supervisor!r} already has a child {child!r}", supervisor=supervisor
        )
        self.child = child


class SupervisorNotRunning(SupervisorError, RuntimeError):
    """The operation needs a running supervisor (not starting, stopping or stopped)."""

    def __init__(self, *, supervisor: str, state: str) -> None:
        super().__init__(f"supervisor {supervisor!r} is {state}", supervisor=supervisor)
        self.state = state
