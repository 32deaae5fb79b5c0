"""Per-client limits: a token bucket for message rate, and session counts per principal."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import trio

__all__ = ["RateLimiter", "SessionQuota"]


class RateLimiter:
    """A token bucket: ``burst`` messages at once, refilled at ``rate`` per second.

    Uses trio's clock, so tests drive it with ``MockClock``.

    Example::

        limiter = RateLimiter(rate=200, burst=400)
        if not limiter.allow():
            await ws.aclose(CLOSE_POLICY, "Too many messages")
    """

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = trio.current_time
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def allow(self) -> bool:
        """Take one token; False when the bucket is empty."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class SessionQuota:
    """How many sessions each principal holds (attached or in their grace period)."""

    def __init__(self) -> None:
        self._held: Counter[str] = Counter()

    def try_acquire(self, principal_id: str, limit: int) -> bool:
        """Count one more session for ``principal_id`` unless it already holds ``limit``."""
        if self._held[principal_id] >= limit:
            return False
        self._held[principal_id] += 1
        return True

    def release(self, principal_id: str) -> None:
        self._held[principal_id] -= 1
        if self._held[principal_id] <= 0:
            del self._held[principal_id]

    def held(self, principal_id: str) -> int:
        return self._held[principal_id]
