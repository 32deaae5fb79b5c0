"""What happens after a connection ends: one pure decision, one owner of its state.

The reconnector acts on :func:`decide` and is the only writer of
:class:`ReconnectState`; the session core asks the same function whether a retry
will follow (for ``Disconnected.will_retry``), so the two never disagree.

Example:
    >>> from livesvc.session._close_codes import CloseClass
    >>> from livesvc.session._envelopes import LinkEnd
    >>> end = LinkEnd(code=1011, reason="internal", close_class=CloseClass.TRANSIENT)
    >>> decide(end, ReconnectState(), max_attempts=8, stable=False,
    ...        refreshable_auth=False, stopping=False).next
    <Next.BACK_OFF: 'back_off'>
    >>> decide(end, ReconnectState(attempt=8), max_attempts=8, stable=False,
    ...        refreshable_auth=False, stopping=False).next
    <Next.FAIL: 'fail'>
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from livesvc.session._close_codes import CloseClass
from livesvc.session._envelopes import LinkEnd

__all__ = ["Decision", "Next", "ReconnectState", "decide"]


@dataclass
class ReconnectState:
    """What the reconnector must remember across its own restarts (it alone writes it)."""

    attempt: int = 0
    auth_refreshed: bool = False
    fresh_fallback_used: bool = False
    up_generation: int | None = None
    up_at: float = 0.0
    reconnects: int = 0
    dials: int = 0  # Dial commands sent to the connection
    handovers: int = 0


class Next(enum.Enum):
    """What the reconnector does next."""

    STOP = "stop"  # the session is closing: nothing
    DIAL = "dial"  # dial again at once (a goAway handover)
    BACK_OFF = "back_off"  # dial again after a backoff delay
    FRESH = "fresh"  # the resume was refused: a new server session (the context is lost)
    REFRESH_AUTH = "refresh_auth"  # refresh the credential, then dial
    FAIL = "fail"  # the session fails with ``Decision.reason``


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of :func:`decide`; ``reason`` explains a ``FAIL`` or a ``FRESH``."""

    next: Next
    reason: str = ""

    @property
    def retries(self) -> bool:
        """Whether a connection attempt follows (possibly after a refresh)."""
        return self.next not in (Next.STOP, Next.FAIL)


def decide(
    end: LinkEnd,
    state: ReconnectState,
    *,
    max_attempts: int,
    stable: bool,
    refreshable_auth: bool,
    stopping: bool,
) -> Decision:
    """Decide what follows ``end``.

    Args:
        end: how the connection ended.
        state: the reconnector's memory (not changed here).
        max_attempts: consecutive failed attempts allowed.
        stable: the connection lived long enough to start a fresh failure count.
        refreshable_auth: the credential can change on refresh (a Vertex token).
        stopping: the session is closing or over.
    """
    if stopping:
        return Decision(Next.STOP)
    if end.handover:
        return Decision(Next.DIAL)
    close = f"{end.code} {end.reason}".strip() if end.code is not None else end.reason
    if end.close_class is CloseClass.FATAL_CONFIG:
        if end.during_setup and end.resumed_with is not None and not state.fresh_fallback_used:
            return Decision(Next.FRESH, f"the server refused to resume: {close}")
        return Decision(Next.FAIL, f"the server refused the session (not retried): {close}")
    if end.close_class is CloseClass.AUTH:
        if not state.auth_refreshed and refreshable_auth:
            return Decision(Next.REFRESH_AUTH, close)
        return Decision(Next.FAIL, f"authentication failed (not retried): {close}")
    attempt = 0 if stable else state.attempt
    if attempt >= max_attempts:
        return Decision(Next.FAIL, f"gave up after {attempt} failed attempts; last close: {close}")
    return Decision(Next.BACK_OFF)
