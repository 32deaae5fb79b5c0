"""Restart backoff: a first delay, then exponential growth up to a cap, with jitter.

The delay before restart number ``n`` (0-based ``attempt``) is ``first`` for
``attempt == 0`` and ``base * factor ** (attempt - 1)`` after that, never more
than ``max``. Jitter scales it by a uniform factor in ``[1 - jitter, 1 + jitter]``
drawn from the supervisor's injected ``random.Random`` (and is capped again).
The attempt counter goes back to 0 once an incarnation has stayed up for
``reset_after`` seconds.

Example::

    import random

    from supervisors import Backoff

    b = Backoff(first=0, base=1, factor=2, max=10, jitter=0)
    assert [b.delay(n) for n in range(6)] == [0, 1, 2, 4, 8, 10]

    jittered = Backoff(first=1, jitter=0.5)
    assert 0.5 <= jittered.delay(0, random.Random(7)) <= 1.5
"""

from __future__ import annotations

import math
import random

import msgspec


class Backoff(msgspec.Struct, frozen=True, kw_only=True):
    """How long a supervisor waits before restarting a child.

    Attributes:
        first: delay before the first restart; 0 restarts at once, as OTP does.
        base: delay before the second restart; multiplied by ``factor`` for each next one.
        factor: growth per restart (at least 1).
        max: upper bound on any delay, jitter included.
        jitter: relative spread in ``[0, 1]``; 0 gives exact, deterministic delays.
        reset_after: seconds of uptime after which the attempt counter restarts at 0.
    """

    first: float = 0.0
    base: float = 0.5
    factor: float = 2.0
    max: float = 30.0
    jitter: float = 0.1
    reset_after: float = 60.0

    def __post_init__(self) -> None:
        for field in ("first", "base", "max", "reset_after"):
            value = getattr(self, field)
            if not value >= 0:  # also rejects NaN
                raise ValueError(f"Backoff.{field} must be >= 0, got {value!r}")
        if not self.factor >= 1:
            raise ValueError(f"Backoff.factor must be >= 1, got {self.factor!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"Backoff.jitter must be within [0, 1], got {self.jitter!r}")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Return the delay in seconds before restart number ``attempt`` (0-based).

        Args:
            attempt: restarts already made since the last reset.
            rng: the source of jitter; required when ``jitter > 0``.
        """
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, got {attempt}")
        if attempt == 0:
            raw = self.first
        else:
            try:
                raw = self.base * self.factor ** (attempt - 1)
            except OverflowError:
                raw = math.inf
        delay = min(raw, self.max)
        if self.jitter and delay > 0:
            if rng is None:
                raise ValueError("a jittered Backoff needs an rng")
            delay *= 1 + self.jitter * (2 * rng.random() - 1)
            delay = min(delay, self.max)
        return delay


NO_BACKOFF = Backoff(first=0, base=0, jitter=0)
"""Restart at once every time, exactly as OTP does."""
