"""One session's metering on trio's virtual clock: the grace of a spent budget, a
budget raised by SIGHUP, and session time recorded at each turn end."""

from __future__ import annotations

import datetime

import trio

from livesvc.gateway._metering import SessionMetering
from livesvc.metrics import DaemonMetrics
from livesvc.store import UsageRow
from livesvc.usage import Budget, UsageRecorder
from livesvc.wire import ServerMessage, UsageMetadata

WALL = datetime.datetime(2026, 12, 3, 12, tzinfo=datetime.UTC).timestamp()
SPENT = "Budget tokens_per_day (10) of key k0 is spent for today."


class MemoryStore:
    def __init__(self) -> None:
        self.rows: list[UsageRow] = []

    async def add_usage(self, rows: list[UsageRow]) -> None:
        self.rows.extend(rows)

    async def usage_rows(self, *, key: str | None, since: str, until: str) -> list[UsageRow]:
        return [r for r in self.rows if (key is None or r.key == key) and since <= r.day <= until]


async def session(budget: list[Budget], grace: float = 30.0) -> tuple[SessionMetering, MemoryStore]:
    store = MemoryStore()
    recorder = UsageRecorder(store, wall_clock=lambda: WALL)
    await recorder.spent_today("k0")  # what the gateway does before the session starts
    metering = SessionMetering(
        recorder=recorder,
        key="k0",
        profile="p",
        model="m",
        budget=lambda: budget[0],
        grace=lambda: grace,
        metrics=DaemonMetrics(),
    )
    return metering, store


def spend(metering: SessionMetering, tokens: int) -> None:
    metering.server_message(ServerMessage(usage_metadata=UsageMetadata(prompt_token_count=tokens)))


async def test_a_spent_budget_warns_then_closes_at_the_first_turn_end_past_the_grace(
    autojump_clock: trio.abc.Clock,
) -> None:
    metering, _ = await session([Budget(tokens_per_day=10)])
    start = trio.current_time()
    spend(metering, 12)
    assert metering.turn_ended() is None  # warned: the grace starts
    assert metering.budget_exceeded == "tokens_per_day (10)"
    await trio.sleep(29.9)
    assert metering.turn_ended() is None
    await trio.sleep(0.1)
    assert metering.turn_ended() == SPENT
    assert trio.current_time() - start == 30.0


async def test_a_budget_raised_by_sighup_lifts_the_warning_and_a_new_spend_gets_a_new_grace(
    autojump_clock: trio.abc.Clock,
) -> None:
    budget = [Budget(tokens_per_day=10)]
    metering, _ = await session(budget)
    spend(metering, 12)
    assert metering.turn_ended() is None  # warned at 0
    budget[0] = Budget(tokens_per_day=1000)  # SIGHUP
    await trio.sleep(5)
    assert metering.turn_ended() is None
    assert metering.budget_exceeded is None
    await trio.sleep(35)
    budget[0] = Budget(tokens_per_day=10)  # lowered again at 40: warned anew, not closed
    assert metering.turn_ended() is None
    assert metering.budget_exceeded == "tokens_per_day (10)"
    await trio.sleep(30)
    assert metering.turn_ended() == SPENT


async def test_session_time_is_recorded_at_each_turn_end(autojump_clock: trio.abc.Clock) -> None:
    metering, store = await session([Budget(tokens_per_day=1000)])
    recorder = metering._recorder
    await trio.sleep(7)
    metering.turn_ended()
    await recorder.flush()  # a kill -9 after this flush keeps the 7 s
    seconds = [r.amount for r in store.rows if r.metric == "session_seconds"]
    assert seconds == [7.0]
    await trio.sleep(3)
    assert metering.finish()["session_seconds"] == 10.0
    await recorder.flush()
    assert [r.amount for r in store.rows if r.metric == "session_seconds"] == [7.0, 3.0]
