"""The usage write-behind: sessions hand over what they spent; one task writes it.

Sessions call :meth:`UsageRecorder.record` at each turn end and when they end
(never waiting: it only adds to a dict); the recorder's task writes everything
pending in one store call every ``flush_seconds`` and when it stops. A kill -9
loses at most the last ``flush_seconds`` of usage (and what turns in progress
had not reported). Every worker and fleet node writes its own deltas: the store
adds them up.

It also answers "what has this key spent today?" for budgets: the store's
total for the day plus what was recorded here since. The store's total is read
when a key is first asked about, and again after every flush, so what other
workers and fleet nodes spent counts within ``flush_seconds`` (theirs and ours).

Example::

    recorder = UsageRecorder(store, metrics=metrics, flush_seconds=5)
    await nursery.start(recorder.run)
    recorder.record(key="k0", profile="default", model="gemini-3.8-live", delta=meter.take())
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import trio

from livesvc.logs import get_logger
from livesvc.store import StoreError, UsageRow
from livesvc.usage._meter import AUDIO_IN, AUDIO_OUT, SESSION_SECONDS, UsageDelta

if TYPE_CHECKING:
    from livesvc.metrics import DaemonMetrics


class UsageStore(Protocol):
    """The part of a store (SQLite or Redis) the recorder uses."""

    async def add_usage(self, rows: list[UsageRow]) -> None: ...

    async def usage_rows(self, *, key: str | None, since: str, until: str) -> list[UsageRow]: ...


__all__ = ["Spent", "UsageRecorder", "UsageStore", "utc_day"]

log = get_logger(__name__)

_Row = tuple[str, str, str, str, str]  # day, key, profile, model, metric


def utc_day(wall: float) -> str:
    """The UTC date of a Unix time, as rows are keyed."""
    return datetime.datetime.fromtimestamp(wall, datetime.UTC).date().isoformat()


class Spent:
    """A key's spending on one day: tokens and audio seconds."""

    __slots__ = ("audio_seconds", "tokens")

    def __init__(self) -> None:
        self.tokens = 0.0
        self.audio_seconds = 0.0

    def add(self, metric: str, amount: float) -> None:
        if metric.startswith("tokens."):
            self.tokens += amount
        elif metric in (AUDIO_IN, AUDIO_OUT):
            self.audio_seconds += amount


class UsageRecorder:
    """See the module docstring. ``store`` needs ``add_usage`` and ``usage_rows``."""

    def __init__(
        self,
        store: UsageStore,
        *,
        metrics: DaemonMetrics | None = None,
        flush_seconds: float = 5.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self.flush_seconds = flush_seconds
        self._wall = wall_clock
        self._pending: dict[_Row, float] = {}
        self._spent: dict[tuple[str, str], Spent] = {}  # (key, day) -> loaded + recorded
        self._loading: dict[tuple[str, str], trio.Event] = {}
        self.flushes = 0

    def record(self, *, key: str, profile: str, model: str, delta: UsageDelta) -> None:
        """Add a session's delta (never blocks; written by the next flush)."""
        if not delta.amounts:
            return
        day = utc_day(self._wall())
        spent = self._spent.get((key, day))
        for metric, amount in delta.amounts.items():
            row = (day, key, profile, model, metric)
            self._pending[row] = self._pending.get(row, 0.0) + amount
            if spent is not None:
                spent.add(metric, amount)
            self._count(key, profile, model, metric, amount)

    def spent_cached(self, key: str) -> Spent | None:
        """Today's spending of ``key`` if known here (read at session start), else ``None``."""
        return self._spent.get((key, utc_day(self._wall())))

    async def spent_today(self, key: str) -> Spent:
        """What ``key`` spent today: the store's total plus what was recorded since."""
        day = utc_day(self._wall())
        spent = self._spent.get((key, day))
        if spent is not None:
            return spent
        loading = self._loading.get((key, day))
        if loading is not None:
            await loading.wait()
            return self._spent.get((key, day)) or Spent()
        loading = self._loading[(key, day)] = trio.Event()
        try:
            spent = Spent()
            rows = await self._store.usage_rows(key=key, since=day, until=day)
            for row in rows:
                spent.add(row.metric, row.amount)
            for (p_day, p_key, _, _, metric), amount in self._pending.items():
                if p_day == day and p_key == key:
                    spent.add(metric, amount)  # recorded here, not yet in the store
            self._spent[(key, day)] = spent
            return spent
        finally:
            loading.set()
            del self._loading[(key, day)]

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Flush every ``flush_seconds``; a last flush (bounded) when cancelled."""
        task_status.started()
        try:
            while True:
                await trio.sleep(self.flush_seconds)
                await self.flush()
        finally:
            with trio.move_on_after(5, shield=True):
                await self.flush()

    async def flush(self) -> None:
        """Write what is pending in one store call (on failure it stays pending), then
        re-read today's totals of the keys budgets asked about."""
        if self._pending and not await self._write():
            return
        await self._refresh()

    async def _write(self) -> bool:
        pending, self._pending = self._pending, {}
        rows = [
            UsageRow(day=d, key=k, profile=p, model=m, metric=metric, amount=amount)
            for (d, k, p, m, metric), amount in pending.items()
        ]
        try:
            await self._store.add_usage(rows)
        except Exception as err:  # the store's errors are counted, the usage kept
            for row, amount in pending.items():
                self._pending[row] = self._pending.get(row, 0.0) + amount
            log.warning("usage.flush_failed", rows=len(rows), error=type(err).__name__)
            return False
        self.flushes += 1
        log.info("usage.flushed", rows=len(rows))
        return True

    async def _refresh(self) -> None:
        """Today's spending of each known key, from the store (every worker's and node's
        flushes) plus what is recorded here and not written yet; older days are dropped."""
        day = utc_day(self._wall())
        for stale in [k for k in self._spent if k[1] != day]:
            del self._spent[stale]
        keys = {key for key, _ in self._spent}
        if not keys:
            return
        try:
            rows = await self._store.usage_rows(key=None, since=day, until=day)
        except StoreError as err:
            log.warning("usage.refresh_failed", error=type(err).__name__)
            return
        fresh = {key: Spent() for key in keys}
        for row in rows:
            if row.key in fresh:
                fresh[row.key].add(row.metric, row.amount)
        for (p_day, p_key, _, _, metric), amount in self._pending.items():
            if p_day == day and p_key in fresh:
                fresh[p_key].add(metric, amount)  # recorded while the store was read
        for key, spent in fresh.items():
            self._spent[(key, day)] = spent

    def _count(self, key: str, profile: str, model: str, metric: str, amount: float) -> None:
        metrics = self._metrics
        if metrics is None:
            return
        if metric.startswith("tokens."):
            _, direction, modality = metric.split(".", 2)
            metrics.usage_tokens.labels(
                key=key, profile=profile, model=model, direction=direction, modality=modality
            ).inc(amount)
        elif metric in (AUDIO_IN, AUDIO_OUT):
            metrics.usage_audio_seconds.labels(
                key=key, profile=profile, direction=metric.rsplit(".", 1)[1]
            ).inc(amount)
        elif metric == SESSION_SECONDS:
            metrics.usage_session_seconds.labels(key=key, profile=profile).inc(amount)
