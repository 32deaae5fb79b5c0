"""Tuning of the robustness machinery: reconnect backoff, keepalive, handover.

The defaults follow what breaks sessions in production (``peers.md``):

- the first retry is fast, 20 ms with jitter (a 1011 or a drop at Google's
  connection cap heals at once with a resume, well inside a 100 ms budget),
  later ones back off exponentially with jitter, and a rate-limited close waits
  longer;
- consecutive failed dials are bounded, so a session that keeps dying stops
  instead of looping forever at the backoff floor;
- Google's pongs have been measured at 8 to 30 s, so the ping deadline is
  generous, and any frame received counts as proof of life.

Example::

    policy = ReconnectPolicy(max_attempts=3)
    policy.delay(0, rate_limited=False, rng=random.Random(1))   # about 0.02 s
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from supervisors import Backoff

__all__ = ["KeepalivePolicy", "ReconnectPolicy"]


@dataclass(frozen=True, kw_only=True)
class ReconnectPolicy:
    """When and how often a session dials again after losing its connection.

    Attributes:
        backoff: delays after a transient close (first one fast).
        rate_limited_backoff: delays after a rate-limited close (429, RESOURCE_EXHAUSTED).
        max_attempts: consecutive failed connections before the session fails.
        stable_after: seconds a connection must live to reset the failure count
            (a completed turn resets it too).
        connect_timeout: the most a dial may take (handshake plus ``setupComplete``).
        close_timeout: the most a graceful close of a socket may take.
        handover_margin: on ``goAway``, hand over at the latest this many seconds
            before the server's deadline (earlier, at a turn boundary).
    """

    backoff: Backoff = field(
        default_factory=lambda: Backoff(first=0.02, base=0.5, factor=2.0, max=15.0, jitter=0.2)
    )
    rate_limited_backoff: Backoff = field(
        default_factory=lambda: Backoff(first=2.0, base=5.0, factor=2.0, max=60.0, jitter=0.2)
    )
    max_attempts: int = 8
    stable_after: float = 30.0
    connect_timeout: float = 30.0
    close_timeout: float = 2.0
    handover_margin: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("ReconnectPolicy.max_attempts must be >= 1")
        for name in ("stable_after", "connect_timeout", "close_timeout", "handover_margin"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"ReconnectPolicy.{name} must be >= 0")

    def delay(self, attempt: int, *, rate_limited: bool, rng: random.Random) -> float:
        """Seconds to wait before dial number ``attempt`` (0-based) of a failure streak."""
        backoff = self.rate_limited_backoff if rate_limited else self.backoff
        return backoff.delay(attempt, rng)


@dataclass(frozen=True, kw_only=True)
class KeepalivePolicy:
    """How the pinger decides that a connection is dead.

    A ping goes out every ``interval`` seconds. The link is declared dead when a
    ping has waited ``timeout`` seconds for its pong and no frame at all arrived
    meanwhile, so detection takes at most ``interval + timeout`` seconds.
    """

    interval: float = 15.0
    timeout: float = 40.0

    def __post_init__(self) -> None:
        if not (self.interval > 0 and self.timeout > 0):
            raise ValueError("KeepalivePolicy.interval and timeout must be > 0")
