"""The meter, the budget decision and the write-behind, alone (pure, or on the virtual clock)."""

from __future__ import annotations

import datetime

import pytest
import trio

from livesvc.store import UsageRow
from livesvc.usage import Budget, UsageMeter, UsageRecorder, exhausted
from livesvc.wire import (
    Blob,
    ClientMessage,
    Content,
    FunctionCall,
    ModalityTokenCount,
    Part,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    ToolCall,
    UsageMetadata,
)

TEXT = [ModalityTokenCount(modality="TEXT", token_count=4)]


@pytest.mark.parametrize(
    "usage",
    [
        UsageMetadata(
            prompt_token_count=2,
            prompt_tokens_details=[ModalityTokenCount(modality="TEXT", token_count=2)],
            response_token_count=4,
            response_tokens_details=TEXT,
        ),
        UsageMetadata(
            prompt_token_count=2,
            prompt_tokens_details=[ModalityTokenCount(modality="TEXT", token_count=2)],
            candidates_token_count=4,
            candidates_tokens_details=TEXT,
        ),
    ],
    ids=["gemini", "vertex"],
)
def test_both_backends_usage_shapes_meter_the_same(usage: UsageMetadata) -> None:
    meter = UsageMeter()
    meter.server_message(
        ServerMessage(server_content=ServerContent(turn_complete=True), usage_metadata=usage)
    )
    assert meter.take().amounts == {
        "tokens.input.TEXT": 2.0,
        "tokens.output.TEXT": 4.0,
        "turns": 1.0,
    }


def test_a_total_without_details_is_unspecified() -> None:
    meter = UsageMeter()
    meter.server_message(
        ServerMessage(usage_metadata=UsageMetadata(prompt_token_count=7, response_token_count=3))
    )
    assert meter.take().amounts == {
        "tokens.input.UNSPECIFIED": 7.0,
        "tokens.output.UNSPECIFIED": 3.0,
    }


def test_audio_seconds_from_the_pcm_relayed_both_ways() -> None:
    meter = UsageMeter()
    one_second_in = Blob(data=bytes(32_000), mime_type="audio/pcm;rate=16000")
    meter.client_message(ClientMessage(realtime_input=RealtimeInput(audio=one_second_in)))
    meter.client_message(ClientMessage(realtime_input=RealtimeInput(media_chunks=[one_second_in])))
    half_second_out = Blob(data=bytes(24_000), mime_type="audio/pcm;rate=24000")
    meter.server_message(
        ServerMessage(
            server_content=ServerContent(
                model_turn=Content(parts=[Part(inline_data=half_second_out)])
            )
        )
    )
    video = Blob(data=bytes(1000), mime_type="image/jpeg")
    meter.client_message(ClientMessage(realtime_input=RealtimeInput(video=video)))
    assert meter.take().amounts == {"audio_seconds.in": 2.0, "audio_seconds.out": 0.5}


def test_tool_calls_are_counted_and_take_hands_over_once() -> None:
    meter = UsageMeter()
    call = ToolCall(function_calls=[FunctionCall(id="1", name="a"), FunctionCall(id="2", name="b")])
    meter.server_message(ServerMessage(tool_call=call))
    assert meter.take().amounts == {"tool_calls": 2.0}
    assert meter.take().amounts == {}
    assert meter.totals == {"tool_calls": 2.0}


def test_budgets_name_what_is_spent() -> None:
    budget = Budget(tokens_per_day=100, audio_minutes_per_day=1.5)
    assert exhausted(budget, tokens=99, audio_seconds=89) is None
    assert exhausted(budget, tokens=100, audio_seconds=0) == "tokens_per_day (100)"
    assert exhausted(budget, tokens=0, audio_seconds=90) == "audio_minutes_per_day (1.5)"
    assert exhausted(Budget(sessions_concurrent=1), tokens=1e9, audio_seconds=1e9) is None


class MemoryStore:
    def __init__(self) -> None:
        self.rows: list[UsageRow] = []
        self.writes: list[float] = []
        self.fail = False

    async def add_usage(self, rows: list[UsageRow]) -> None:
        if self.fail:
            raise OSError("disk gone")
        self.writes.append(trio.current_time())
        self.rows.extend(rows)

    async def usage_rows(self, *, key: str | None, since: str, until: str) -> list[UsageRow]:
        return [r for r in self.rows if (key is None or r.key == key) and since <= r.day <= until]


async def test_the_write_behind_flushes_on_its_period_and_keeps_what_failed(
    autojump_clock: trio.abc.Clock,
) -> None:
    store = MemoryStore()
    wall = datetime.datetime(2026, 12, 3, 12, tzinfo=datetime.UTC).timestamp()
    recorder = UsageRecorder(store, flush_seconds=5.0, wall_clock=lambda: wall)
    meter = UsageMeter()
    meter.server_message(ServerMessage(usage_metadata=UsageMetadata(prompt_token_count=10)))
    async with trio.open_nursery() as nursery:
        await nursery.start(recorder.run)
        recorder.record(key="k0", profile="p", model="m", delta=meter.take())
        await trio.sleep(5.5)
        assert store.writes == [5.0]
        store.fail = True
        meter.server_message(ServerMessage(usage_metadata=UsageMetadata(prompt_token_count=5)))
        recorder.record(key="k0", profile="p", model="m", delta=meter.take())
        await trio.sleep(5.0)  # the flush at 10 fails: kept for the next one
        store.fail = False
        await trio.sleep(5.0)
        assert store.writes == [5.0, 15.0]
        spent = await recorder.spent_today("k0")
        nursery.cancel_scope.cancel()
    assert [(r.day, r.metric, r.amount) for r in store.rows] == [
        ("2026-12-03", "tokens.input.UNSPECIFIED", 10.0),
        ("2026-12-03", "tokens.input.UNSPECIFIED", 5.0),
    ]
    assert spent.tokens == 15.0
