"""Fault injection: rules given at start-up, and the run-time control surface.

Start-up rules (``--fault SPEC``, :class:`FaultRule`) apply to every connection;
run-time faults (:class:`Faults`, also served under ``/_emulator/faults/...``) apply
to one session's connection or to all connections now. Every fault is logged as
``emulator.fault_injected``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import msgspec
import trio

from livesvc.logs import get_logger

__all__ = [
    "FAULT_KINDS",
    "ConnectionControl",
    "FaultRule",
    "Faults",
    "Refusal",
    "UnknownSessionError",
    "default_reason",
    "parse_fault",
    "valid_close_code",
]

log = get_logger(__name__)

FAULT_KINDS = ("drop", "close", "go_away", "delay", "stall", "refuse")

_DEFAULT_REASONS = {
    1000: "The operation was cancelled.",
    1001: "The service is going away.",
    1007: "Request contains an invalid argument.",
    1008: "Requested entity was not found.",
    1011: "Internal error encountered.",
    1013: "The service is currently unavailable.",
    429: "Resource has been exhausted (e.g. check quota).",
    503: "The service is currently unavailable.",
}


def default_reason(code: int) -> str:
    """The reason Google gives with ``code``, or a generic one.

    >>> default_reason(1011)
    'Internal error encountered.'
    """
    return _DEFAULT_REASONS.get(code, "The service is currently unavailable.")


def valid_close_code(code: int) -> bool:
    """Whether a server may send ``code`` in a close frame.

    >>> valid_close_code(1011), valid_close_code(1006), valid_close_code(4001)
    (True, False, True)
    """
    return code in (1000, 1001, 1002, 1003) or 1007 <= code <= 1014 or 3000 <= code <= 4999


class UnknownSessionError(LookupError):
    """No live connection has this session id."""


class ConnectionControl(Protocol):
    """What a fault can do to one live connection."""

    session_id: str

    async def fault_drop(self) -> None: ...
    async def fault_close(self, code: int, reason: str) -> None: ...
    async def fault_go_away(self, time_left: float | None) -> None: ...
    def fault_delay(self, seconds: float) -> None: ...
    def fault_stall(self, seconds: float | None) -> None: ...


class FaultRule(msgspec.Struct, frozen=True, kw_only=True):
    """A fault applied to every connection (or, for ``refuse``, to new connections).

    Attributes:
        kind: one of ``drop``, ``close``, ``go_away``, ``delay``, ``stall``, ``refuse``.
        after: seconds after a connection's ``setupComplete`` (drop/close/go_away/stall/delay).
        turn: right after the connection's N-th ``turnComplete`` (instead of ``after``).
        code: close code (close, refuse), or an HTTP status for ``refuse``.
        reason: close reason (close, refuse); no commas in a ``--fault`` spec.
        seconds: delay amount (delay), stall duration (stall, forever if unset),
            refusal window from start-up (refuse, forever if unset).
        time_left: the ``goAway`` notice (go_away).
        count: refuse only the first N connections (refuse).
    """

    kind: str
    after: float | None = None
    turn: int | None = None
    code: int | None = None
    reason: str | None = None
    seconds: float | None = None
    time_left: float | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {', '.join(FAULT_KINDS)})")
        for name in ("after", "seconds", "time_left"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a finite number >= 0")
        if self.turn is not None and self.turn < 1:
            raise ValueError("turn must be >= 1")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1")
        if self.kind == "refuse":
            if self.after is not None or self.turn is not None:
                raise ValueError("refuse takes seconds/count, not after/turn")
            code = self.code if self.code is not None else 1011
            if not (valid_close_code(code) or 400 <= code <= 599):
                raise ValueError("refuse code must be a close code or an HTTP status 400-599")
            return
        if self.after is not None and self.turn is not None:
            raise ValueError("give either after or turn, not both")
        if self.kind in ("drop", "close", "go_away", "stall") and (
            self.after is None and self.turn is None
        ):
            raise ValueError(f"{self.kind} needs a trigger: after=SECONDS or turn=N")
        if self.kind == "delay" and self.seconds is None:
            raise ValueError("delay needs seconds=SECONDS")
        if self.kind == "close" and self.code is not None and not valid_close_code(self.code):
            raise ValueError(f"{self.code} cannot be sent in a close frame")


_INT_FIELDS = {"turn", "code", "count"}
_FLOAT_FIELDS = {"after", "seconds", "time_left"}


def parse_fault(spec: str) -> FaultRule:
    """Parse ``KIND[:key=value,...]``, the ``--fault`` syntax.

    >>> parse_fault("close:code=1011,after=30")
    FaultRule(kind='close', after=30.0, turn=None, code=1011, reason=None, seconds=None, time_left=None, count=None)
    >>> parse_fault("refuse:code=429,count=2").count
    2
    """
    kind, _, rest = spec.strip().partition(":")
    values: dict[str, object] = {}
    for item in filter(None, (piece.strip() for piece in rest.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise ValueError(f"expected key=value, got {item!r}")
        if key in _INT_FIELDS:
            values[key] = int(value)
        elif key in _FLOAT_FIELDS:
            values[key] = float(value)
        elif key == "reason":
            values[key] = value.strip()
        else:
            raise ValueError(f"unknown fault option {key!r}")
    return FaultRule(kind=kind.strip().replace("-", "_"), **values)  # type: ignore[arg-type]


class Refusal(msgspec.Struct, kw_only=True):
    """New connections are refused while this is in force."""

    code: int
    reason: str
    until: float = math.inf
    remaining: int | None = None
    session_id: str | None = None

    @property
    def http(self) -> bool:
        """Whether the handshake is refused with an HTTP status (else a close code)."""
        return self.code < 1000


class Faults:
    """Run-time fault injection (the in-process twin of ``/_emulator/faults``).

    Each method targets the live connection of ``session_id``, or every live
    connection when ``session_id`` is None, and returns how many it affected.

    Example::

        await emu.faults.drop()                                # every connection, no close frame
        await emu.faults.close(1011, "Internal error encountered.", session_id=sid)
        await emu.faults.refuse(1013, seconds=5)               # new connections, for 5 s
    """

    def __init__(self, connections: Callable[[str | None], list[ConnectionControl]]) -> None:
        self._connections = connections
        self._refusals: list[Refusal] = []
        self._delays: dict[str | None, float] = {}

    async def drop(self, session_id: str | None = None) -> int:
        """Close the TCP connection without a close frame (the client sees 1006)."""
        targets = self._targets(session_id)
        _logged("drop", session_id, len(targets))
        for target in targets:
            await target.fault_drop()
        return len(targets)

    async def close(
        self,
        code: int = 1011,
        reason: str | None = None,
        session_id: str | None = None,
    ) -> int:
        """Close with ``code`` and ``reason`` (Google's reason for the code by default)."""
        if not valid_close_code(code):
            raise ValueError(f"{code} cannot be sent in a close frame")
        reason = default_reason(code) if reason is None else reason
        targets = self._targets(session_id)
        _logged("close", session_id, len(targets), code=code, reason=reason)
        for target in targets:
            await target.fault_close(code, reason)
        return len(targets)

    async def go_away(self, time_left: float | None = None, session_id: str | None = None) -> int:
        """Send ``goAway`` now; the connection closes ``time_left`` seconds later.

        ``None`` uses the configured notice (capped by the connection's remaining time).
        """
        if time_left is not None and (not math.isfinite(time_left) or time_left < 0):
            raise ValueError("time_left must be a finite number >= 0")
        targets = self._targets(session_id)
        _logged("go_away", session_id, len(targets), time_left=time_left)
        for target in targets:
            await target.fault_go_away(time_left)
        return len(targets)

    async def delay(self, seconds: float, session_id: str | None = None) -> int:
        """Delay every outgoing frame by ``seconds`` (0 lifts it), now and on reconnects."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("seconds must be a finite number >= 0")
        targets = self._targets(session_id)
        if seconds:
            self._delays[session_id] = seconds
        else:
            self._delays.pop(session_id, None)
        _logged("delay", session_id, len(targets), seconds=seconds)
        for target in targets:
            target.fault_delay(seconds)
        return len(targets)

    async def stall(self, seconds: float | None = None, session_id: str | None = None) -> int:
        """Stop reading, writing and answering pings, for ``seconds`` or for good."""
        if seconds is not None and (not math.isfinite(seconds) or seconds < 0):
            raise ValueError("seconds must be a finite number >= 0")
        targets = self._targets(session_id)
        _logged("stall", session_id, len(targets), seconds=seconds)
        for target in targets:
            target.fault_stall(seconds)
        return len(targets)

    async def refuse(
        self,
        code: int = 1011,
        seconds: float | None = None,
        *,
        reason: str | None = None,
        count: int | None = None,
        session_id: str | None = None,
    ) -> None:
        """Refuse new connections (resumptions of ``session_id`` only, if given).

        ``code`` is a close code (sent after the upgrade, once the setup arrives) or
        an HTTP status 400-599 (the handshake is rejected; not per session). The
        refusal lasts ``seconds`` (forever if None) or ``count`` connections.
        """
        if not (valid_close_code(code) or 400 <= code <= 599):
            raise ValueError("code must be a close code or an HTTP status 400-599")
        if code < 1000 and session_id is not None:
            raise ValueError("an HTTP refusal cannot target one session")
        if seconds is not None and (not math.isfinite(seconds) or seconds < 0):
            raise ValueError("seconds must be a finite number >= 0")
        refusal = Refusal(
            code=code,
            reason=default_reason(code) if reason is None else reason,
            until=math.inf if seconds is None else trio.current_time() + seconds,
            remaining=count,
            session_id=session_id,
        )
        self._refusals.append(refusal)
        _logged("refuse", session_id, 0, code=code, seconds=seconds, count=count)

    def add_refusal(self, refusal: Refusal) -> None:
        """Put a refusal in force (start-up ``refuse`` rules)."""
        self._refusals.append(refusal)
        _logged("refuse", refusal.session_id, 0, code=refusal.code, count=refusal.remaining)

    async def clear(self) -> None:
        """Lift refusals and delays (in force and for new connections)."""
        self._refusals.clear()
        self._delays.clear()
        for target in self._connections(None):
            target.fault_delay(0)
        log.warning("emulator.faults_cleared")

    def active(self) -> dict[str, object]:
        """Refusals and delays in force, for the control API."""
        now = trio.current_time()
        self._expire(now)
        return {
            "refusals": [
                {
                    "code": r.code,
                    "reason": r.reason,
                    "secondsLeft": None if r.until == math.inf else r.until - now,
                    "remaining": r.remaining,
                    "sessionId": r.session_id,
                }
                for r in self._refusals
            ],
            "delays": [
                {"sessionId": sid, "seconds": seconds} for sid, seconds in self._delays.items()
            ],
        }

    # -- used by connections ---------------------------------------------------

    def take_refusal(self, *, session_id: str | None, handshake: bool) -> Refusal | None:
        """The refusal that applies to a new connection, counting it against ``count``.

        At the handshake only HTTP refusals apply; after the setup, close-code ones
        (global ones, and those of the session being resumed).
        """
        self._expire(trio.current_time())
        for refusal in self._refusals:
            if refusal.http != handshake:
                continue
            if refusal.session_id is not None and refusal.session_id != session_id:
                continue
            if refusal.remaining is not None:
                refusal.remaining -= 1
            self._expire(trio.current_time())
            log.warning(
                "emulator.connection_refused",
                code=refusal.code,
                session_id=session_id,
                reason=refusal.reason,
            )
            return refusal
        return None

    def delay_for(self, session_id: str) -> float:
        """The outgoing delay in force for a new connection of ``session_id``."""
        return self._delays.get(session_id, self._delays.get(None, 0.0))

    def _expire(self, now: float) -> None:
        self._refusals = [
            r for r in self._refusals if r.until > now and (r.remaining is None or r.remaining > 0)
        ]

    def _targets(self, session_id: str | None) -> list[ConnectionControl]:
        targets = self._connections(session_id)
        if session_id is not None and not targets:
            raise UnknownSessionError(session_id)
        return targets


def _logged(kind: str, session_id: str | None, affected: int, **details: object) -> None:
    log.warning(
        "emulator.fault_injected",
        fault=kind,
        target=session_id or "all",
        affected=affected,
        **details,
    )
