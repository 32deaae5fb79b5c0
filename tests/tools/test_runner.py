"""The tool runner: every call answered (result, error or timeout) unless the server cancelled it."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from livesvc.tools import ToolResult, ToolRunner, ToolSpec, tool
from livesvc.wire import FunctionCall, FunctionResponse, ToolCall, ToolResponse


class Sent:
    """Collects toolResponse batches with the virtual time they were sent."""

    def __init__(self) -> None:
        self.batches: list[tuple[float, list[FunctionResponse]]] = []
        self._changed = trio.Event()

    async def __call__(self, responses: list[FunctionResponse]) -> None:
        self.batches.append((trio.current_time(), responses))
        self._changed.set()

    async def wait(self, count: int = 1) -> None:
        """Wait (bounded) until ``count`` batches were sent, e.g. while worker threads run."""
        with trio.fail_after(5):
            while len(self.batches) < count:
                self._changed = trio.Event()
                await self._changed.wait()

    @property
    def responses(self) -> list[FunctionResponse]:
        return [r for _, batch in self.batches for r in batch]


def call(cid: str, name: str, **args: Any) -> FunctionCall:
    return FunctionCall(id=cid, name=name, args=args)


@asynccontextmanager
async def running(tools: list[ToolSpec], **kw: Any) -> AsyncIterator[tuple[ToolRunner, Sent]]:
    sent = Sent()
    runner = ToolRunner(tools={t.name: t for t in tools}, respond=sent, **kw)
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.serve)
        yield runner, sent
        nursery.cancel_scope.cancel()


@tool
async def slow_echo(text: str, seconds: float = 0.0) -> dict[str, Any]:
    await trio.sleep(seconds)
    return {"echo": text}


@tool
def add(a: int, b: int) -> int:
    return a + b


@tool
async def boom() -> None:
    raise RuntimeError("kaput")


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


async def test_blocking_calls_of_one_message_are_answered_together() -> None:
    """An async and a sync (threaded) tool: one toolResponse, in call order, once both are done."""
    release = trio.Event()
    added = trio.Event()

    @tool
    async def gated(text: str) -> dict[str, Any]:
        await release.wait()
        return {"echo": text}

    @tool
    def add_in_thread(a: int, b: int) -> int:
        trio.from_thread.run_sync(added.set)
        return a + b

    async with running([gated, add_in_thread]) as (runner, sent):
        runner.submit(
            ToolCall(
                function_calls=[call("1", "gated", text="hi"), call("2", "add_in_thread", a=2, b=3)]
            )
        )
        await added.wait()
        await trio.testing.wait_all_tasks_blocked()
        assert sent.batches == []
        release.set()
        await sent.wait()
    ((_at, batch),) = sent.batches
    assert batch == [
        FunctionResponse(id="1", name="gated", response={"echo": "hi"}),
        FunctionResponse(id="2", name="add_in_thread", response={"result": 5}),
    ]
    assert runner.completed == 2


async def test_sync_tools_run_in_a_worker_thread() -> None:
    """A sync tool does not run on the trio thread."""
    seen: list[str] = []

    @tool
    def where() -> str:
        seen.append(threading.current_thread().name)
        return "ok"

    async with running([where]) as (runner, sent):
        runner.submit(ToolCall(function_calls=[call("1", "where")]))
        await sent.wait()
    assert seen
    assert seen[0] != threading.current_thread().name


async def test_exception_and_bad_arguments_become_structured_errors() -> None:
    """A raising tool and ill-typed arguments are answered with {"error": {...}}."""
    async with running([boom, add]) as (runner, sent):
        runner.submit(ToolCall(function_calls=[call("1", "boom"), call("2", "add", a="x", b=1)]))
        await sent.wait()
    assert sent.responses == [
        FunctionResponse(
            id="1", name="boom", response={"error": {"type": "RuntimeError", "message": "kaput"}}
        ),
        FunctionResponse(
            id="2",
            name="add",
            response={
                "error": {
                    "type": "invalid_arguments",
                    "message": sent.responses[1].response["error"]["message"],
                }
            },  # type: ignore[index]
        ),
    ]
    assert "argument 'a'" in sent.responses[1].response["error"]["message"]  # type: ignore[index]
    assert runner.failed == 2


async def test_timeout_answers_at_exactly_the_tool_timeout(autojump_clock: trio.abc.Clock) -> None:
    """A tool that overruns its timeout is answered with a timeout error at that virtual time."""
    hang = ToolSpec(slow_echo.fn, name="hang", timeout=4)
    async with running([hang], default_timeout=100) as (runner, sent):
        runner.submit(ToolCall(function_calls=[call("1", "hang", text="x", seconds=60)]))
        await trio.sleep(70)
    ((at, batch),) = sent.batches
    assert at == pytest.approx(4.0)
    assert batch[0].response == {
        "error": {"type": "timeout", "message": "tool hang timed out after 4s"}
    }


async def test_cancelled_call_gets_no_response_and_others_still_do(
    autojump_clock: trio.abc.Clock,
) -> None:
    """toolCallCancellation cancels the matching call only; its sibling is still answered."""
    async with running([slow_echo]) as (runner, sent):
        runner.submit(
            ToolCall(
                function_calls=[
                    call("keep", "slow_echo", text="a", seconds=5),
                    call("drop", "slow_echo", text="b", seconds=50),
                ]
            )
        )
        await trio.sleep(1)
        assert sorted(runner.running_ids) == ["drop", "keep"]
        assert runner.cancel(["drop", "unknown"]) == ["drop"]
        await trio.sleep(20)
        assert not runner.busy
    assert sent.responses == [FunctionResponse(id="keep", name="slow_echo", response={"echo": "a"})]
    assert sent.batches[0][0] == pytest.approx(5.0)
    assert runner.cancelled == 1


async def test_concurrency_limit_queues_calls(autojump_clock: trio.abc.Clock) -> None:
    """With one slot, the second call starts when the first ends."""
    starts: list[float] = []

    @tool
    async def work() -> str:
        starts.append(trio.current_time())
        await trio.sleep(10)
        return "done"

    async with running([work], max_concurrency=1) as (runner, _sent):
        runner.submit(ToolCall(function_calls=[call("1", "work"), call("2", "work")]))
        await trio.sleep(30)
    assert starts == [0.0, 10.0]


async def test_non_blocking_answers_each_call_as_it_finishes_with_scheduling(
    autojump_clock: trio.abc.Clock,
) -> None:
    """NON_BLOCKING calls are answered one by one, with their scheduling."""

    @tool(behavior="NON_BLOCKING", scheduling="WHEN_IDLE")
    async def lookup(q: str, seconds: float) -> Any:
        await trio.sleep(seconds)
        if q == "urgent":
            return ToolResult({"found": q}, scheduling="INTERRUPT")
        return {"found": q}

    async with running([lookup], non_blocking={"lookup"}) as (runner, sent):
        runner.submit(
            ToolCall(
                function_calls=[
                    call("1", "lookup", q="slow", seconds=8),
                    call("2", "lookup", q="urgent", seconds=2),
                ]
            )
        )
        await trio.sleep(10)
    assert [(t, [(r.id, r.scheduling) for r in b]) for t, b in sent.batches] == [
        (pytest.approx(2.0), [("2", "INTERRUPT")]),
        (pytest.approx(8.0), [("1", "WHEN_IDLE")]),
    ]


async def test_scheduling_dropped_where_unsupported() -> None:
    """On Vertex (scheduling unsupported) responses go out without scheduling."""

    @tool(behavior="NON_BLOCKING", scheduling="SILENT")
    async def note() -> str:
        return "ok"

    async with running([note], non_blocking={"note"}, scheduling_supported=False) as (runner, sent):
        runner.submit(ToolCall(function_calls=[call("1", "note")]))
        await settle()
    assert sent.responses[0].scheduling is None


async def test_fallback_answers_unmatched_calls_and_fills_names() -> None:
    """on_tool_call gets the calls no tool matches; its returned dicts become responses."""
    got: list[ToolCall] = []

    def on_tool_call(tc: ToolCall) -> list[dict[str, Any]]:
        got.append(tc)
        return [{"id": fc.id, "response": {"ok": True}} for fc in tc.function_calls or []]

    async with running([add], fallback=on_tool_call) as (runner, sent):
        runner.submit(ToolCall(function_calls=[call("1", "add", a=1, b=1), call("2", "other")]))
        await sent.wait()
    assert [c.name for c in got[0].function_calls or []] == ["other"]
    assert sorted((r.id, r.name) for r in sent.responses) == [("1", "add"), ("2", "other")]
    assert len(sent.batches) == 1


async def test_fallback_returning_none_leaves_the_answer_to_the_caller() -> None:
    """A fallback that returns None sends nothing (the app answers with send_tool_response)."""
    async with running([], fallback=lambda tc: None) as (runner, sent):
        runner.submit(ToolCall(function_calls=[call("1", "x")]))
        await settle()
    assert sent.batches == []


async def test_raising_fallback_answers_with_errors_and_reports() -> None:
    """A raising on_tool_call is reported through on_error and every call gets an error."""
    errors: list[Exception] = []

    async def on_tool_call(tc: ToolCall) -> ToolResponse:
        raise ValueError("no")

    async with running([], fallback=on_tool_call, on_error=errors.append) as (runner, sent):
        runner.submit(ToolCall(function_calls=[call("1", "x"), call("2", "y")]))
        await settle()
    assert [r.response for r in sent.responses] == [
        {"error": {"type": "ValueError", "message": "no"}}
    ] * 2
    assert [type(e) for e in errors] == [ValueError]


async def test_fallback_cancelled_entirely_sends_nothing(autojump_clock: trio.abc.Clock) -> None:
    """Cancelling every call of a fallback cancels the handler itself."""
    finished: list[bool] = []

    async def on_tool_call(tc: ToolCall) -> list[FunctionResponse]:
        await trio.sleep(100)
        finished.append(True)
        return []

    async with running([], fallback=on_tool_call, default_timeout=500) as (runner, sent):
        runner.submit(ToolCall(function_calls=[call("1", "x"), call("2", "y")]))
        await trio.sleep(1)
        runner.cancel(["1"])
        await trio.sleep(1)
        assert runner.busy  # one call of the two is still wanted
        runner.cancel(["2"])
        await trio.sleep(1)
        assert not runner.busy
    assert finished == []
    assert sent.batches == []


async def test_unserializable_result_is_an_error() -> None:
    """A result msgspec cannot encode becomes an error response instead of a crash at send time."""

    @tool
    async def weird() -> object:
        return object()

    async with running([weird]) as (runner, sent):
        runner.submit(ToolCall(function_calls=[call("1", "weird")]))
        await settle()
    assert sent.responses[0].response["error"]["type"] == "unserializable_result"  # type: ignore[index]


async def test_calls_without_ids_still_run() -> None:
    """Vertex sends calls without ids; they are run and answered without an id."""
    async with running([add]) as (runner, sent):
        runner.submit(ToolCall(function_calls=[FunctionCall(name="add", args={"a": 1, "b": 2})]))
        await sent.wait()
    assert sent.responses == [FunctionResponse(name="add", response={"result": 3})]


def test_submit_before_serve_is_an_error() -> None:
    """A runner that is not serving refuses calls loudly."""
    runner = ToolRunner(tools={}, respond=Sent())
    with pytest.raises(RuntimeError, match="serve"):
        runner.submit(ToolCall(function_calls=[]))


class Finished:
    """Collects on_finished reports as (call_id, name, outcome, duration)."""

    def __init__(self) -> None:
        self.reports: list[tuple[str | None, str, str, float]] = []

    def __call__(
        self, *, call_id: str | None, name: str, outcome: str, duration_seconds: float
    ) -> None:
        self.reports.append((call_id, name, outcome, duration_seconds))


async def test_each_call_is_reported_once_with_its_outcome_and_duration(
    autojump_clock: trio.abc.Clock,
) -> None:
    """ok, error, bad arguments, timeout and cancelled: one report each, at exact virtual times."""
    hang = ToolSpec(slow_echo.fn, name="hang", timeout=4)
    finished = Finished()
    async with running([slow_echo, boom, add, hang], on_finished=finished) as (runner, _sent):
        runner.submit(
            ToolCall(
                function_calls=[
                    call("ok", "slow_echo", text="a", seconds=3),
                    call("error", "boom"),
                    call("bad", "add", a="x", b=1),
                    call("late", "hang", text="b", seconds=60),
                    call("gone", "slow_echo", text="c", seconds=50),
                ]
            )
        )
        await trio.sleep(1)
        runner.cancel(["gone"])
        await trio.sleep(20)
    assert sorted(finished.reports) == [
        ("bad", "add", "bad_arguments", 0.0),
        ("error", "boom", "error", 0.0),
        ("gone", "slow_echo", "cancelled", pytest.approx(1.0)),
        ("late", "hang", "timeout", pytest.approx(4.0)),
        ("ok", "slow_echo", "ok", pytest.approx(3.0)),
    ]


async def test_an_unserializable_result_is_reported_as_an_error() -> None:
    """The model gets an error for it, so the outcome is an error too."""

    @tool
    async def weird() -> object:
        return object()

    finished = Finished()
    async with running([weird], on_finished=finished) as (runner, _sent):
        runner.submit(ToolCall(function_calls=[call("1", "weird")]))
        await settle()
    assert [r[2] for r in finished.reports] == ["error"]


async def test_fallback_calls_are_reported_when_the_runner_knows_how_they_ended(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Answered: ok; raised: error; overran: timeout; left for later: no report."""
    finished = Finished()

    async def answer_one(tc: ToolCall) -> list[dict[str, Any]]:
        await trio.sleep(2)
        return [{"id": "1", "response": {"ok": True}}]  # "2" is answered later by the app

    async with running([], fallback=answer_one, on_finished=finished) as (runner, _sent):
        runner.submit(ToolCall(function_calls=[call("1", "x"), call("2", "y")]))
        await trio.sleep(5)
    assert finished.reports == [("1", "x", "ok", pytest.approx(2.0))]

    async def explode(tc: ToolCall) -> None:
        raise ValueError("no")

    finished = Finished()
    async with running([], fallback=explode, on_finished=finished) as (runner, _sent):
        runner.submit(ToolCall(function_calls=[call("1", "x"), call("2", "y")]))
        await settle()
    assert [(r[0], r[2]) for r in finished.reports] == [("1", "error"), ("2", "error")]

    async def stall(tc: ToolCall) -> None:
        await trio.sleep(100)

    finished = Finished()
    async with running([], fallback=stall, on_finished=finished, default_timeout=7) as (
        runner,
        _sent,
    ):
        runner.submit(ToolCall(function_calls=[call("1", "x")]))
        runner.submit(ToolCall(function_calls=[call("2", "y")]))
        await trio.sleep(3)
        runner.cancel(["2"])
        await trio.sleep(10)
    assert sorted(finished.reports) == [
        ("1", "x", "timeout", pytest.approx(7.0)),
        ("2", "y", "cancelled", pytest.approx(3.0)),
    ]
