"""Deliver session events to the owner's callbacks and iterators, off the socket's path.

The connection's reader only queues events; this dispatcher runs them in its
own task, in order. A slow callback delays later callbacks but never the
socket (the queue absorbs it); a raising callback is logged, reported through
``on_error``, and the session goes on. Callbacks may be plain functions or
coroutine functions; a plain function runs on the trio thread, so it must not
block (use a ``@tool`` or ``trio.to_thread`` for blocking work).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import trio

from livesvc.logs import get_logger
from livesvc.session._core import SessionCore
from livesvc.session._errors import ContextLostError, LiveSessionError
from livesvc.session._events import (
    Closed,
    Connected,
    ContextLost,
    Disconnected,
    ErrorOccurred,
    GoAwayReceived,
    InteractionStatusChanged,
    MessageReceived,
    SessionEvent,
    SessionResumptionUpdated,
    ToolCallCancelled,
    ToolCallFinished,
    TranscriptionReceived,
    VoiceActivityDetected,
)

__all__ = ["CallbackError", "Callbacks", "EventDispatcher"]

log = get_logger(__name__)

Callback = Callable[[Any], Any]


class CallbackError(LiveSessionError):
    """A callback raised (or overran ``callback_timeout``); ``callback`` names it."""

    def __init__(self, callback: str, error: BaseException | None) -> None:
        what = f"{type(error).__name__}: {error}" if error is not None else "timed out"
        super().__init__(f"callback {callback} failed: {what}")
        self.callback = callback
        self.error = error


@dataclass(frozen=True, kw_only=True)
class Callbacks:
    """The seeds' callbacks, each optional, each sync or async.

    ``on_tool_call`` is special: it runs like a tool (see ``livesvc.tools``), for
    calls no registered tool handles, and the responses it returns are sent.
    """

    on_message: Callback | None = None
    on_connect: Callback | None = None
    on_context_lost: Callback | None = None
    on_disconnect: Callback | None = None
    on_error: Callback | None = None
    on_close: Callback | None = None
    on_tool_call: Callback | None = None
    on_tool_call_cancellation: Callback | None = None
    on_tool_call_finished: Callback | None = None
    on_transcription: Callback | None = None
    on_voice_activity: Callback | None = None
    on_session_resumption: Callback | None = None
    on_go_away: Callback | None = None
    on_interaction_status: Callback | None = None

    @classmethod
    def names(cls) -> frozenset[str]:
        """Every callback option name."""
        return frozenset(f.name for f in fields(cls))


class EventDispatcher:
    """Runs callbacks and feeds ``events()`` iterators from the session's event queue."""

    def __init__(
        self, core: SessionCore, callbacks: Callbacks, *, timeout: float | None = None
    ) -> None:
        self._core = core
        self._callbacks = callbacks
        self._timeout = timeout
        self._subscribers: list[trio.MemorySendChannel[SessionEvent]] = []
        self._finished = False
        self.failures = 0

    def subscribe(self) -> trio.MemoryReceiveChannel[SessionEvent]:
        """A new iterator of every event from now on."""
        send, receive = trio.open_memory_channel[SessionEvent](
            self._core.prepared.config.event_buffer
        )
        if self._finished:
            send.close()  # the session is over: the iterator ends at once
        else:
            self._subscribers.append(send)
        return receive

    async def run(self) -> None:
        """Dispatch until the event queue is closed, then end every iterator."""
        try:
            async with self._core.delivery.queue:
                async for event in self._core.delivery.queue:
                    await self._dispatch(event)
                    await self._publish(event)
        finally:
            self._finished = True
            for subscriber in self._subscribers:
                subscriber.close()

    async def _publish(self, event: SessionEvent) -> None:
        for subscriber in list(self._subscribers):
            try:
                await subscriber.send(event)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers.remove(subscriber)

    async def _dispatch(self, event: SessionEvent) -> None:
        cb = self._callbacks
        match event:
            case MessageReceived(message=message):
                await self._call("on_message", cb.on_message, message)
            case Connected():
                await self._call("on_connect", cb.on_connect, event)
            case Disconnected():
                await self._call("on_disconnect", cb.on_disconnect, event)
            case ErrorOccurred(error=error):
                await self._call("on_error", cb.on_error, error)
            case ContextLost(reason=reason, dropped=dropped, outcome=outcome):
                await self._call("on_context_lost", cb.on_context_lost, event)
                if outcome == "continued":
                    # The conversation starts over with nothing said about it: an error.
                    error = ContextLostError(
                        f"a new server session replaced the old one ({reason}); "
                        f"{dropped} earlier messages are not replayed"
                    )
                    await self._call("on_error", cb.on_error, error)
            case Closed():
                await self._call("on_close", cb.on_close, event)
            case ToolCallCancelled(ids=ids):
                await self._call("on_tool_call_cancellation", cb.on_tool_call_cancellation, ids)
            case ToolCallFinished():
                await self._call("on_tool_call_finished", cb.on_tool_call_finished, event)
            case TranscriptionReceived():
                await self._call("on_transcription", cb.on_transcription, event)
            case VoiceActivityDetected():
                await self._call("on_voice_activity", cb.on_voice_activity, event)
            case SessionResumptionUpdated():
                await self._call("on_session_resumption", cb.on_session_resumption, event)
            case GoAwayReceived():
                await self._call("on_go_away", cb.on_go_away, event)
            case InteractionStatusChanged():
                await self._call("on_interaction_status", cb.on_interaction_status, event)

    async def _call(self, name: str, fn: Callback | None, arg: Any) -> None:
        if fn is None:
            return
        failure: BaseException | None = None
        timed_out = False
        try:
            if self._timeout is None:
                await _invoke(fn, arg)
            else:
                with trio.move_on_after(self._timeout) as scope:
                    await _invoke(fn, arg)
                timed_out = scope.cancelled_caught
        except Exception as exc:  # the owner's bug must not end the session
            failure = exc
        if failure is None and not timed_out:
            return
        self.failures += 1
        log.warning(
            "session.callback_failed",
            callback=name,
            error=type(failure).__name__ if failure else "timeout",
        )
        if name != "on_error" and self._callbacks.on_error is not None:
            await self._call("on_error", self._callbacks.on_error, CallbackError(name, failure))


async def _invoke(fn: Callback, arg: Any) -> None:
    result = fn(arg)
    if inspect.isawaitable(result):
        await result
