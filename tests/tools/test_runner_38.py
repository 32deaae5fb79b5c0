"""Gemini 3.8 tool rules in the runner: NON_BLOCKING by default, informative errors, repeats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from livesvc.session._config import SessionConfig
from livesvc.session._prepare import prepare
from livesvc.tools import (
    ToolOutcome,
    ToolRunner,
    ToolSpec,
    ends_interaction,
    informative_response,
    tool,
)
from livesvc.wire import FunctionCall, FunctionResponse, ServerContent, ToolCall


class Sent:
    """Collects toolResponse batches with the virtual time they were sent."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[FunctionResponse]]] = []

    async def __call__(self, responses: list[FunctionResponse]) -> None:
        self.batches.append((trio.current_time(), responses))

    @property
    def responses(self) -> list[FunctionResponse]:
        return [r for _, batch in self.batches for r in batch]


class Finished:
    def __init__(self) -> None:
        self.reports: list[tuple[str | None, ToolOutcome, float]] = []

    def __call__(
        self, *, call_id: str | None, name: str, outcome: ToolOutcome, duration_seconds: float
    ) -> None:
        self.reports.append((call_id, outcome, duration_seconds))


@asynccontextmanager
async def running(tools: list[ToolSpec], **kw: Any) -> AsyncIterator[tuple[ToolRunner, Sent]]:
    sent = Sent()
    runner = ToolRunner(tools={t.name: t for t in tools}, respond=sent, **kw)
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.serve)
        yield runner, sent
        nursery.cancel_scope.cancel()


def call(cid: str, name: str, **args: Any) -> ToolCall:
    return ToolCall(function_calls=[FunctionCall(id=cid, name=name, args=args)])


# -- NON_BLOCKING by default -------------------------------------------------------


@tool
async def lookup(q: str, seconds: float) -> dict[str, Any]:
    """Look something up (declared without behavior)."""
    await trio.sleep(seconds)
    return {"found": q}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # 3.8: each call is answered when it finishes, concurrently.
        ("gemini-3.8-live", [(2.0, ["fast"]), (5.0, ["slow"])]),
        ("gemini-3.8-live-extended-thinking", [(2.0, ["fast"]), (5.0, ["slow"])]),
        # 2.5: no behavior means BLOCKING, answered together once both are done.
        ("gemini-2.5-flash-native-audio-preview-12-2025", [(5.0, ["slow", "fast"])]),
    ],
)
async def test_declarations_without_behavior_run_non_blocking_on_38(
    autojump_clock: trio.abc.Clock, model: str, expected: list[tuple[float, list[str]]]
) -> None:
    """The session's runner, built from prepare(), treats a behavior-less tool as 3.8 does."""
    prepared = prepare(SessionConfig(model=model, api_key="k", tools=[lookup]))
    async with running([lookup], non_blocking=prepared.non_blocking) as (runner, sent):
        runner.submit(
            ToolCall(
                function_calls=[
                    FunctionCall(id="slow", name="lookup", args={"q": "a", "seconds": 5}),
                    FunctionCall(id="fast", name="lookup", args={"q": "b", "seconds": 2}),
                ]
            )
        )
        await trio.sleep(10)
    assert [(t, [r.id for r in b]) for t, b in sent.batches] == expected


# -- informative errors --------------------------------------------------------------


@tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


@tool
async def boom() -> None:
    """Fail."""
    raise RuntimeError("kaput")


async def test_failures_are_answered_with_status_and_retryable(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Bad arguments, an exception and a timeout each tell the model whether a retry helps."""
    hang = ToolSpec(lookup.fn, name="hang", timeout=4)
    async with running([add, boom, hang], informative_errors=True) as (runner, sent):
        runner.submit(call("bad", "add", a=1, c=2))
        runner.submit(call("missing", "add", a=1))
        runner.submit(call("boom", "boom"))
        runner.submit(call("late", "hang", q="x", seconds=60))
        await trio.sleep(10)
    by_id = {r.id: (t, r.response) for t, b in sent.batches for r in b}
    assert by_id["bad"] == (
        0.0,
        {
            "status": "invalid_argument",
            "retryable": False,
            "reason_code": "unexpected_argument",
            "valid_options": ["a", "b"],
            "message": "unexpected argument 'c'",
        },
    )
    assert by_id["missing"][1] == {
        "status": "invalid_argument",
        "retryable": False,
        "reason_code": "missing_argument",
        "valid_options": ["a", "b"],
        "message": "missing argument 'b'",
    }
    assert by_id["boom"] == (
        0.0,
        {"status": "error", "retryable": False, "error_type": "RuntimeError", "message": "kaput"},
    )
    assert by_id["late"] == (
        4.0,
        {
            "status": "timeout",
            "retryable": True,
            "message": "tool hang timed out after 4s; calling it again may succeed",
        },
    )


async def test_a_failing_fallback_is_answered_informatively(autojump_clock: trio.abc.Clock) -> None:
    """Calls the app's on_tool_call handles get the same payloads when it raises or overruns."""

    async def explode(tc: ToolCall) -> None:
        raise ValueError("no backend")

    async with running([], fallback=explode, informative_errors=True) as (runner, sent):
        runner.submit(call("1", "x"))
        await trio.testing.wait_all_tasks_blocked()
    assert sent.responses[0].response == {
        "status": "error",
        "retryable": False,
        "error_type": "ValueError",
        "message": "no backend",
    }

    async def stall(tc: ToolCall) -> None:
        await trio.sleep(100)

    async with running([], fallback=stall, informative_errors=True, default_timeout=3) as (
        runner,
        sent,
    ):
        runner.submit(call("1", "x"))
        await trio.sleep(5)
    assert sent.batches[0][0] == 3.0
    assert sent.responses[0].response is not None
    assert sent.responses[0].response["status"] == "timeout"
    assert sent.responses[0].response["retryable"] is True


def test_informative_response_builds_the_guide_shape() -> None:
    """Tools can answer their own outcomes the way the 3.8 migration guide asks."""
    fc = FunctionCall(id="1", name="find")
    response = informative_response(
        fc, "no_results_in_range", "Nothing this week.", retryable=True, retry_hint="try a month"
    )
    assert response == FunctionResponse(
        id="1",
        name="find",
        response={
            "status": "no_results_in_range",
            "retryable": True,
            "retry_hint": "try a month",
            "message": "Nothing this week.",
        },
    )


# -- repeated identical calls ---------------------------------------------------------


def counted(runs: list[float], *, suppress: bool = True, fail_first: bool = False) -> ToolSpec:
    async def find(city: str, day: str = "today") -> dict[str, Any]:
        runs.append(trio.current_time())
        run = len(runs)
        await trio.sleep(5)
        if fail_first and run == 1:
            raise LookupError("backend down")
        return {"city": city, "day": day, "run": run}

    return ToolSpec(find, behavior="NON_BLOCKING", suppress_repeats=suppress, timeout=20)


async def test_repeats_within_one_interaction_are_answered_from_the_first_result(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Identical calls (arguments in any order) run once; each gets the first result, its own id."""
    runs: list[float] = []
    finished = Finished()
    find = counted(runs)
    async with running([find], non_blocking={"find"}, on_finished=finished) as (runner, sent):
        runner.submit(call("1", "find", city="Paris", day="mon"))
        await trio.sleep(1)
        runner.submit(call("2", "find", day="mon", city="Paris"))  # while the first runs
        runner.submit(call("3", "find", city="Rome", day="mon"))  # other arguments: runs
        await trio.sleep(9)
        runner.submit(call("4", "find", city="Paris", day="mon"))  # after it finished
        await trio.sleep(1)
        runner.end_interaction()
        runner.submit(call("5", "find", city="Paris", day="mon"))  # a new interaction: runs
        await trio.sleep(10)
    assert runs == [0.0, 1.0, 11.0]
    answers = [(t, r.id, r.response) for t, b in sent.batches for r in b]
    paris = {"city": "Paris", "day": "mon", "run": 1}
    assert answers == [
        (5.0, "1", paris),
        (5.0, "2", paris),
        (6.0, "3", {"city": "Rome", "day": "mon", "run": 2}),
        (10.0, "4", paris),
        (16.0, "5", {"city": "Paris", "day": "mon", "run": 3}),
    ]
    assert runner.repeats == 2
    assert [(cid, outcome) for cid, outcome, _ in finished.reports] == [
        ("1", "ok"),
        ("2", "repeat"),
        ("3", "ok"),
        ("4", "repeat"),
        ("5", "ok"),
    ]


async def test_repeats_run_again_when_the_option_is_off(autojump_clock: trio.abc.Clock) -> None:
    """Off by default: every identical call runs."""
    runs: list[float] = []
    find = counted(runs, suppress=False)
    async with running([find], non_blocking={"find"}) as (runner, sent):
        runner.submit(call("1", "find", city="Paris"))
        runner.submit(call("2", "find", city="Paris"))
        await trio.sleep(10)
    assert runs == [0.0, 0.0]
    assert sorted(r.response["run"] for r in sent.responses if r.response) == [1, 2]
    assert runner.repeats == 0


async def test_a_failed_first_call_is_reused_but_a_timed_out_or_cancelled_one_is_not(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A non-retryable failure answers its repeats; a timeout or a cancellation lets them run."""
    runs: list[float] = []
    find = counted(runs, fail_first=True)
    async with running([find], non_blocking={"find"}, informative_errors=True) as (runner, sent):
        runner.submit(call("1", "find", city="Oslo"))
        runner.submit(call("2", "find", city="Oslo"))
        await trio.sleep(6)
    assert runs == [0.0]
    assert [r.response for r in sent.responses] == [
        {
            "status": "error",
            "retryable": False,
            "error_type": "LookupError",
            "message": "backend down",
        }
    ] * 2

    runs = []
    find = counted(runs)
    async with running([find], non_blocking={"find"}) as (runner, sent):
        t0 = trio.current_time()
        runner.submit(call("1", "find", city="Oslo"))
        await trio.sleep(1)
        runner.submit(call("2", "find", city="Oslo"))  # waits for "1"
        await trio.sleep(1)
        runner.cancel(["1"])  # "2" now runs itself
        await trio.sleep(10)
    assert [t - t0 for t in runs] == [0.0, 2.0]
    assert [(t - t0, r.id) for t, b in sent.batches for r in b] == [(7.0, "2")]

    runs = []
    quick = ToolSpec(
        counted(runs).fn, name="find", behavior="NON_BLOCKING", suppress_repeats=True, timeout=3
    )
    async with running([quick], non_blocking={"find"}) as (runner, sent):
        t0 = trio.current_time()
        runner.submit(call("1", "find", city="Oslo"))
        await trio.sleep(4)  # "1" timed out at 3
        runner.submit(call("2", "find", city="Oslo"))
        await trio.sleep(4)
    assert [t - t0 for t in runs] == [0.0, 4.0]


@pytest.mark.parametrize(
    ("content", "ends"),
    [
        (ServerContent(turn_complete=True), True),
        (
            ServerContent(turn_complete=True, interaction_status="INTERACTION_STATUS_UNSPECIFIED"),
            True,
        ),
        (ServerContent(turn_complete=True, interaction_status="IN_PROGRESS"), False),
        (ServerContent(turn_complete=True, interaction_status="IDLE"), True),
        (ServerContent(turn_complete=True, interaction_status="REQUIRES_ACTION"), True),
        (ServerContent(interaction_status="IDLE"), False),
        (ServerContent(generation_complete=True), False),
    ],
)
def test_ends_interaction_follows_the_sdk_rule(content: ServerContent, ends: bool) -> None:
    """Only IDLE (or legacy REQUIRES_ACTION) ends a 3.8 interaction; else turnComplete does."""
    assert ends_interaction(content) is ends
