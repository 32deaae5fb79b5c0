"""One Live WebSocket connection: setup checks, the deterministic model, timers, faults.

Tasks of a connection (one nursery; the connection ends when any of them ends it):

* the reader (the calling task): decodes client frames and drives the session;
* the writer: the only task that writes frames, so cancelling a reply can never cut
  a frame in half;
* the reply: streams one model turn at a time, cancellable (barge-in);
* timers: connection lifetime (``goAway``, then close), end of speech when the
  audio stops, start-up faults.

Every input (client frames, timer-driven end of speech, a reply's completion) is
handled under one lock, so the session changes one step at a time.
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections import deque
from typing import TYPE_CHECKING, Any

import msgspec
import structlog
import trio
import trio_websocket

from livesvc._server import WebSocketUpgrade
from livesvc.emulator._auth import (
    BAD_KEY_REASON,
    MISSING_KEY_REASON,
    TOKEN,
    extract_credential,
)
from livesvc.emulator._catalogue import GEMINI, TEXT_INPUT_REALTIME, VERTEX, ModelSpec
from livesvc.emulator._endpoints import LiveEndpoint
from livesvc.emulator._faults import FaultRule, default_reason
from livesvc.emulator._model import (
    OUTPUT_AUDIO_MIME,
    audio_tokens,
    audio_turn_text,
    content_text,
    declared_functions,
    echo,
    parse_tool_invocation,
    speech_pcm,
    split_text,
    text_tokens,
    tool_result_text,
)
from livesvc.emulator._registry import EmulatedSession, SessionState
from livesvc.emulator._rules38 import check_setup
from livesvc.emulator._tokens import TokenRejected, apply_constraints
from livesvc.emulator._vad import EnergyVad, SpeechEnded, SpeechStarted, VadSettings, pcm_rate
from livesvc.logs import get_logger
from livesvc.wire import (
    ActivityHandling,
    Behavior,
    Blob,
    ClientContent,
    ClientMessage,
    Content,
    FunctionCall,
    FunctionDeclaration,
    FunctionResponse,
    FunctionResponseScheduling,
    GoAway,
    InteractionStatus,
    ModalityTokenCount,
    Part,
    RealtimeInput,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    Setup,
    SetupComplete,
    ToolCall,
    ToolCallCancellation,
    ToolResponse,
    Transcription,
    UsageMetadata,
    WireDecodeError,
    decode_client,
    encode_server,
    format_duration,
)

if TYPE_CHECKING:
    from livesvc.emulator._core import EmulatorCore

__all__ = ["LiveConnection", "close_reason"]

log = get_logger(__name__)

INVALID_ARGUMENT = "Request contains an invalid argument."
INTERNAL = "Internal error encountered."
DEADLINE = "Deadline expired before operation could complete."
_MAX_FRAME = 1 << 20
_OUTBOX = 64
_CLOSE_REASON_BYTES = 123
_call_ids = itertools.count(1)


def close_reason(text: str) -> str:
    """``text`` cut to the 123 UTF-8 bytes a close frame can carry.

    >>> len(close_reason("x" * 200).encode())
    123
    """
    data = text.encode()
    if len(data) <= _CLOSE_REASON_BYTES:
        return text
    return data[:_CLOSE_REASON_BYTES].decode("utf-8", "ignore")


class _Refused(Exception):
    """The connection is refused: close it with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _UserTurn(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    text: str
    prompt_tokens: int
    prompt_modality: str


class _ToolResult(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    name: str
    response: Any


_Work = _UserTurn | _ToolResult


class _PendingCall:
    def __init__(self, call_id: str, name: str, turn_number: int) -> None:
        self.id = call_id
        self.name = name
        self.turn_number = turn_number
        self.answered = trio.Event()
        self.response: Any = None


class _Reply:
    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.done = trio.Event()


class LiveConnection:
    """Serves one WebSocket connection as one (new or resumed) emulated session."""

    def __init__(
        self, core: EmulatorCore, upgrade: WebSocketUpgrade, endpoint: LiveEndpoint
    ) -> None:
        self._core = core
        self._config = core.config
        self._upgrade = upgrade
        self._endpoint = endpoint
        self._ws: trio_websocket.WebSocketConnection | None = None
        self._scope = trio.CancelScope()
        self._nursery: trio.Nursery | None = None
        # ServerMessages to write; an Event is set once everything before it is written.
        self._outbox_in, self._outbox_out = trio.open_memory_channel[ServerMessage | trio.Event](
            _OUTBOX
        )
        self._lock = trio.Lock()
        self.session_id = ""
        self._session: EmulatedSession | None = None
        self._model: ModelSpec | None = None
        self._setup = Setup()
        self._modality = "AUDIO"
        self._functions: dict[str, FunctionDeclaration] = {}
        self._client_index = 0
        self._next_handle: str | None = None  # issued and committed before turnComplete
        self._history_open = False
        self._unanswered_text: str | None = None
        self._reply: _Reply | None = None
        self._queue: deque[_Work] = deque()
        self._blocking_calls: dict[str, _PendingCall] = {}
        self._async_calls: dict[str, _PendingCall] = {}
        self._vad: EnergyVad | None = None
        self._manual_activity_ms: float | None = None
        # 3.8: INTERRUPT-scheduled tool results that wait for the user to stop speaking.
        self._held_results: list[_ToolResult] = []
        self._last_audio_at = 0.0
        self._speech_watch: trio.CancelScope | None = None
        self._turns_completed = 0
        self._close_at = math.inf
        self._go_away_sent = False
        self._go_away_scope: trio.CancelScope | None = None
        self._close_scope: trio.CancelScope | None = None
        self._closing = False
        self._close_code: int | None = None

    # -- fault controls (ConnectionControl) ----------------------------------

    async def fault_drop(self) -> None:
        self._closing = True
        self._close_code = 1006
        await self._upgrade.stream.abort()
        self._scope.cancel()

    async def fault_close(self, code: int, reason: str) -> None:
        await self._close(code, reason)

    async def fault_go_away(self, time_left: float | None) -> None:
        if time_left is None:  # the usual notice, but never past the planned close
            remaining = max(0.0, self._close_at - trio.current_time())
            time_left = min(self._config.go_away_notice, remaining)
        await self._go_away(time_left)

    def fault_delay(self, seconds: float) -> None:
        self._upgrade.stream.set_delay(seconds)

    def fault_stall(self, seconds: float | None) -> None:
        self._upgrade.stream.hold()
        if seconds is not None and self._nursery is not None:
            self._nursery.start_soon(self._release_after, seconds)

    @property
    def stalled(self) -> bool:
        """Whether a stall fault holds this connection."""
        return self._upgrade.stream.held

    async def _release_after(self, seconds: float) -> None:
        await trio.sleep(seconds)
        self._upgrade.stream.release()

    # -- the connection --------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it closes, either side, for any reason."""
        try:
            self._ws = await self._upgrade.accept()
            with self._scope:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._write_frames)
                    await self._serve()
                    nursery.cancel_scope.cancel()
        except* (
            trio_websocket.ConnectionClosed,
            trio.BrokenResourceError,
            trio.ClosedResourceError,
        ):
            pass  # the client went away; nothing left to tell it
        finally:
            if self._session is not None and self._ws is not None:
                self._core.registry.detach(self._session, self)
                closed = self._ws.closed
                log.info(
                    "emulator.connection_closed",
                    session_id=self.session_id,
                    code=self._close_code or (int(closed.code) if closed else None),
                    turns=self._session.turns,
                )

    async def _serve(self) -> None:
        assert self._ws is not None
        try:
            first: bytes | str | None = None
            with trio.move_on_after(self._config.setup_timeout):
                first = await self._ws.get_message()
            if first is None:
                raise _Refused(1011, DEADLINE)
            await self._open_session(first)
        except _Refused as refused:
            log.info("emulator.session_refused", code=refused.code, reason=refused.reason)
            await self._close(refused.code, refused.reason)
            return
        assert self._session is not None
        with structlog.contextvars.bound_contextvars(session_id=self.session_id):
            self._start_timers()
            while True:
                data = await self._ws.get_message()
                self._client_index += 1
                async with self._lock:
                    try:
                        message = decode_client(data)
                    except WireDecodeError as exc:
                        log.info("emulator.malformed_frame", path=exc.path)
                        await self._close(1007, f"Invalid JSON payload received. {exc}")
                        return
                    if not await self._handle(message):
                        return

    # -- setup -----------------------------------------------------------------

    async def _open_session(self, first: bytes | str) -> None:
        """Authenticate, validate the setup, create or resume the session."""
        refusal = self._core.faults.take_refusal(session_id=None, handshake=False)
        if refusal is not None:
            raise _Refused(refusal.code, refusal.reason)
        credential = extract_credential(self._upgrade.headers, self._upgrade.query)
        if credential is None:
            raise _Refused(1008, MISSING_KEY_REASON)
        if credential.kind != TOKEN and not self._core.api_keys.accepts(credential.value):
            raise _Refused(1008, BAD_KEY_REASON)
        try:
            message = decode_client(first)
        except WireDecodeError as exc:
            raise _Refused(1007, f"Invalid JSON payload received. {exc}") from None
        if message.setup is None or _count_fields(message) != 1:
            raise _Refused(1007, INVALID_ARGUMENT)
        setup = message.setup
        handle = setup.session_resumption.handle if setup.session_resumption else None
        if credential.kind == TOKEN:
            try:
                token = self._core.tokens.admit(credential.value, resuming=bool(handle))
            except TokenRejected as rejected:
                raise _Refused(1008, rejected.reason) from None
            setup = apply_constraints(token, setup)
        model = self._resolve_model(setup)
        self._modality = self._check_modality(setup, model)
        if model.rules38 is not None:
            refused = check_setup(setup, model.rules38, self._endpoint.backend)
            if refused is not None:
                raise _Refused(*refused)
        session = await self._resume(handle, model) if handle else None
        if session is None:
            session = self._core.registry.create(model, self._endpoint.backend)
        self._setup = setup
        self._model = model
        self._functions = declared_functions(setup.tools)
        self._history_open = bool(
            setup.history_config and setup.history_config.initial_history_in_client_content
        )
        self._init_audio(setup)
        self._session = session
        self.session_id = session.id
        self._core.registry.attach(session, self)
        self.fault_delay(self._core.faults.delay_for(session.id))
        log.info(
            "emulator.session_started",
            session_id=session.id,
            model=model.name,
            backend=self._endpoint.backend,
            resumed=bool(handle),
            turns=session.turns,
            connection=session.connections,
        )
        await self._send(ServerMessage(setup_complete=SetupComplete(session_id=session.id)))
        await self._resumption_update()

    def _resolve_model(self, setup: Setup) -> ModelSpec:
        if not setup.model:
            raise _Refused(1007, INVALID_ARGUMENT)
        model = self._core.catalogue.find(setup.model, self._endpoint.backend)
        if model is not None:
            return model
        if self._endpoint.backend == VERTEX:
            reason = (
                f"Publisher Model `{setup.model}` was not found or your project"
                " does not have access to it."
            )
        else:
            name = setup.model if setup.model.startswith("models/") else f"models/{setup.model}"
            reason = (
                f"{name} is not found for API version {self._endpoint.version},"
                " or is not supported for bidiGenerateContent."
            )
        raise _Refused(1008, reason)

    def _check_modality(self, setup: Setup, model: ModelSpec) -> str:
        config = setup.generation_config
        requested = [m.upper() for m in (config.response_modalities if config else None) or []]
        if not requested:
            requested = ["AUDIO"] if "AUDIO" in model.response_modalities else ["TEXT"]
        if len(requested) != 1:
            raise _Refused(1007, INVALID_ARGUMENT)
        if requested[0] not in model.response_modalities:
            raise _Refused(
                1011,
                f"The requested combination of response modalities ({requested[0]})"
                " is not supported.",
            )
        return requested[0]

    async def _resume(self, handle: str, model: ModelSpec) -> EmulatedSession:
        found = self._core.registry.resolve(handle)
        if found is None:
            raise _Refused(1007, "Session resumption handle is invalid or has expired.")
        record, session = found
        if record.model != model.name or session.backend != self._endpoint.backend:
            raise _Refused(1007, "Session resumption handle does not match the setup.")
        refusal = self._core.faults.take_refusal(session_id=session.id, handshake=False)
        if refusal is not None:
            raise _Refused(refusal.code, refusal.reason)
        previous = session.connection
        if previous is not None:
            # Google refuses a resume while the old socket is open; allow it a moment
            # to go (a client closes it just before dialling again).
            with trio.move_on_after(self._config.resume_grace):
                await session.detached.wait()
            previous = session.connection
            if isinstance(previous, LiveConnection) and previous.stalled:
                await previous.fault_drop()  # a stalled peer is as good as dead
                with trio.move_on_after(self._config.resume_grace):
                    await session.detached.wait()
            if session.connection is not None:
                raise _Refused(1011, INTERNAL)
        session.turns = record.turns
        return session

    def _init_audio(self, setup: Setup) -> None:
        config = setup.realtime_input_config
        detection = config.automatic_activity_detection if config else None
        if detection is not None and detection.disabled:
            self._vad = None
        else:
            self._vad = EnergyVad(VadSettings.from_setup(detection, self._endpoint.backend))

    # -- client messages -------------------------------------------------------

    async def _handle(self, message: ClientMessage) -> bool:
        """Apply one client frame; False when the connection was closed for it."""
        if message.setup is not None or _count_fields(message) == 0:
            await self._close(1007, INVALID_ARGUMENT)
            return False
        if message.client_content is not None and not await self._client_content(
            message.client_content
        ):
            return False
        if message.realtime_input is not None and not await self._realtime_input(
            message.realtime_input
        ):
            return False
        if message.tool_response is not None:
            await self._tool_response(message.tool_response)
        if message.context_update is not None:
            update = message.context_update
            if update.tools is not None:
                self._functions = declared_functions(update.tools.tools)
        return True

    async def _client_content(self, content: ClientContent) -> bool:
        assert self._session is not None
        assert self._model is not None
        if self._model.text_input == TEXT_INPUT_REALTIME and not self._history_open:
            await self._close(1007, INVALID_ARGUMENT)
            return False
        for turn in content.turns or []:
            if (turn.role or "user") == "user":
                self._session.turns += 1
                self._unanswered_text = content_text(turn)
        if content.turn_complete and self._history_open:
            # The initial history (historyConfig) ends here; it asks for no reply.
            self._history_open = False
            self._unanswered_text = None
            return True
        if content.turn_complete:
            text = self._unanswered_text or ""
            self._unanswered_text = None
            await self._user_turn(
                _UserTurn(
                    number=self._session.turns,
                    text=text,
                    prompt_tokens=text_tokens(text),
                    prompt_modality="TEXT",
                )
            )
        return True

    async def _realtime_input(self, realtime: RealtimeInput) -> bool:
        assert self._session is not None
        manual = self._vad is None
        if (
            realtime.activity_start is not None or realtime.activity_end is not None
        ) and not manual:
            await self._close(
                1007, "activityStart/activityEnd need automatic activity detection disabled."
            )
            return False
        blobs: list[Blob] = []
        if realtime.audio is not None:
            blobs.append(realtime.audio)
        blobs.extend(
            b for b in realtime.media_chunks or [] if (b.mime_type or "").startswith("audio/")
        )
        if realtime.activity_start is not None:
            await self._user_activity()
            self._manual_activity_ms = 0.0
        for blob in blobs:
            await self._audio(blob)
        if realtime.text is not None:
            self._session.turns += 1
            await self._user_turn(
                _UserTurn(
                    number=self._session.turns,
                    text=realtime.text,
                    prompt_tokens=text_tokens(realtime.text),
                    prompt_modality="TEXT",
                )
            )
        if realtime.activity_end is not None and self._manual_activity_ms is not None:
            duration = round(self._manual_activity_ms)
            self._manual_activity_ms = None
            await self._audio_turn(duration)
        if realtime.audio_stream_end and self._vad is not None:
            ended = self._vad.end_of_stream()
            if ended is not None:
                await self._audio_turn(ended.duration_ms)
        return True

    async def _audio(self, blob: Blob) -> None:
        data = blob.data or b""
        rate = pcm_rate(blob.mime_type)
        if self._vad is None:
            if self._manual_activity_ms is not None:
                self._manual_activity_ms += len(data) / 2 / rate * 1000
            return
        self._last_audio_at = trio.current_time()
        for event in self._vad.feed(data, rate):
            if isinstance(event, SpeechStarted):
                await self._user_activity()
            elif isinstance(event, SpeechEnded):
                await self._audio_turn(event.duration_ms)
        self._watch_speech()

    def _watch_speech(self) -> None:
        """Keep a timer that ends speech when audio stops arriving mid-utterance."""
        assert self._vad is not None
        assert self._nursery is not None
        deadline = self._last_audio_at + self._vad.settings.silence_ms / 1000
        if self._vad.in_speech:
            if self._speech_watch is None:
                self._speech_watch = trio.CancelScope(deadline=deadline)
                self._nursery.start_soon(self._speech_timeout, self._speech_watch)
            else:
                self._speech_watch.deadline = deadline
        elif self._speech_watch is not None:
            self._speech_watch.cancel()
            self._speech_watch = None

    async def _speech_timeout(self, scope: trio.CancelScope) -> None:
        while True:
            with scope:
                await trio.sleep_forever()
            async with self._lock:
                if self._speech_watch is not scope or self._vad is None:
                    return  # speech ended in the audio itself
                due = self._last_audio_at + self._vad.settings.silence_ms / 1000
                if trio.current_time() < due:  # audio arrived while we waited for the lock
                    scope = self._speech_watch = trio.CancelScope(deadline=due)
                    continue
                self._speech_watch = None
                ended = self._vad.end_of_stream()
                if ended is not None:
                    await self._audio_turn(ended.duration_ms)
                return

    async def _audio_turn(self, duration_ms: int) -> None:
        assert self._session is not None
        self._session.turns += 1
        text = audio_turn_text(duration_ms)
        if self._setup.input_audio_transcription is not None:
            await self._send(
                ServerMessage(
                    server_content=ServerContent(input_transcription=Transcription(text=text))
                )
            )
        await self._user_turn(
            _UserTurn(
                number=self._session.turns,
                text=text,
                prompt_tokens=audio_tokens(duration_ms),
                prompt_modality="AUDIO",
            )
        )

    async def _tool_response(self, response: ToolResponse) -> None:
        for answer in response.function_responses or []:
            call = self._find_call(self._blocking_calls, answer)
            if call is not None:
                call.response = answer.response if answer.response is not None else {}
                call.answered.set()
                continue
            call = self._find_call(self._async_calls, answer)
            if call is None:
                log.info("emulator.unmatched_tool_response", call_id=answer.id, name=answer.name)
                continue
            if not answer.will_continue:
                del self._async_calls[call.id]
            work = _ToolResult(
                number=call.turn_number,
                name=call.name,
                response=answer.response if answer.response is not None else {},
            )
            scheduling = (answer.scheduling or FunctionResponseScheduling.WHEN_IDLE).upper()
            if scheduling == FunctionResponseScheduling.SILENT:
                continue
            if scheduling == FunctionResponseScheduling.INTERRUPT:
                if self._model is not None and self._model.rules38 and self._user_speaking():
                    # 3.8 waits for the user to finish, then speaks the result first.
                    self._held_results.append(work)
                    continue
                await self._interrupt()
                self._start_reply(work)
            elif self._reply is None:
                self._start_reply(work)
            else:
                self._queue.append(work)

    @staticmethod
    def _find_call(calls: dict[str, _PendingCall], answer: FunctionResponse) -> _PendingCall | None:
        if answer.id:
            return calls.get(answer.id)
        # Vertex clients may answer without an id: match the oldest call of that name.
        return next((c for c in calls.values() if c.name == answer.name), None)

    # -- turns and replies -----------------------------------------------------

    def _interrupts(self) -> bool:
        config = self._setup.realtime_input_config
        handling = (config.activity_handling if config else None) or ""
        return handling.upper() != ActivityHandling.NO_INTERRUPTION

    async def _user_activity(self) -> None:
        """The user started speaking (or sent activityStart): barge in if allowed."""
        if self._reply is not None and self._interrupts():
            await self._interrupt()

    def _user_speaking(self) -> bool:
        return self._manual_activity_ms is not None or (
            self._vad is not None and self._vad.in_speech
        )

    async def _user_turn(self, turn: _UserTurn) -> None:
        if self._held_results:
            held, self._held_results = self._held_results, []
            if self._reply is not None:
                await self._interrupt()
            self._start_reply(held[0])
            self._queue.extend([*held[1:], turn])
            return
        if self._reply is not None:
            if not self._interrupts():
                self._queue.append(turn)
                return
            await self._interrupt()
        self._start_reply(turn)

    async def _interrupt(self) -> None:
        """Stop the reply in progress: interrupted, cancellations, turnComplete."""
        reply = self._reply
        if reply is None:
            return
        reply.scope.cancel()
        await reply.done.wait()
        self._reply = None
        cancelled = list(self._blocking_calls)
        self._blocking_calls.clear()
        await self._send(ServerMessage(server_content=ServerContent(interrupted=True)))
        if cancelled:
            await self._send(
                ServerMessage(tool_call_cancellation=ToolCallCancellation(ids=cancelled))
            )
        await self._prepare_handle()
        await self._send(
            ServerMessage(
                server_content=ServerContent(
                    turn_complete=True, interaction_status=self._interaction_status()
                )
            )
        )
        log.info("emulator.interrupted", cancelled_calls=len(cancelled))
        await self._turn_boundary()

    def _start_reply(self, work: _Work) -> None:
        assert self._nursery is not None
        reply = _Reply()
        self._reply = reply
        self._nursery.start_soon(self._run_reply, work, reply)

    async def _run_reply(self, work: _Work, reply: _Reply) -> None:
        assert self._session is not None
        assert self._model is not None
        try:
            with reply.scope:
                self._session.state = SessionState.GENERATING
                if self._resumption_enabled():
                    await self._send(
                        ServerMessage(
                            session_resumption_update=SessionResumptionUpdate(resumable=False)
                        )
                    )
                if isinstance(work, _UserTurn):
                    text = await self._answer(work)
                    prompt = (work.prompt_tokens, work.prompt_modality)
                else:
                    text = tool_result_text(work.number, work.name, work.response)
                    prompt = (text_tokens(str(work.response)), "TEXT")
                output_tokens = await self._speak(text)
                async with self._lock:  # from here on the turn completes as one step
                    await self._send(
                        ServerMessage(server_content=ServerContent(generation_complete=True))
                    )
                    await self._prepare_handle()
                    await self._send(
                        ServerMessage(
                            server_content=ServerContent(
                                turn_complete=True, interaction_status=self._interaction_status()
                            ),
                            usage_metadata=self._usage(prompt, output_tokens),
                        )
                    )
                    self._reply = None
                    await self._turn_boundary()
                    if self._queue:
                        self._start_reply(self._queue.popleft())
        finally:
            reply.done.set()

    async def _answer(self, turn: _UserTurn) -> str:
        """Call a tool if the turn names one; the text of the reply."""
        assert self._model is not None
        assert self._session is not None
        invocation = parse_tool_invocation(turn.text, self._functions)
        if invocation is None:
            return echo(turn.number, turn.text)
        call = _PendingCall(
            f"call-{next(_call_ids)}-{secrets.token_hex(3)}", invocation.name, turn.number
        )
        # On 3.8 a function without `behavior` is NON_BLOCKING (the server's default).
        default = Behavior.NON_BLOCKING if self._model.rules38 else ""
        blocking = not (
            self._model.non_blocking_tools
            and (invocation.declaration.behavior or default).upper() == Behavior.NON_BLOCKING
        )
        (self._blocking_calls if blocking else self._async_calls)[call.id] = call
        await self._send(
            ServerMessage(
                tool_call=ToolCall(
                    function_calls=[FunctionCall(id=call.id, name=call.name, args=invocation.args)]
                )
            )
        )
        if not blocking:
            return echo(turn.number, turn.text)
        self._session.state = SessionState.AWAITING_TOOL
        await call.answered.wait()
        self._blocking_calls.pop(call.id, None)
        self._session.state = SessionState.GENERATING
        return tool_result_text(turn.number, call.name, call.response)

    async def _speak(self, text: str) -> tuple[int, str]:
        """Stream a reply in the session's modality; returns (output tokens, modality)."""
        interval = self._config.reply_interval
        if self._modality == "TEXT":
            for chunk in split_text(text, self._config.text_chunk_chars):
                await trio.sleep(interval)
                await self._send(
                    ServerMessage(
                        server_content=ServerContent(
                            model_turn=Content(role="model", parts=[Part(text=chunk)])
                        )
                    )
                )
            return text_tokens(text), "TEXT"
        total_ms = len(text) * self._config.audio_ms_per_char
        chunk_ms = self._config.audio_chunk_ms
        count = max(1, math.ceil(total_ms / chunk_ms))
        transcribe = self._setup.output_audio_transcription is not None
        for index in range(count):
            start = index * chunk_ms
            piece = text[len(text) * index // count : len(text) * (index + 1) // count]
            await trio.sleep(interval)
            audio = Blob(
                data=speech_pcm(start, min(chunk_ms, total_ms - start)), mime_type=OUTPUT_AUDIO_MIME
            )
            await self._send(
                ServerMessage(
                    server_content=ServerContent(
                        model_turn=Content(role="model", parts=[Part(inline_data=audio)]),
                        output_transcription=Transcription(text=piece)
                        if transcribe and piece
                        else None,
                    )
                )
            )
        return audio_tokens(total_ms), "AUDIO"

    def _usage(self, prompt: tuple[int, str], output: tuple[int, str]) -> UsageMetadata:
        prompt_count, prompt_modality = prompt
        output_count, output_modality = output
        details = [ModalityTokenCount(modality=output_modality, token_count=output_count)]
        usage = UsageMetadata(
            prompt_token_count=prompt_count,
            total_token_count=prompt_count + output_count,
            prompt_tokens_details=[
                ModalityTokenCount(modality=prompt_modality, token_count=prompt_count)
            ],
        )
        if self._endpoint.backend == GEMINI:
            return msgspec.structs.replace(
                usage, response_token_count=output_count, response_tokens_details=details
            )
        return msgspec.structs.replace(
            usage, candidates_token_count=output_count, candidates_tokens_details=details
        )

    async def _turn_boundary(self) -> None:
        """The model is idle: a new handle, and start-up faults keyed to turns."""
        assert self._session is not None
        self._session.state = SessionState.IDLE
        self._turns_completed += 1
        await self._resumption_update()
        for rule in self._config.faults:
            if rule.turn == self._turns_completed and self._nursery is not None:
                self._nursery.start_soon(self._rule_after_flush, rule)

    def _resumption_enabled(self) -> bool:
        return self._setup.session_resumption is not None

    def _in_progress(self) -> bool:
        """A 3.8 interaction goes on: a NON_BLOCKING call is unanswered, or its result unspoken."""
        if self._model is None or self._model.rules38 is None:
            return False
        return (
            bool(self._async_calls)
            or bool(self._held_results)
            or any(isinstance(w, _ToolResult) for w in self._queue)
        )

    def _interaction_status(self) -> str | None:
        """What a 3.8 ``turnComplete`` carries (``None`` on older models, which send none)."""
        if self._model is None or self._model.rules38 is None:
            return None
        return InteractionStatus.IN_PROGRESS if self._in_progress() else InteractionStatus.IDLE

    async def _prepare_handle(self) -> None:
        """Issue and commit the turn boundary's handle before ``turnComplete`` goes out.

        The commit waits for a worker thread; done here, the update follows the
        ``turnComplete`` at once, as Google's does, instead of a thread hop later.
        """
        if self._resumption_enabled() and self._session is not None and self._next_handle is None:
            self._next_handle = self._core.registry.issue_handle(self._session)
            await self._core.commit_handle(self._next_handle)

    async def _resumption_update(self) -> None:
        if not self._resumption_enabled() or self._session is None:
            return
        if self._in_progress():
            # As Google does while the model works: no handle to resume with.
            self._next_handle = None  # it would capture a context that is not final
            await self._send(
                ServerMessage(session_resumption_update=SessionResumptionUpdate(resumable=False))
            )
            return
        transparent = bool(
            self._setup.session_resumption and self._setup.session_resumption.transparent
        )
        handle, self._next_handle = self._next_handle, None
        if handle is None:
            handle = self._core.registry.issue_handle(self._session)
            # Durable before the client can hold it: a restart never loses a handle it has.
            await self._core.commit_handle(handle)
        update = SessionResumptionUpdate(
            new_handle=handle,
            resumable=True,
            last_consumed_client_message_index=self._client_index
            if transparent and self._endpoint.backend == VERTEX
            else None,
        )
        await self._send(ServerMessage(session_resumption_update=update))

    # -- timers and faults -----------------------------------------------------

    def _start_timers(self) -> None:
        assert self._nursery is not None
        lifetime = self._config.session_lifetime
        if lifetime is not None:
            self._close_at = trio.current_time() + lifetime
            self._nursery.start_soon(self._lifetime)
        for rule in self._config.faults:
            if rule.kind == "delay" and rule.after is None and rule.turn is None:
                self.fault_delay(rule.seconds or 0.0)
            elif rule.after is not None:
                self._nursery.start_soon(self._rule_after, rule)

    async def _lifetime(self) -> None:
        with trio.CancelScope(deadline=self._close_at - self._config.go_away_notice) as scope:
            self._go_away_scope = scope
            await trio.sleep_forever()
        if not self._go_away_sent:
            # announce the configured notice exactly; the close stays where it was
            notice = min(self._config.go_away_notice, self._config.session_lifetime or math.inf)
            await self._go_away(notice, reschedule=False)
        with trio.CancelScope(deadline=self._close_at) as scope:
            self._close_scope = scope
            await trio.sleep_forever()
        if self._endpoint.backend == VERTEX:
            await self._close(1000, "The operation was cancelled.")
        else:
            await self._close(1011, DEADLINE)

    async def _go_away(self, time_left: float, *, reschedule: bool = True) -> None:
        self._go_away_sent = True
        if reschedule:
            self._close_at = trio.current_time() + time_left
        if self._go_away_scope is not None:
            self._go_away_scope.cancel()
        if self._close_scope is not None:
            self._close_scope.deadline = self._close_at
        elif self._config.session_lifetime is None and self._nursery is not None:
            self._nursery.start_soon(self._lifetime)
        await self._send(
            ServerMessage(go_away=GoAway(time_left=format_duration(round(time_left, 3))))
        )

    async def _rule_after(self, rule: FaultRule) -> None:
        await trio.sleep(rule.after or 0.0)
        await self._apply_rule(rule)

    async def _rule_after_flush(self, rule: FaultRule) -> None:
        # "after the N-th turnComplete" means once the client can have seen it
        written = trio.Event()
        await self._outbox_in.send(written)
        await written.wait()
        await self._apply_rule(rule)

    async def _apply_rule(self, rule: FaultRule) -> None:
        log.warning(
            "emulator.fault_injected", fault=rule.kind, target=self.session_id, rule="start-up"
        )
        if rule.kind == "drop":
            await self.fault_drop()
        elif rule.kind == "close":
            code = rule.code if rule.code is not None else 1011
            await self.fault_close(
                code, rule.reason if rule.reason is not None else default_reason(code)
            )
        elif rule.kind == "go_away":
            await self.fault_go_away(rule.time_left)
        elif rule.kind == "stall":
            self.fault_stall(rule.seconds)
        elif rule.kind == "delay":
            self.fault_delay(rule.seconds or 0.0)

    # -- frames out ------------------------------------------------------------

    async def _send(self, message: ServerMessage) -> None:
        await self._outbox_in.send(message)

    async def _write_frames(self) -> None:
        assert self._ws is not None
        async for message in self._outbox_out:
            if isinstance(message, trio.Event):
                message.set()
                continue
            frame = encode_server(message)
            if len(frame) >= _MAX_FRAME:  # never happens with sane settings; never send it
                log.error("emulator.frame_too_large", size=len(frame))
                continue
            await self._ws.send_message(frame)

    async def _close(self, code: int, reason: str) -> None:
        """Close with a close frame (bounded wait for the client's answer), then stop."""
        if self._closing:
            return
        self._closing = True
        self._close_code = code
        if self._ws is not None:
            with trio.move_on_after(self._config.limits.close_timeout, shield=True):
                await self._ws.aclose(code, close_reason(reason))
        self._scope.cancel()


def _count_fields(message: ClientMessage) -> int:
    return sum(
        value is not None
        for value in (
            message.setup,
            message.client_content,
            message.realtime_input,
            message.tool_response,
            message.context_update,
        )
    )
