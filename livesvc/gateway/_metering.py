"""One gateway session's usage: its meter, its key, and the budget it runs under.

The gateway session calls :meth:`SessionMetering.client_message` and
:meth:`SessionMetering.server_message` with the messages it already decoded,
and :meth:`SessionMetering.turn_ended` after a turn's last frame went to the
client; the answer says whether the key's budget now ends the session (never in
the middle of a turn).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

from livesvc.logs import get_logger
from livesvc.usage import Budget, UsageMeter, UsageRecorder, exhausted, refusal_reason
from livesvc.wire import ClientMessage, ServerMessage

if TYPE_CHECKING:
    from livesvc.metrics import DaemonMetrics

__all__ = ["SessionMetering", "usage_key"]

log = get_logger(__name__)


def usage_key(principal_id: str, minted_by: str | None = None) -> str:
    """The ``key`` usage is attributed to: a key's name; a token's minting key, else "token".

    >>> usage_key("key:k0"), usage_key("token:t1", "key:k0"), usage_key("token:t1")
    ('k0', 'k0', 'token')
    """
    if principal_id.startswith("key:"):
        return principal_id.removeprefix("key:")
    if minted_by is not None and minted_by.startswith("key:"):
        return minted_by.removeprefix("key:")
    return "token"


class SessionMetering:
    """See the module docstring; ``budget`` and ``grace`` are read at each check (SIGHUP)."""

    def __init__(
        self,
        *,
        recorder: UsageRecorder,
        key: str,
        profile: str,
        model: str,
        budget: Callable[[], Budget | None],
        grace: Callable[[], float],
        metrics: DaemonMetrics,
    ) -> None:
        self.meter = UsageMeter()
        self.meter.session_started()
        self._recorder = recorder
        self.key, self.profile, self.model = key, profile, model
        self._budget = budget
        self._grace = grace
        self._metrics = metrics
        self.budget_exceeded: str | None = None  # the budget found spent, for the admin view
        self._deadline: float | None = None
        self._started_at = trio.current_time()
        self._counted_to = self._started_at  # session time is recorded up to here

    def client_message(self, message: ClientMessage) -> None:
        self.meter.client_message(message)

    def server_message(self, message: ServerMessage) -> None:
        self.meter.server_message(message)

    def turn_ended(self) -> str | None:
        """Record the turn's usage; the close reason (4002) when the budget's grace is over."""
        now = trio.current_time()
        self._session_time(now)  # so a kill -9 loses at most the time since the last turn
        self._record()
        budget = self._budget()
        spent = self._recorder.spent_cached(self.key)
        name = (
            None
            if budget is None or spent is None
            else exhausted(budget, tokens=spent.tokens, audio_seconds=spent.audio_seconds)
        )
        if name is None:
            # Not (or no longer: a SIGHUP raised it) spent: a later spend warns anew.
            self._deadline, self.budget_exceeded = None, None
            return None
        if self._deadline is None:
            self._deadline = now + self._grace()
            self.budget_exceeded = name
            self._count(name, "warned")
            log.warning(
                "usage.budget_exceeded", key=self.key, budget=name, grace_seconds=self._grace()
            )
        if now < self._deadline:
            return None
        self._count(name, "closed")
        return refusal_reason(name, self.key)

    def finish(self) -> dict[str, float]:
        """The session ends: its time and last amounts are recorded; returns its totals."""
        self._session_time(trio.current_time())
        self._record()
        return {k: round(v, 3) for k, v in sorted(self.meter.totals.items())}

    def _session_time(self, now: float) -> None:
        if now > self._counted_to:
            self.meter.session_seconds(now - self._counted_to)
            self._counted_to = now

    def _record(self) -> None:
        self._recorder.record(
            key=self.key, profile=self.profile, model=self.model, delta=self.meter.take()
        )

    def _count(self, name: str, action: str) -> None:
        self._metrics.budget_exceeded.labels(
            key=self.key, budget=name.split(" ")[0], action=action
        ).inc()
