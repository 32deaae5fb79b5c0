"""Run the model's tool calls so that it is never left waiting.

Each call runs in its own cancel scope, under a per-tool timeout and a
concurrency limit. Async tools run as tasks, sync tools in worker threads. The
outcome always becomes a response:

- a return value becomes ``{"result": ...}`` (a dict is sent as is);
- an exception, bad arguments or a timeout become ``{"error": {...}}``, or,
  with ``informative_errors`` (Gemini 3.8, which calls again when an answer
  tells it nothing), a payload saying what happened and whether a retry can
  help: ``{"status": "timeout", "retryable": true, "message": ...}``,
  ``{"status": "invalid_argument", "reason_code": ..., "retryable": false,
  "valid_options": [...], "message": ...}``, ``{"status": "error",
  "retryable": false, "error_type": ..., "message": ...}``;
- a call to a ``suppress_repeats`` tool identical (name and arguments) to an
  earlier call of the same interaction is answered with that call's result
  (waiting for it if it still runs) instead of running again; a timed-out or
  cancelled first call does not count. :meth:`ToolRunner.end_interaction`
  forgets the interaction's calls;
- a ``toolCallCancellation`` cancels the matching calls, and **no** response is
  sent for them (the server has forgotten them).

Blocking calls of one ``toolCall`` message are answered together in one
``toolResponse`` once all of them are done; ``NON_BLOCKING`` ones are answered
as soon as each finishes, with their ``scheduling``.

Calls not matched by a registered tool go to an optional fallback handler (the
session's ``on_tool_call``), whose returned responses are sent the same way.

Every call the runner settles is reported once to ``on_finished`` with its
outcome (``ok``, ``error``, ``bad_arguments``, ``timeout``, ``cancelled``) and
duration; a fallback call the handler leaves for later is not (the runner never
learns how it ends), nor is a call still running when the runner stops.

The runner is state that outlives the executor actor: its calls run in a
nursery the session owns, so restarting the actor does not cancel them.

Example::

    async with trio.open_nursery() as nursery:
        runner = ToolRunner(tools={"add": add_spec}, respond=send_responses)
        nursery.start_soon(runner.serve)
        runner.submit(ToolCall(function_calls=[FunctionCall(id="1", name="add", args={"a": 1})]))
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec
import trio

from livesvc.logs import get_logger
from livesvc.tools._spec import ToolArgumentError, ToolResult, ToolSpec
from livesvc.wire import (
    FunctionCall,
    FunctionResponse,
    InteractionStatus,
    ServerContent,
    ToolCall,
    ToolResponse,
)

__all__ = [
    "OnToolFinished",
    "ToolOutcome",
    "ToolRunner",
    "ends_interaction",
    "error_response",
    "informative_response",
]

log = get_logger(__name__)

Respond = Callable[[list[FunctionResponse]], Awaitable[None]]
Fallback = Callable[[ToolCall], Any]

ToolOutcome = Literal["ok", "error", "bad_arguments", "timeout", "cancelled", "repeat"]
"""How a tool call ended: answered, raised (or unusable result), ill-typed
arguments, over its timeout, cancelled by the server (no response sent), or
answered with an identical earlier call's result (``suppress_repeats``)."""


class OnToolFinished(Protocol):
    """Told once per settled call: its id, tool name, outcome and seconds since it arrived."""

    def __call__(
        self,
        *,
        call_id: str | None,
        name: str,
        outcome: ToolOutcome,
        duration_seconds: float,
    ) -> None: ...


def ends_interaction(content: ServerContent) -> bool:
    """Whether ``content`` ends the interaction (the rule of the SDK's ``receive()``).

    With an ``interactionStatus`` (3.8), only ``IDLE`` (or the deprecated
    ``REQUIRES_ACTION``) ends it: a ``turnComplete`` with ``IN_PROGRESS`` ends
    one utterance of a longer interaction. Without one, ``turnComplete`` does.

    >>> ends_interaction(ServerContent(turn_complete=True, interaction_status="IN_PROGRESS"))
    False
    >>> ends_interaction(ServerContent(turn_complete=True))
    True
    """
    if not content.turn_complete:
        return False
    status = content.interaction_status
    if status is None or status == InteractionStatus.UNSPECIFIED:
        return True
    return status in (InteractionStatus.IDLE, InteractionStatus.REQUIRES_ACTION)


def error_response(call: FunctionCall, kind: str, message: str) -> FunctionResponse:
    """The structured error the model receives for a failed call."""
    return FunctionResponse(
        id=call.id, name=call.name, response={"error": {"type": kind, "message": message}}
    )


def informative_response(
    call: FunctionCall, status: str, message: str, *, retryable: bool, **extra: Any
) -> FunctionResponse:
    """A payload that tells the model what happened and whether calling again can help.

    Gemini 3.8 calls a tool again (2-5 times in one turn) when its answer is
    empty or uninformative; the migration guide's fix is a ``status``, a
    ``retryable`` flag and a plain-language message (``live-3.8.md`` §4). Tools
    can return the same shape for their own outcomes.

    Example::

        informative_response(call, "no_results", "No flights that day.", retryable=False)
        # response={"status": "no_results", "retryable": False, "message": "No flights that day."}
    """
    payload: dict[str, Any] = {"status": status, "retryable": retryable, **extra}
    payload["message"] = message
    return FunctionResponse(id=call.id, name=call.name, response=payload)


@dataclass
class _Batch:
    """Blocking calls of one toolCall message, answered together."""

    pending: int
    order: dict[str | None, int] = field(default_factory=dict)
    responses: list[FunctionResponse] = field(default_factory=list)


@dataclass
class _First:
    """The first call of a ``suppress_repeats`` tool with given arguments, this interaction."""

    done: trio.Event = field(default_factory=trio.Event)
    response: FunctionResponse | None = None  # set when repeats may reuse it


@dataclass
class _Running:
    scope: trio.CancelScope
    name: str
    keys: tuple[str, ...]
    started: float
    cancelled: set[str] = field(default_factory=set)


class ToolRunner:
    """Executes tool calls; see the module docstring.

    Args:
        tools: registered tools by name.
        respond: sends a list of function responses (through the session's ledger).
        fallback: handles calls no registered tool matches; may return responses.
        default_timeout: seconds per call when the tool sets none.
        max_concurrency: calls running at once; others wait for a slot (inside their timeout).
        non_blocking: names of functions declared ``NON_BLOCKING``.
        scheduling_supported: ``False`` on Vertex AI, which rejects ``scheduling``.
        on_error: told about a fallback that raised (the session's ``on_error``).
        on_finished: told how each call ended (see :class:`OnToolFinished`).
        informative_errors: answer failures with ``status`` / ``retryable`` /
            ``message`` payloads instead of ``{"error": {...}}`` (Gemini 3.8).
    """

    def __init__(
        self,
        *,
        tools: Mapping[str, ToolSpec],
        respond: Respond,
        fallback: Fallback | None = None,
        default_timeout: float = 30.0,
        max_concurrency: int = 8,
        non_blocking: frozenset[str] | set[str] = frozenset(),
        scheduling_supported: bool = True,
        on_error: Callable[[Exception], None] | None = None,
        on_finished: OnToolFinished | None = None,
        informative_errors: bool = False,
    ) -> None:
        self._tools = dict(tools)
        self._informative = informative_errors
        self._firsts: dict[tuple[str, bytes], _First] = {}
        self._respond = respond
        self._fallback = fallback
        self._timeout = default_timeout
        self._limiter = trio.CapacityLimiter(max_concurrency)
        self._non_blocking = frozenset(non_blocking)
        self._scheduling = scheduling_supported
        self._on_error = on_error
        self._on_finished = on_finished
        self._running: dict[str, _Running] = {}
        self._ids = itertools.count(1)
        self._nursery: trio.Nursery | None = None
        self.completed = 0
        self.failed = 0
        self.cancelled = 0
        self.repeats = 0

    @property
    def running_ids(self) -> list[str]:
        """Ids of the calls running now (or waiting for a slot)."""
        return list(self._running)

    @property
    def busy(self) -> bool:
        """Whether any call is still running."""
        return bool(self._running)

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the nursery calls run in, until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                self._nursery = None

    def submit(self, tool_call: ToolCall) -> None:
        """Start every call of ``tool_call`` (registered tools, then the fallback)."""
        if self._nursery is None:
            raise RuntimeError("ToolRunner.serve() is not running")
        calls = list(tool_call.function_calls or ())
        blocking = [c for c in calls if c.name not in self._non_blocking]
        batch = _Batch(pending=len(blocking), order={c.id: i for i, c in enumerate(calls)})
        unmatched: list[FunctionCall] = []
        for call in calls:
            spec = self._tools.get(call.name or "")
            if spec is None:
                unmatched.append(call)
                continue
            self._nursery.start_soon(self._run_tool, call, spec, batch)
        if unmatched:
            if self._fallback is not None:
                self._nursery.start_soon(self._run_fallback, unmatched, batch)
            else:
                for call in unmatched:
                    log.warning("tools.unhandled_call", tool=call.name, call_id=call.id)
                    if call.name not in self._non_blocking:
                        batch.pending -= 1
                # Calls nobody handles are the caller's to answer (send_tool_response).

    def end_interaction(self) -> None:
        """The interaction is over (``turnComplete`` with ``IDLE``, or without a status).

        Calls of ``suppress_repeats`` tools are compared within one interaction
        only: the next identical call runs again. A call still running keeps
        answering the repeats that already wait for it.
        """
        self._firsts.clear()

    def cancel(self, ids: Sequence[str]) -> list[str]:
        """Cancel running calls by id; returns the ids that were running."""
        hit: list[str] = []
        for call_id in ids:
            entry = self._running.get(call_id)
            if entry is None:
                continue
            hit.append(call_id)
            entry.cancelled.add(call_id)
            if entry.cancelled >= set(entry.keys):
                entry.scope.cancel()
            log.info("tools.cancelled", tool=entry.name, call_id=call_id)
        return hit

    def _key(self, call: FunctionCall) -> str:
        # Vertex sends calls without ids; they still need a handle while running.
        return call.id or f"_anon-{next(self._ids)}"

    async def _run_tool(self, call: FunctionCall, spec: ToolSpec, batch: _Batch) -> None:
        key = self._key(call)
        entry = _Running(trio.CancelScope(), spec.name, (key,), trio.current_time())
        self._running[key] = entry
        timeout = spec.timeout or self._timeout
        response: FunctionResponse | None = None
        outcome: ToolOutcome = "cancelled"
        first: _First | None = None
        try:
            with entry.scope:
                with trio.move_on_after(timeout) as deadline:
                    response = await self._earlier_answer(call, spec)
                    if response is not None:
                        outcome = "repeat"
                    else:
                        first = self._claim_first(call, spec)
                        async with self._limiter:
                            response, outcome = await self._invoke(call, spec)
                if deadline.cancelled_caught:
                    log.warning("tools.timeout", tool=spec.name, call_id=call.id, timeout=timeout)
                    outcome = "timeout"
                    response = self._failure(
                        call,
                        "timeout",
                        f"tool {spec.name} timed out after {timeout}s",
                        retryable=True,
                    )
        finally:
            self._running.pop(key, None)
            if entry.scope.cancelled_caught or key in entry.cancelled:
                self.cancelled += 1
                response = None
                outcome = "cancelled"
            if first is not None:
                self._settle_first(call, spec, first, response, outcome)
        self._report(call, outcome, entry.started)
        await self._deliver(call, [response] if response is not None else [], batch)

    def _repeat_key(self, call: FunctionCall, spec: ToolSpec) -> tuple[str, bytes] | None:
        if not spec.suppress_repeats:
            return None
        try:
            return spec.name, msgspec.json.encode(call.args or {}, order="sorted")
        except (TypeError, msgspec.EncodeError):
            return None

    async def _earlier_answer(self, call: FunctionCall, spec: ToolSpec) -> FunctionResponse | None:
        """The answer of an identical earlier call this interaction, if a repeat may reuse it."""
        repeat = self._repeat_key(call, spec)
        first = self._firsts.get(repeat) if repeat is not None else None
        if first is None:
            return None
        await first.done.wait()
        if first.response is None:
            return None  # it timed out or was cancelled: this call runs itself
        self.repeats += 1
        log.info("tools.repeat_suppressed", tool=spec.name, call_id=call.id)
        return msgspec.structs.replace(first.response, id=call.id, name=call.name)

    def _claim_first(self, call: FunctionCall, spec: ToolSpec) -> _First | None:
        repeat = self._repeat_key(call, spec)
        if repeat is None:
            return None
        first = _First()
        self._firsts[repeat] = first
        return first

    def _settle_first(
        self,
        call: FunctionCall,
        spec: ToolSpec,
        first: _First,
        response: FunctionResponse | None,
        outcome: ToolOutcome,
    ) -> None:
        if outcome in ("ok", "error", "bad_arguments"):
            first.response = response
        else:
            repeat = self._repeat_key(call, spec)
            if repeat is not None and self._firsts.get(repeat) is first:
                del self._firsts[repeat]
        first.done.set()

    def _failure(
        self, call: FunctionCall, kind: str, message: str, *, retryable: bool, **extra: Any
    ) -> FunctionResponse:
        """An error response, informative (``status``, ``retryable``) on Gemini 3.8."""
        if not self._informative:
            return error_response(call, kind, message)
        if kind == "timeout":
            status = "timeout"
            message += "; calling it again may succeed"
        elif kind == "invalid_arguments":
            status = "invalid_argument"
        else:
            status = "error"
            extra = {"error_type": kind, **extra}
        return informative_response(call, status, message, retryable=retryable, **extra)

    def _report(self, call: FunctionCall, outcome: ToolOutcome, started: float) -> None:
        if self._on_finished is not None:
            self._on_finished(
                call_id=call.id,
                name=call.name or "",
                outcome=outcome,
                duration_seconds=trio.current_time() - started,
            )

    async def _invoke(
        self, call: FunctionCall, spec: ToolSpec
    ) -> tuple[FunctionResponse, ToolOutcome]:
        try:
            kwargs = spec.bind(call.args)
        except ToolArgumentError as exc:
            self.failed += 1
            log.warning("tools.bad_arguments", tool=spec.name, call_id=call.id, error=str(exc))
            response = self._failure(
                call,
                "invalid_arguments",
                str(exc),
                retryable=False,
                reason_code=exc.reason_code,
                valid_options=exc.valid_options,
            )
            return response, "bad_arguments"
        try:
            if spec.is_async:
                result = await spec.fn(**kwargs)
            else:
                # A thread cannot be interrupted: on timeout or cancel it is abandoned.
                result = await trio.to_thread.run_sync(
                    functools.partial(spec.fn, **kwargs), abandon_on_cancel=True
                )
        except Exception as exc:
            self.failed += 1
            log.warning("tools.failed", tool=spec.name, call_id=call.id, error=type(exc).__name__)
            return self._failure(call, type(exc).__name__, str(exc), retryable=False), "error"
        self.completed += 1
        return self._to_response(call, result, spec.scheduling)

    async def _run_fallback(self, calls: list[FunctionCall], batch: _Batch) -> None:
        keys = tuple(self._key(c) for c in calls)
        entry = _Running(trio.CancelScope(), "on_tool_call", keys, trio.current_time())
        for key in keys:
            self._running[key] = entry
        responses: list[FunctionResponse] = []
        failure: ToolOutcome | None = None
        assert self._fallback is not None
        try:
            with entry.scope:
                with trio.move_on_after(self._timeout) as deadline:
                    result = self._fallback(ToolCall(function_calls=calls))
                    if inspect.isawaitable(result):
                        result = await result
                    responses = self._fallback_responses(calls, result)
                if deadline.cancelled_caught:
                    log.warning("tools.timeout", tool="on_tool_call", timeout=self._timeout)
                    failure = "timeout"
                    responses = [
                        self._failure(
                            c,
                            "timeout",
                            f"tool {c.name} timed out after {self._timeout}s",
                            retryable=True,
                        )
                        for c in calls
                    ]
        except Exception as exc:
            self.failed += 1
            log.warning("tools.fallback_failed", error=type(exc).__name__)
            if self._on_error is not None:
                self._on_error(exc)
            failure = "error"
            responses = [
                self._failure(c, type(exc).__name__, str(exc), retryable=False) for c in calls
            ]
        finally:
            for key in keys:
                self._running.pop(key, None)
        cancelled_ids = {c.id for c, k in zip(calls, keys, strict=True) if k in entry.cancelled}
        if entry.scope.cancelled_caught:
            cancelled_ids = {c.id for c in calls}
        self.cancelled += len(cancelled_ids)
        answered = {r.id for r in responses}
        for call in calls:
            if call.id in cancelled_ids:
                self._report(call, "cancelled", entry.started)
            elif failure is not None:
                self._report(call, failure, entry.started)
            elif call.id in answered:
                self._report(call, "ok", entry.started)
            # else: the handler answers later (send_tool_response); how it ends is not ours.
        kept = [r for r in responses if r.id is None or r.id not in cancelled_ids]
        for call in calls:
            if call.name in self._non_blocking:
                continue
            mine = [r for r in kept if r.id == call.id]
            kept = [r for r in kept if r.id != call.id]
            await self._deliver(call, mine, batch)
        if kept:
            await self._send(kept)

    def _fallback_responses(self, calls: list[FunctionCall], result: Any) -> list[FunctionResponse]:
        if result is None:
            return []  # the handler answers later with send_tool_response
        if isinstance(result, FunctionResponse):
            result = [result]
        elif isinstance(result, ToolResponse):
            result = result.function_responses or []
        by_id = {c.id: c for c in calls}
        out: list[FunctionResponse] = []
        for item in result:
            if isinstance(item, FunctionResponse):
                response = item
            else:
                response = msgspec.convert(item, FunctionResponse, strict=False)
            call = by_id.get(response.id)
            if call is not None and response.name is None:
                response = msgspec.structs.replace(response, name=call.name)
            out.append(self.finish_response(response))
        return out

    def _to_response(
        self, call: FunctionCall, result: Any, default_scheduling: str | None
    ) -> tuple[FunctionResponse, ToolOutcome]:
        scheduling = default_scheduling
        if isinstance(result, ToolResult):
            scheduling = result.scheduling or scheduling
            result = result.response
        if isinstance(result, FunctionResponse):
            response = msgspec.structs.replace(
                result, id=result.id or call.id, name=result.name or call.name
            )
            return self.finish_response(response, scheduling), "ok"
        try:
            payload = msgspec.to_builtins(result)
        except (TypeError, msgspec.EncodeError) as exc:
            message = f"{type(result).__name__}: {exc}"
            return self._failure(call, "unserializable_result", message, retryable=False), "error"
        if not isinstance(payload, dict):
            payload = {"result": payload}
        response = FunctionResponse(id=call.id, name=call.name, response=payload)
        return self.finish_response(response, scheduling), "ok"

    def finish_response(
        self, response: FunctionResponse, scheduling: str | None = None
    ) -> FunctionResponse:
        """``response`` with a ``scheduling`` the backend accepts (or none).

        Scheduling applies to NON_BLOCKING functions only, and Vertex AI rejects
        it outright, so it is dropped elsewhere (logged at debug level).
        """
        scheduling = scheduling or response.scheduling
        if scheduling is not None and (
            not self._scheduling or response.name not in self._non_blocking
        ):
            log.debug("tools.scheduling_dropped", tool=response.name, scheduling=scheduling)
            scheduling = None
        if scheduling != response.scheduling:
            response = msgspec.structs.replace(response, scheduling=scheduling)
        return response

    async def _deliver(
        self, call: FunctionCall, responses: list[FunctionResponse], batch: _Batch
    ) -> None:
        if call.name in self._non_blocking:
            if responses:
                await self._send(responses)
            return
        batch.responses.extend(responses)
        batch.pending -= 1
        if batch.pending == 0 and batch.responses:
            ready, batch.responses = batch.responses, []
            ready.sort(key=lambda r: batch.order.get(r.id, len(batch.order)))
            await self._send(ready)

    async def _send(self, responses: list[FunctionResponse]) -> None:
        try:
            await self._respond(responses)
        except Exception as exc:  # the session ended; it reports undelivered messages itself
            log.warning(
                "tools.response_undelivered", error=type(exc).__name__, count=len(responses)
            )
