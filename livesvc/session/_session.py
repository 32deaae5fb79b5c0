"""The public session: ``open_session(...)`` in your own trio program.

A session is a small supervised actor tree plus the state that outlives it::

    session (this module: state, ledger, media buffer, tool runner, event dispatcher)
    └── supervisor "session" (rest_for_one, in dependency order)
        ├── connection      the WebSocket: dial, setup, reader, writer, replay
        ├── pinger          pings the connection; reports a dead link
        ├── reconnector     resume now, back off, hand over on goAway, or give up
        └── tool executor   starts and cancels tool calls (which run in the runner)

Order matters for ``rest_for_one``: the pinger pings the connection's socket
and the reconnector commands the connection, so both restart when it does; the
tool executor comes last because its restarts are free (the calls it started
keep running in the session's runner). The ledger, the handle and the status
belong to the session, so killing any actor costs at most a resume.

Example::

    import livesvc, trio

    async def main():
        async with livesvc.open_session(
            model="gemini-2.5-flash-native-audio-latest",
            output_audio_transcription=True,
            on_transcription=lambda t: print(t.text, end=""),
        ) as session:
            await session.send_text("Hello!")
            await session.wait_turn_complete()

    trio.run(main)
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import structlog
import trio

from livesvc.auth import Backend
from livesvc.logs import get_logger
from livesvc.models import TextInput
from livesvc.session._callbacks import Callbacks, EventDispatcher
from livesvc.session._config import SessionConfig
from livesvc.session._convert import as_client_message, as_function_response, as_turns
from livesvc.session._core import EventSink, SessionCore
from livesvc.session._envelopes import CloseLink, WriteEntry
from livesvc.session._errors import (
    LedgerFull,
    LiveSessionError,
    SessionClosed,
    SessionConfigError,
    SessionFailed,
)
from livesvc.session._events import (
    Closed,
    MessageReceived,
    SessionEvent,
    SessionStatus,
    ToolCallFinished,
    TurnState,
    Usage,
)
from livesvc.session._ledger import LedgerEntry
from livesvc.session._outbound import is_ledgered, realtime_envelope
from livesvc.session._prepare import PreparedSession, prepare
from livesvc.session._tree import ACTORS, session_supervisor
from livesvc.tools import ToolOutcome, ToolRunner
from livesvc.wire import (
    ActivityEnd,
    ActivityStart,
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    ContextUpdate,
    ContextUpdateTools,
    FunctionResponse,
    Part,
    RealtimeInput,
    ServerMessage,
    Tool,
    ToolResponse,
    encode_client,
)
from supervisors import (
    ChildNotFound,
    MailboxFull,
    SupervisorError,
)

__all__ = ["Session", "open_session"]

log = get_logger(__name__)


class Session:
    """A live, supervised Live API session. Create it with :func:`open_session`.

    Properties read the session's state at any time, without blocking:
    :attr:`status`, :attr:`session_handle`, :attr:`session_id`, :attr:`turn`,
    :attr:`usage`, :attr:`stats`.
    """

    def __init__(
        self,
        prepared: PreparedSession,
        callbacks: Callbacks | None = None,
        *,
        local_id: str | None = None,
        summary_log: bool = True,
        event_sink: EventSink | None = None,
    ) -> None:
        self._prepared = prepared
        self._event_sink = event_sink
        self._callbacks = callbacks or Callbacks()
        self._core = SessionCore(prepared)
        config = prepared.config
        self._dispatcher = EventDispatcher(
            self._core, self._callbacks, timeout=config.callback_timeout
        )
        self._runner = ToolRunner(
            tools=prepared.tools,
            respond=self._respond_to_tools,
            fallback=self._callbacks.on_tool_call,
            default_timeout=config.tool_timeout,
            max_concurrency=config.max_concurrent_tools,
            non_blocking=prepared.non_blocking,
            scheduling_supported=prepared.backend is Backend.GEMINI,
            on_error=self._core.report_error,
            on_finished=self._tool_finished,
            informative_errors=prepared.informative_tool_errors,
        )
        self._reconnect = self._core.reconnect
        self._supervisor = session_supervisor(self._core, self._runner)
        self._nursery: trio.Nursery | None = None
        self._tools_scope = trio.CancelScope()
        self._body_scope = trio.CancelScope()
        self._dispatcher_done = trio.Event()
        self._close_started = False
        self._close_done = trio.Event()
        self._tree_started = False
        self._waited_target = 0
        self._opened_at = 0.0
        self.local_id = local_id or uuid.uuid4().hex[:12]
        self._summary_log = summary_log
        self._undelivered = 0
        self._core.on_fail = self._on_fail

    # -- state ------------------------------------------------------------------

    @property
    def status(self) -> SessionStatus:
        """Where the session is in its life (see :class:`SessionStatus`)."""
        return self._core.status

    @property
    def session_handle(self) -> str | None:
        """The latest resumable handle (persist it to resume after a restart)."""
        return self._core.handle

    @property
    def session_id(self) -> str | None:
        """The server's session id from ``setupComplete`` (the emulator sets one)."""
        return self._core.session_id

    @property
    def model(self) -> str:
        """The model name as sent in the setup."""
        return self._prepared.setup.model or ""

    @property
    def turn(self) -> TurnState:
        """Generating, interrupted, turn complete, and pending tool calls."""
        return self._core.turn

    @property
    def usage(self) -> Usage | None:
        """The latest token usage, normalized across the Gemini API and Vertex."""
        return self._core.usage

    @property
    def error(self) -> SessionFailed | None:
        """Why the session failed, once it has."""
        return self._core.error

    @property
    def prepared(self) -> PreparedSession:
        """The validated configuration (setup message, capabilities, credential)."""
        return self._prepared

    @property
    def stats(self) -> dict[str, Any]:
        """Counters: connections, resumes, handovers, ledger, media drops, tools, callbacks."""
        core, runner = self._core, self._runner
        drops = core.media.stats
        return {
            "connections": core.connections,
            "resumes": core.resumes,
            "reconnects": self._reconnect.reconnects,
            "handovers": self._reconnect.handovers,
            "context_losses": core.context_losses,
            "ledger_pending": len(core.ledger),
            "ledger_bytes": core.ledger.bytes,
            "ledger_refused": core.ledger.refused,
            "ledger_last_seq": core.ledger.last_seq,
            "media_buffered": len(core.media),
            "media_dropped": drops.total,
            "media_dropped_seconds": round(drops.audio_seconds, 3),
            "tools_completed": runner.completed,
            "tools_failed": runner.failed,
            "tools_cancelled": runner.cancelled,
            "callback_failures": self._dispatcher.failures + core.delivery.sink_failures,
            "actor_restarts": {c.id: c.restarts for c in self._supervisor.which_children()},
        }

    def summary(self) -> dict[str, Any]:
        """The session's summary: what its ``session.closed`` log line carries.

        For an owner that writes its own summary line (``open_session(summary_log=False)``).
        """
        stats = self.stats
        return {
            "status": self._core.status.value,
            "duration": round(trio.current_time() - self._opened_at, 3),
            "undelivered": self._undelivered,
            **{k: v for k, v in stats.items() if k != "actor_restarts"},
            "restarts": stats["actor_restarts"],
        }

    def snapshot(self) -> Any:
        """The actor tree as a JSON-ready snapshot (``msgspec.json.encode`` it)."""
        return self._supervisor.snapshot()

    # -- life cycle ---------------------------------------------------------------

    async def _open(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._opened_at = trio.current_time()
        if self._event_sink is None:
            nursery.start_soon(self._run_dispatcher)
        else:
            self._core.delivery.use_sink(self._event_sink, self._spawn)
            self._dispatcher_done.set()
        await nursery.start(self._serve_tools)

    def _spawn(self, fn: Callable[[], Awaitable[None]]) -> bool:
        assert self._nursery is not None
        try:
            self._nursery.start_soon(fn)
        except RuntimeError:  # the nursery is closing: the session's close delivers
            return False
        return True

    async def _run_dispatcher(self) -> None:
        try:
            await self._dispatcher.run()
        finally:
            self._dispatcher_done.set()

    async def _serve_tools(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with self._tools_scope:
            await self._runner.serve(task_status=task_status)

    async def connect(self) -> None:
        """Connect (only needed with ``open_session(connect=False)``).

        Returns once the first ``setupComplete`` arrived. Transient failures are
        retried per the reconnect policy; a fatal one raises at once.

        Raises:
            SessionFailed: the session could not be set up (bad key, unknown
                model, retries exhausted).
            LiveSessionError: the session was already connected or closed.
        """
        core = self._core
        if self._nursery is None:
            raise LiveSessionError("the session is not open (use open_session)")
        if core.status is not SessionStatus.DISCONNECTED or self._tree_started:
            raise LiveSessionError(f"connect() on a session that is {core.status.value}")
        self._tree_started = True
        core.set_status(SessionStatus.CONNECTING)
        await self._nursery.start(self._supervise)
        await core.wait_for(lambda: core.status is not SessionStatus.CONNECTING)
        if core.status is SessionStatus.FAILED:
            assert core.error is not None
            raise core.error
        if core.status.terminal or core.status is SessionStatus.CLOSING:
            raise SessionClosed("the session was closed while connecting")

    async def _supervise(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        status = _OnceStatus(task_status)
        try:
            await self._supervisor.run(task_status=status)
        except SupervisorError as exc:
            failure = SessionFailed(f"the session's actors kept failing: {exc}")
            failure.__cause__ = exc
            self._core.fail(failure)
            if not status.done:
                status.started()  # connect() then sees the failure

    def inject_crash(self, actor: str) -> bool:
        """Fault injection: kill ``actor`` now; its supervisor restarts it as after a crash.

        ``actor`` is one of ``connection``, ``pinger``, ``reconnector``,
        ``tool_executor``. Meant for tests and chaos drills: the session must
        survive it at the cost of at most a resume. Returns ``False`` when the
        actor is not running (it is being restarted or the session is over).
        """
        if actor not in ACTORS:
            raise ValueError(f"unknown actor {actor!r}; one of {', '.join(ACTORS)}")
        try:
            return self._supervisor.kill_child(actor)
        except ChildNotFound:
            return False

    def _on_fail(self, error: SessionFailed) -> None:
        if self._core.connections > 0:
            # Mid-session failure: end the owner's block; open_session raises it.
            self._body_scope.cancel()

    async def close(self) -> None:
        """Close gracefully: flush pending messages, close the socket with 1000, stop the actors.

        Idempotent; waits for the first call to finish if called concurrently.
        Messages that could not be delivered fail their waiting senders with
        :class:`~livesvc.session.DeliveryFailed`.
        """
        if self._close_started:
            await self._close_done.wait()
            return
        self._close_started = True
        core = self._core
        policy = self._prepared.config.reconnect
        try:
            if not core.status.terminal:
                core.closing = True
                core.set_status(SessionStatus.CLOSING)
                with trio.move_on_after(policy.close_timeout):
                    await core.wait_for(
                        lambda: (
                            core.link_generation is None or all(e.is_written for e in core.ledger)
                        )
                    )
                generation = core.link_generation
                if generation is not None:
                    try:
                        core.control.send_nowait(
                            CloseLink(generation=generation, reason="closed by the owner")
                        )
                    except (MailboxFull, trio.ClosedResourceError):
                        pass
                    with trio.move_on_after(policy.close_timeout + 1.0):
                        await core.wait_for(lambda: core.link_generation is None)
            if self._tree_started:
                with trio.move_on_after(policy.close_timeout + 5.0):
                    await self._supervisor.stop()
            lost = core.ledger.fail_all("the session was closed")
            if not core.status.terminal:
                core.set_status(SessionStatus.CLOSED)
                core.emit_nowait(
                    Closed(
                        at=trio.current_time(),
                        status=SessionStatus.CLOSED,
                        reason="closed by the owner",
                    )
                )
            self._tools_scope.cancel()
            self._undelivered = len(lost)
            if self._summary_log:
                log.info("session.closed", **self.summary())
            core.delivery.close()
            with trio.move_on_after(policy.close_timeout):
                await core.delivery.wait_idle()
                await self._dispatcher_done.wait()
        finally:
            self._close_done.set()

    async def wait_closed(self) -> None:
        """Wait until the session is closed or failed."""
        await self._core.wait_for(lambda: self._core.status.terminal)

    # -- receiving ------------------------------------------------------------------

    def events(self) -> trio.MemoryReceiveChannel[SessionEvent]:
        """Every event from now on, as an async iterator (ends after :class:`Closed`).

        Iterate it (or close it): an iterator nobody reads eventually holds up
        the callbacks (never the socket).

        Raises:
            LiveSessionError: the session delivers to an ``event_sink`` instead.
        """
        self._check_no_sink()
        return self._dispatcher.subscribe()

    def _check_no_sink(self) -> None:
        if self._event_sink is not None:
            raise LiveSessionError("this session delivers its events to its event_sink")

    def messages(self) -> _Messages:
        """Every :class:`~livesvc.wire.ServerMessage` from now on, as an async iterator."""
        self._check_no_sink()
        return _Messages(self._dispatcher.subscribe())

    async def wait_turn_complete(self) -> TurnState:
        """Wait until the turn your last prompt started is over (or interrupted).

        A turn is an interaction: on Gemini 3.8 it ends with
        ``interactionStatus: IDLE``, not at the first ``turnComplete`` (a filler
        ends ``IN_PROGRESS``); on other models at ``turnComplete``. To wait for
        one utterance instead, use :meth:`wait_utterance_complete`.

        "Your last prompt" is the last text or ``turn_complete`` content written;
        if it was answered already, this returns at once. Without a new prompt
        since the last call (e.g. audio turns), it waits for the next reply.
        """
        core = self._core
        target = core.reply_target
        if target is None or target <= self._waited_target:
            target = core.turn.turns_completed + 1
        self._waited_target = target
        await core.wait_for(lambda: core.turn.turns_completed >= target or core.status.terminal)
        if core.status is SessionStatus.FAILED and core.error is not None:
            raise core.error
        return core.turn

    async def wait_utterance_complete(self) -> TurnState:
        """Wait for the end of the model's next utterance (its next ``turnComplete``).

        On Gemini 3.8 one turn (an interaction) may hold several utterances: a
        filler such as "let me check", then the answer; this returns after each,
        while :meth:`wait_turn_complete` waits for the interaction to end. On
        models that send no ``interactionStatus`` the two are the same.
        """
        core = self._core
        target = core.turn.utterances_completed + 1
        await core.wait_for(
            lambda: core.turn.utterances_completed >= target or core.status.terminal
        )
        if core.status is SessionStatus.FAILED and core.error is not None:
            raise core.error
        return core.turn

    async def wait_turns(self, count: int) -> TurnState:
        """Wait until ``count`` replies have completed over the session's life.

        Interrupted replies count too (the server ends them with ``turnComplete``).
        """
        core = self._core
        await core.wait_for(lambda: core.turn.turns_completed >= count or core.status.terminal)
        if core.status is SessionStatus.FAILED and core.error is not None:
            raise core.error
        return core.turn

    async def wait_connected(self) -> None:
        """Wait until the session is connected (returns at once if it is).

        Raises:
            SessionFailed: the session failed instead.
            SessionClosed: the session was closed.
        """
        core = self._core
        await core.wait_for(
            lambda: (
                (core.status is SessionStatus.CONNECTED and core.link_generation is not None)
                or core.status.terminal
            )
        )
        if core.status is SessionStatus.FAILED and core.error is not None:
            raise core.error
        if core.status is SessionStatus.CLOSED:
            raise SessionClosed("the session is closed")

    async def wait_settled(self) -> None:
        """Wait for a turn boundary the server has acknowledged.

        Nothing generating, no tool call pending, and every conversation message
        covered by the latest resumption handle: a handle persisted now resumes
        without replaying anything.
        """
        core = self._core
        await core.wait_for(
            lambda: (core.idle and core.link_generation is not None) or core.status.terminal
        )
        if core.status is SessionStatus.FAILED and core.error is not None:
            raise core.error

    # -- sending --------------------------------------------------------------------

    def _check_open(self) -> None:
        status = self._core.status
        if status is SessionStatus.FAILED:
            assert self._core.error is not None
            raise self._core.error
        if status in (SessionStatus.CLOSING, SessionStatus.CLOSED):
            raise SessionClosed("the session is closed")
        if status is SessionStatus.DISCONNECTED:
            raise LiveSessionError("the session is not connected; call connect() first")

    async def send(
        self,
        message: ClientMessage | ClientContent | RealtimeInput | ToolResponse | ContextUpdate,
        *,
        wait: bool = True,
    ) -> int | None:
        """Send any client message (the raw path a gateway uses).

        Conversation messages (``clientContent``, ``toolResponse``,
        ``realtimeInput.text``, ``contextUpdate``) go through the outbound
        ledger: they survive reconnects and reach the server exactly once per
        resumed state. Other realtime input is written at once when connected,
        buffered (bounded, drop-oldest) while reconnecting.

        Args:
            message: a ``ClientMessage`` or a bare client message struct.
            wait: for ledger messages, return only once written to a socket.

        Returns:
            The message's ledger sequence number, or ``None`` for realtime media.

        Raises:
            LedgerFull: the ledger is at its bound (``ledger_max_entries`` /
                ``ledger_max_bytes``); nothing was queued, the session goes on.
            DeliveryFailed: the session ended before the message could be written.
            SessionFailed / SessionClosed: the session is no longer usable.
        """
        msg = as_client_message(message)
        set_fields = [
            n
            for n in (
                "setup",
                "client_content",
                "realtime_input",
                "tool_response",
                "context_update",
            )
            if getattr(msg, n) is not None
        ]
        if msg.setup is not None:
            raise LiveSessionError(
                "the setup is sent by the session itself; configure it in open_session()"
            )
        if len(set_fields) != 1:
            raise LiveSessionError(
                f"a client message needs exactly one field set, got {set_fields or 'none'}"
            )
        self._check_open()
        core = self._core
        if is_ledgered(msg):
            entry = self._append(msg)
            await core.write(WriteEntry(seq=entry.seq))
            if wait:
                await entry.written()
            return entry.seq
        await core.write(realtime_envelope(msg))
        return None

    def _append(self, msg: ClientMessage) -> LedgerEntry[ClientMessage]:
        ledger = self._core.ledger
        # Sized as encoded on the wire; an encode only when a byte bound applies.
        size = len(encode_client(msg)) if ledger.max_bytes is not None else 0
        try:
            return ledger.append(msg, size=size)
        except LedgerFull as err:
            log.warning(
                "session.ledger_full",
                entries=err.entries,
                bytes=err.bytes,
                max_entries=err.max_entries,
                max_bytes=err.max_bytes,
                size=size,
                refused=ledger.refused,
            )
            raise

    async def send_text(
        self, text: str, *, turn_complete: bool = True, wait: bool = True
    ) -> int | None:
        """Send a user text turn the way the model takes it.

        Models that want mid-session text as realtime input (Gemini 3.1) get
        ``realtimeInput.text``; the others get ``clientContent`` with one user
        turn and ``turnComplete``.
        """
        if not isinstance(text, str) or not text:
            raise LiveSessionError("send_text needs a non-empty string")
        if self._prepared.text_input is TextInput.REALTIME_INPUT:
            return await self.send(RealtimeInput(text=text), wait=wait)
        turn = Content(role="user", parts=[Part(text=text)])
        return await self.send(ClientContent(turns=[turn], turn_complete=turn_complete), wait=wait)

    async def send_client_content(
        self,
        turns: str
        | Content
        | dict[str, Any]
        | Sequence[Content | dict[str, Any] | str]
        | None = None,
        *,
        turn_complete: bool = True,
        wait: bool = True,
    ) -> int | None:
        """Append turns to the conversation (``clientContent``), in order.

        ``turns`` may be a string (one user turn), a ``Content``, a dict, or a
        list of those. ``turn_complete=True`` asks the model to answer.
        """
        return await self.send(
            ClientContent(turns=as_turns(turns), turn_complete=turn_complete), wait=wait
        )

    async def send_context_update(
        self,
        *,
        system_instruction: str | Content | None = None,
        tools: Sequence[Tool | dict[str, Any]] | None = None,
        wait: bool = True,
    ) -> int | None:
        """Replace the system instruction and/or the tools mid-session (Gemini 3.8).

        Only what you pass is replaced; ``tools=[]`` clears every tool. The
        update is ordered with the rest of the conversation and, like
        ``clientContent``, kept in the ledger until the server has it, so a
        reconnect neither loses nor repeats it.

        Example::

            await session.send_context_update(system_instruction="Answer in French.")
        """
        if system_instruction is None and tools is None:
            raise LiveSessionError("send_context_update needs system_instruction or tools")
        instruction = (
            Content(parts=[Part(text=system_instruction)])
            if isinstance(system_instruction, str)
            else system_instruction
        )
        replaced = None
        if tools is not None:
            try:
                replaced = ContextUpdateTools(
                    tools=[
                        t if isinstance(t, Tool) else msgspec.convert(t, Tool, strict=False)
                        for t in tools
                    ]
                )
            except msgspec.ValidationError as exc:
                raise LiveSessionError(f"invalid tool: {exc}") from None
        return await self.send(
            ContextUpdate(system_instruction=instruction, tools=replaced), wait=wait
        )

    async def send_realtime_input(
        self,
        *,
        audio: bytes | Blob | None = None,
        video: bytes | Blob | None = None,
        text: str | None = None,
        activity_start: bool = False,
        activity_end: bool = False,
        audio_stream_end: bool = False,
        media_chunks: Sequence[Blob] | None = None,
        audio_mime_type: str = "audio/pcm;rate=16000",
        video_mime_type: str = "image/jpeg",
    ) -> None:
        """Stream realtime input; each given field goes out as its own message.

        Order when several are given: ``activity_start``, ``audio``, ``video``,
        ``media_chunks``, ``text``, ``activity_end``, ``audio_stream_end``.

        Raises:
            LiveSessionError: nothing to send, a wrong MIME type, or an activity
                signal that contradicts the activity-detection mode.
        """
        manual = self._prepared.manual_activity
        messages: list[RealtimeInput] = []
        if activity_start:
            if not manual:
                raise LiveSessionError("activity_start needs automatic activity detection disabled")
            messages.append(RealtimeInput(activity_start=ActivityStart()))
        if audio is not None:
            blob = (
                audio
                if isinstance(audio, Blob)
                else Blob(data=bytes(audio), mime_type=audio_mime_type)
            )
            if not (blob.mime_type or "").startswith("audio/"):
                raise LiveSessionError(f"audio needs an audio/ MIME type, got {blob.mime_type!r}")
            messages.append(RealtimeInput(audio=blob))
        if video is not None:
            blob = (
                video
                if isinstance(video, Blob)
                else Blob(data=bytes(video), mime_type=video_mime_type)
            )
            if not (blob.mime_type or "").startswith("image/"):
                raise LiveSessionError(f"video needs an image/ MIME type, got {blob.mime_type!r}")
            messages.append(RealtimeInput(video=blob))
        if media_chunks:
            messages.append(RealtimeInput(media_chunks=list(media_chunks)))
        if text is not None:
            messages.append(RealtimeInput(text=text))
        if activity_end:
            if not manual:
                raise LiveSessionError("activity_end needs automatic activity detection disabled")
            messages.append(RealtimeInput(activity_end=ActivityEnd()))
        if audio_stream_end:
            if manual:
                raise LiveSessionError(
                    "audio_stream_end applies only with automatic activity detection"
                )
            messages.append(RealtimeInput(audio_stream_end=True))
        if not messages:
            raise LiveSessionError("send_realtime_input needs at least one field")
        for message in messages:
            await self.send(message)

    async def send_tool_response(
        self,
        responses: Sequence[FunctionResponse | dict[str, Any]] | FunctionResponse,
        *,
        wait: bool = True,
    ) -> int | None:
        """Answer tool calls yourself (for calls no registered tool handles).

        Each response carries the call's ``id`` (required on the Gemini API),
        ``name`` and ``response``; ``scheduling`` (``SILENT`` / ``WHEN_IDLE`` /
        ``INTERRUPT``) applies to NON_BLOCKING functions and is dropped on
        Vertex AI, which rejects it.
        """
        items = [responses] if isinstance(responses, FunctionResponse) else list(responses)
        if not items:
            raise LiveSessionError("send_tool_response needs at least one response")
        converted = [as_function_response(item) for item in items]
        if self._prepared.backend is Backend.GEMINI:
            for response in converted:
                if not response.id:
                    raise LiveSessionError(
                        f"tool response for {response.name!r} has no id (the Gemini API needs it)"
                    )
        cleaned = [self._runner.finish_response(r) for r in converted]
        return await self.send(ToolResponse(function_responses=cleaned), wait=wait)

    def _tool_finished(
        self,
        *,
        call_id: str | None,
        name: str,
        outcome: ToolOutcome,
        duration_seconds: float,
    ) -> None:
        self._core.emit_nowait(
            ToolCallFinished(
                at=trio.current_time(),
                call_id=call_id,
                name=name,
                outcome=outcome,
                duration_seconds=duration_seconds,
            )
        )

    async def _respond_to_tools(self, responses: list[FunctionResponse]) -> None:
        if self._core.status.terminal:
            return
        await self.send(ToolResponse(function_responses=responses), wait=False)


class _OnceStatus:
    """Forwards ``started()`` once and remembers whether it happened."""

    def __init__(self, inner: trio.TaskStatus[None]) -> None:
        self._inner = inner
        self.done = False

    def started(self, value: None = None) -> None:
        self.done = True
        self._inner.started(value)


class _Messages:
    """Async iterator of server messages (from the session's events)."""

    def __init__(self, events: trio.MemoryReceiveChannel[SessionEvent]) -> None:
        self._events = events

    def __aiter__(self) -> _Messages:
        return self

    async def __anext__(self) -> ServerMessage:
        async for event in self._events:
            if isinstance(event, MessageReceived):
                return event.message
        raise StopAsyncIteration

    async def aclose(self) -> None:
        await self._events.aclose()


def _only_leaf(group: BaseExceptionGroup[Any]) -> BaseException | None:
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for sub in exc.exceptions:
                walk(sub)
        elif not isinstance(exc, trio.Cancelled):
            leaves.append(exc)

    walk(group)
    return leaves[0] if len(leaves) == 1 else None


@asynccontextmanager
async def open_session(
    model: str | None = None,
    *,
    connect: bool = True,
    config: SessionConfig | None = None,
    session_id: str | None = None,
    summary_log: bool = True,
    event_sink: EventSink | None = None,
    **options: Any,
) -> AsyncIterator[Session]:
    """Open a supervised Live session for the duration of an ``async with`` block.

    Every option of :class:`~livesvc.session.SessionConfig` is accepted as a
    keyword (``api_key=``, ``response_modalities=``, ``tools=``, ...), and so is
    every callback of :class:`~livesvc.session.Callbacks` (``on_message=``, ...).
    The configuration is validated before any socket opens.

    ``session_id`` names the session in the logs (bound as ``session_id`` on
    every line the session writes, and :attr:`Session.local_id`; a random id
    otherwise): an owner that has its own id for the session, such as a
    gateway, passes it so one id finds every line. :attr:`Session.session_id`
    stays the server's id. ``summary_log=False`` leaves out the closing ``session.closed``
    summary line, for an owner that writes the one summary line itself
    (:meth:`Session.summary` gives the counters).

    ``event_sink`` (an async function taking a :class:`SessionEvent`) replaces
    callbacks and :meth:`Session.events`: each event is awaited in the task that
    produced it (server messages in the connection's reader), in order, with no
    queue or dispatcher task between. A relay uses it to save a task and two
    hand-offs per frame; a slow sink holds up the socket, which a relay wants
    (backpressure), and a sink that raises is logged and counted. A delivery
    cut off by cancellation is retried with the same event.

    The block starts once the session is connected (unless ``connect=False``).
    If the session fails for good mid-block (fatal close, retries exhausted), the
    block is cancelled, and leaving it raises :class:`~livesvc.session.SessionFailed`
    (unless the block raised its own exception). Leaving the block closes the
    session gracefully.

    Raises:
        SessionConfigError: an invalid option, before any network traffic.
        SessionFailed: the session could not connect, or failed for good.

    Example::

        async with open_session(model="gemini-3.1-flash-live-preview", api_key=key,
                                output_audio_transcription=True) as session:
            await session.send_text("What is the capital of France?")
            async for message in session.messages():
                ...
    """
    callbacks = Callbacks(
        **{name: options.pop(name) for name in list(options) if name in Callbacks.names()}
    )
    if config is None:
        if model is None:
            raise SessionConfigError("model: a model name is required", field="model")
        config = SessionConfig(model=model, **options)
    elif model is not None or options:
        raise SessionConfigError("pass either config= or options, not both", field="config")
    if event_sink is not None and callbacks != Callbacks():
        raise SessionConfigError(
            "event_sink replaces callbacks: pass one or the other", field="event_sink"
        )
    session = Session(
        prepare(config),
        callbacks,
        local_id=session_id,
        summary_log=summary_log,
        event_sink=event_sink,
    )
    body_failed = False
    with structlog.contextvars.bound_contextvars(session_id=session.local_id):
        log.info("session.opening", model=session.model, backend=session.prepared.backend.value)
        try:
            async with trio.open_nursery() as nursery:
                await session._open(nursery)
                try:
                    if connect:
                        await session.connect()
                    with session._body_scope:
                        try:
                            yield session
                        except BaseException as exc:
                            # Our own cancellation (a failed session) is not the block's error.
                            body_failed = not isinstance(exc, trio.Cancelled)
                            raise
                finally:
                    with trio.CancelScope(shield=True):
                        await session.close()
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # Background tasks report through the session and never raise, so a
            # group here carries one exception: the block's own, or connect()'s.
            lone = _only_leaf(group)
            if lone is None:
                raise
            raise lone from None
    if not body_failed and session.error is not None:
        raise session.error
