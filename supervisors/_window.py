"""The restart window: OTP's ``intensity`` and ``period``, kept per supervisor.

A restart is allowed while no more than ``intensity`` restarts (this one
included) fall within the last ``period`` seconds; a restart exactly ``period``
seconds old no longer counts. ``intensity=0`` allows no restart at all.
Times come from ``trio.current_time()``, so a MockClock drives the window.

Example::

    from supervisors._window import RestartWindow

    w = RestartWindow(intensity=2, period=10)
    assert [w.allow(t) for t in (0, 1, 2)] == [True, True, False]
    assert w.allow(11)          # 0 and 1 have left the window by t=11
"""

from __future__ import annotations

from collections import deque


class RestartWindow:
    """Counts restarts over a sliding window of ``period`` seconds."""

    def __init__(self, *, intensity: int, period: float) -> None:
        if intensity < 0:
            raise ValueError(f"intensity must be >= 0, got {intensity}")
        if not period > 0:
            raise ValueError(f"period must be > 0, got {period!r}")
        self.intensity = intensity
        self.period = period
        self._times: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._times and now - self._times[0] >= self.period:
            self._times.popleft()

    def allow(self, now: float) -> bool:
        """Record a restart at ``now``; return whether it stays within the intensity."""
        self._expire(now)
        self._times.append(now)
        return len(self._times) <= self.intensity

    def count(self, now: float) -> int:
        """Restarts within the window ending at ``now``."""
        self._expire(now)
        return len(self._times)

    def __len__(self) -> int:
        return len(self._times)

    def clear(self) -> None:
        """Forget every restart (a fresh run of the supervisor)."""
        self._times.clear()
