"""The state a session keeps across connections and actor restarts.

Actors come and go (a crash costs at most a resume); what must outlive them
lives here, owned by the session: status, the latest resumption handle, the
outbound ledger, the realtime buffer, turn state, usage, and the mailboxes
between the actors. The connection's reader hands every decoded server
message to :meth:`SessionCore.on_server_message`, which updates that state,
routes tool calls and ``goAway`` to the actors that act on them, and queues the
event for the owner's callbacks (which run elsewhere, so a slow callback never
stalls the socket). With an event sink (``open_session(event_sink=...)``, for
relays) the event is handed to the sink in the emitting task instead: no queue,
no dispatcher task, and a slow sink backpressures the socket, as a relay wants.

This is not an actor: it has no loop of its own, only short methods that
never wait for anything but a bounded mailbox.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import trio

from livesvc.logs import get_logger
from livesvc.session._decide import Decision, ReconnectState, decide
from livesvc.session._delivery import EventDelivery, EventSink
from livesvc.session._envelopes import (
    CancelTools,
    ConnCommand,
    EndInteraction,
    GoAwayNoticed,
    Link,
    LinkEnd,
    LinkEvent,
    LinkPhase,
    Outbound,
    RunTools,
    ToolCommand,
)
from livesvc.session._errors import ContextLostError, SessionFailed
from livesvc.session._events import (
    Closed,
    Connected,
    ContextLost,
    Disconnected,
    ErrorOccurred,
    GoAwayReceived,
    InteractionStatusChanged,
    MessageReceived,
    SessionResumptionUpdated,
    SessionStatus,
    ToolCallCancelled,
    ToolCallReceived,
    TranscriptionReceived,
    TurnState,
    Usage,
    VoiceActivityDetected,
)
from livesvc.session._ledger import LedgerEntry, OutboundLedger
from livesvc.session._media_buffer import MediaBuffer
from livesvc.session._prepare import PreparedSession
from livesvc.session._transcript import Transcript
from livesvc.session._turns import TurnTracker
from livesvc.wire import ClientMessage, Content, ServerMessage, Setup
from supervisors import Mailbox, Overflow

__all__ = ["EventSink", "SessionCore"]


log = get_logger(__name__)

# Mailbox sizes, per edge. Control traffic is a handful of messages per
# connection; the outbox absorbs bursts of audio chunks.
_OUTBOX = 256
_CONTROL = 16
_LINK_EVENTS = 64
_PINGER = 8
_TOOLS = 64


class SessionCore:
    """State and routing of one session; see the module docstring."""

    def __init__(self, prepared: PreparedSession, *, rng: random.Random | None = None) -> None:
        config = prepared.config
        self.prepared = prepared
        self.rng = rng or random.Random(config.random_seed)
        self.status = SessionStatus.DISCONNECTED
        self.ledger: OutboundLedger[ClientMessage] = OutboundLedger(
            keep_until_covered=prepared.resumption,
            max_entries=config.ledger_max_entries,
            max_bytes=config.ledger_max_bytes,
        )
        self.media: MediaBuffer[ClientMessage] = MediaBuffer(
            max_seconds=config.media_buffer_seconds, max_frames=config.media_buffer_frames
        )
        self.handle: str | None = config.resume_handle
        self.session_id: str | None = None
        self.generation = 0  # dials so far
        self.link_generation: int | None = None  # the connection that is up now
        self.link_phase = LinkPhase.DOWN  # written by the connection actor only
        self.link: Link | None = None  # the connection that is up, for a restarted pinger
        self.go_away: GoAwayNoticed | None = None  # the pending goAway, for a restarted reconnector
        self.reconnect = ReconnectState()  # the reconnector's memory: only it writes here
        self.up_generation: int | None = None  # the last connection that came up, and when
        self.up_at = 0.0
        self.productive_generation: int | None = None  # a connection that completed an utterance
        self.reply_target: int | None = None  # turns_completed once the last prompt is answered
        self.connections = 0  # connections that reached setupComplete
        self.resumes = 0
        self.context_losses = 0
        # The conversation as text, to seed a new server session after a loss.
        self.transcript = (
            Transcript(max_turns=config.transcript_max_turns, max_bytes=config.transcript_max_bytes)
            if config.context_loss == "reseed"
            else None
        )
        self.seed: list[Content] = []  # the history the next connection starts with
        self.conversation_started = False  # the server session holds something said
        self.error: SessionFailed | None = None
        self.close_reason = ""
        self.usage: Usage | None = None
        self.closing = False
        # Turn state: the interaction (Gemini 3.8) or the reply, in a pure tracker.
        self.turns = TurnTracker()
        self._pending_tools: set[str] = set()
        self._anonymous_tools = 0
        self._activity_open = False
        self._changed = trio.Event()
        # Mailboxes: owned here, so an actor's crash never closes one.
        self.outbox: Mailbox[Outbound] = Mailbox("outbox", _OUTBOX)
        self.control: Mailbox[ConnCommand] = Mailbox(
            "connection.control", _CONTROL, overflow=Overflow.FAIL
        )
        self.link_events: Mailbox[LinkEvent] = Mailbox("reconnector", _LINK_EVENTS)
        self.pinger_events: Mailbox[LinkEvent] = Mailbox(
            "pinger", _PINGER, overflow=Overflow.DROP_OLDEST
        )
        self.tool_commands: Mailbox[ToolCommand] = Mailbox("tools", _TOOLS)
        # Events to the owner: queued for callbacks and iterators, or handed to a sink.
        self.delivery = EventDelivery(config.event_buffer)
        self.emit = self.delivery.emit
        self.emit_nowait = self.delivery.emit_nowait
        self.on_fail: Callable[[SessionFailed], None] | None = None

    # -- status ---------------------------------------------------------------

    def set_status(self, status: SessionStatus) -> None:
        """Move to ``status`` (terminal states are final)."""
        if self.status is status or self.status.terminal:
            return
        log.info("session.status", old=self.status.value, new=status.value)
        self.status = status
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds (re-checked on every state change)."""
        while not predicate():
            await self._changed.wait()

    @property
    def turn(self) -> TurnState:
        """The turn state now."""
        return self.turns.state(pending_tool_calls=len(self._pending_tools) + self._anonymous_tools)

    @property
    def idle(self) -> bool:
        """A turn boundary: the interaction is over, no tool call pending, the ledger covered.

        "Over" includes background work: a Gemini 3.8 interaction that said
        ``turnComplete`` with ``IN_PROGRESS`` is still going. Waiting for the
        ledger to be covered matters for a ``goAway`` handover: resuming before
        the handle covers the last turn would replay it.
        """
        return (
            not self.turns.busy
            and not self._pending_tools
            and self._anonymous_tools == 0
            and not self._activity_open
            and len(self.ledger) == 0
        )

    # -- writing ------------------------------------------------------------------

    async def write(self, envelope: Outbound) -> None:
        """Queue ``envelope`` for the connection's writer (the one path to the socket).

        Waits only when the outbox is full: back-pressure from a slow link.
        """
        await self.outbox.send(envelope)

    def report_error(self, error: Exception) -> None:
        """An error the session survives, for ``on_error``."""
        self.emit_nowait(ErrorOccurred(at=trio.current_time(), error=error))

    # -- connections ----------------------------------------------------------

    def begin_dial(self, *, handle: str | None, fresh: bool, reason: str = "") -> tuple[int, Setup]:
        """Start dial number ``generation``; returns it with the setup to send.

        ``fresh`` starts a new server session in place of an earlier one: what the
        old one received is dropped from the ledger and the owner is told.
        """
        self.generation += 1
        if fresh:
            self._start_over(reason)
        if not self.closing and not self.status.terminal:
            self.set_status(
                SessionStatus.CONNECTING if self.connections == 0 else SessionStatus.RECONNECTING
            )
        return self.generation, self.prepared.setup_with_handle(handle, seeded=bool(self.seed))

    def _start_over(self, reason: str) -> None:
        # A new server session: seed it with the transcript ("reseed"), or start empty.
        self.seed = []
        if self.transcript is not None:
            self.transcript.forget_pending()  # unanswered prompts are replayed, not history
            self.seed = self.transcript.history()
        dropped = self.ledger.abandon_answered() if self.seed else self.ledger.abandon_written()
        self.context_losses += 1
        self.handle = None
        self.conversation_started = bool(self.seed)
        reason = reason or (
            "resumption is off" if not self.prepared.resumption else "no resumable handle"
        )
        outcome = "reseeded" if self.seed else "continued"
        log.warning(
            "session.context_lost",
            reason=reason,
            dropped=len(dropped),
            outcome=outcome,
            restored=len(self.seed),
        )
        self.emit_nowait(
            ContextLost(
                at=trio.current_time(),
                reason=reason,
                dropped=len(dropped),
                outcome=outcome,
                restored=len(self.seed),
            )
        )
        self._pending_tools.clear()
        self._anonymous_tools = 0

    def lose_conversation(self, reason: str) -> None:
        """The context is lost and the policy is ``"fail"``: the session ends with it."""
        self.context_losses += 1
        log.warning(
            "session.context_lost",
            reason=reason,
            dropped=len(self.ledger),
            outcome="failed",
            restored=0,
        )
        self.emit_nowait(
            ContextLost(
                at=trio.current_time(), reason=reason, dropped=len(self.ledger), outcome="failed"
            )
        )
        self.fail(
            ContextLostError(
                f"the conversation was lost ({reason}) and context_loss is 'fail'",
                reason=reason,
            )
        )

    def take_seed(self) -> list[Content]:
        """The history to send first on the connection now up (once)."""
        seed, self.seed = self.seed, []
        return seed

    async def link_up(
        self, generation: int, *, session_id: str | None, resumed_with: str | None
    ) -> None:
        """Connection ``generation`` got ``setupComplete``."""
        self.link_generation = generation
        self.connections += 1
        self.up_generation = generation
        self.up_at = trio.current_time()
        if session_id:
            self.session_id = session_id
        resumed = resumed_with is not None
        if resumed:
            self.resumes += 1
        self.turns.link_lost()
        if self.status is not SessionStatus.CLOSING:
            self.set_status(SessionStatus.CONNECTED)
        self._notify()
        log.info(
            "session.connected",
            connection=self.connections,
            generation=generation,
            resumed=resumed,
            server_session_id=self.session_id,
        )
        await self.emit(
            Connected(
                at=trio.current_time(),
                session_id=self.session_id,
                resumed=resumed,
                connection=self.connections,
            )
        )

    async def link_down(self, generation: int, end: LinkEnd) -> None:
        """Connection ``generation`` ended (or never came up)."""
        was_up = self.link_generation == generation
        if was_up:
            self.link_generation = None
        # A reply in flight, or background work, is lost with its connection.
        self.turns.link_lost()
        self._activity_open = False
        will_retry = self.decide(generation, end).retries
        if was_up and not self.closing and not self.status.terminal:
            self.set_status(SessionStatus.RECONNECTING)
        self._notify()
        log.info(
            "session.disconnected",
            generation=generation,
            code=end.code,
            reason=end.reason,
            close_class=end.close_class.value if end.close_class else None,
            during_setup=end.during_setup,
            handover=end.handover,
        )
        if was_up or end.during_setup:
            await self.emit(
                Disconnected(
                    at=trio.current_time(),
                    code=end.code,
                    reason=end.reason,
                    close_class=end.close_class,
                    will_retry=will_retry,
                    connection=self.connections,
                )
            )

    def record_written(
        self, entry: LedgerEntry[ClientMessage], *, generation: int, conn_index: int
    ) -> None:
        """The connection wrote ``entry`` as frame ``conn_index`` of ``generation``."""
        # Written mid-reply, the next turn end ends that reply, not this message's.
        skip = 1 if self.turns.generating and entry.message.tool_response is None else 0
        self.ledger.mark_written(
            entry, generation=generation, conn_index=conn_index, skip_turns=skip
        )
        msg = entry.message
        if (msg.client_content is not None and msg.client_content.turn_complete) or (
            msg.realtime_input is not None and msg.realtime_input.text
        ):
            # The reply to this prompt is the turn after the one in progress, if any.
            self.reply_target = self.turns.turns_completed + skip + 1
        self.entry_written(entry)

    def link_was_stable(self, generation: int) -> bool:
        """Whether connection ``generation`` lived ``stable_after`` seconds or did work.

        Such a connection starts a fresh failure count: its end is not part of a
        futile reconnect loop.
        """
        if self.productive_generation == generation:
            return True
        return (
            self.up_generation == generation
            and trio.current_time() - self.up_at >= self.prepared.config.reconnect.stable_after
        )

    def decide(self, generation: int, end: LinkEnd) -> Decision:
        """What follows the end of connection ``generation`` (the reconnector acts on it)."""
        return decide(
            end,
            self.reconnect,
            max_attempts=self.prepared.config.reconnect.max_attempts,
            stable=self.link_was_stable(generation),
            refreshable_auth=self.prepared.auth.refreshable,
            stopping=self.closing or self.status.terminal,
        )

    def entry_written(self, entry: LedgerEntry[ClientMessage]) -> None:
        """Update what the session waits for after ``entry`` was written."""
        msg = entry.message
        self.conversation_started = True
        if self.transcript is not None:
            self.transcript.client_message(msg)
        if msg.tool_response is not None:
            for response in msg.tool_response.function_responses or ():
                if response.id:
                    self._pending_tools.discard(response.id)
                elif self._anonymous_tools:
                    self._anonymous_tools -= 1
        if msg.client_content is not None and msg.client_content.turn_complete:
            self.turns.expect_reply()
        if msg.realtime_input is not None and msg.realtime_input.text:
            self.turns.expect_reply()
        self._notify()

    def realtime_written(self, message: ClientMessage) -> None:
        """Track manual activity (a handover waits for ``activityEnd``)."""
        ri = message.realtime_input
        if ri is None:
            return
        self.conversation_started = True
        if ri.activity_start is not None:
            self._activity_open = True
        if ri.activity_end is not None:
            self._activity_open = False
            self._notify()

    # -- server messages ------------------------------------------------------

    async def on_server_message(self, msg: ServerMessage, generation: int) -> None:
        """Update the state from one server message and route it."""
        now = trio.current_time()
        sc = msg.server_content
        update = None
        if self.transcript is not None:
            self.transcript.server_message(msg)
        if sc is not None:
            update = self.turns.on_content(sc)
            if update.interaction_ended:
                # The request is answered only when its interaction ends: an
                # utterance ending IN_PROGRESS leaves it in the ledger (exactly once).
                self.ledger.turn_completed(generation=generation)
            if update.utterance_ended:
                # A completed utterance is progress: a connection that drops after
                # doing work is not a futile reconnect loop.
                self.productive_generation = generation
            self._notify()
        if msg.usage_metadata is not None:
            self.usage = Usage.from_wire(msg.usage_metadata)
        await self.emit(MessageReceived(at=now, message=msg))
        if update is not None and update.status is not None and update.utterance_ended:
            await self.emit(
                InteractionStatusChanged(
                    at=now,
                    status=update.status,
                    ended=update.interaction_ended,
                    utterances=self.turns.utterances_completed,
                )
            )
        if sc is not None:
            for direction, tr in (
                ("input", sc.input_transcription),
                ("output", sc.output_transcription),
            ):
                if tr is not None and (tr.text or tr.finished):
                    await self.emit(
                        TranscriptionReceived(
                            at=now, direction=direction, text=tr.text or "", finished=tr.finished
                        )
                    )
        if msg.tool_call is not None:
            for fc in msg.tool_call.function_calls or ():
                if fc.id:
                    self._pending_tools.add(fc.id)
                else:
                    self._anonymous_tools += 1
            self._notify()
            await self.emit(ToolCallReceived(at=now, call=msg.tool_call))
            await self.tool_commands.send(RunTools(call=msg.tool_call))
        if msg.tool_call_cancellation is not None:
            ids = [i for i in msg.tool_call_cancellation.ids or () if i]
            self._pending_tools.difference_update(ids)
            self._notify()
            await self.emit(ToolCallCancelled(at=now, ids=ids))
            await self.tool_commands.send(CancelTools(ids=ids))
        if update is not None and update.interaction_ended:
            await self.tool_commands.send(EndInteraction())
        if msg.session_resumption_update is not None:
            self._on_resumption_update(msg, generation, now)
        if msg.go_away is not None:
            time_left = msg.go_away.time_left_seconds
            log.info("session.go_away", generation=generation, time_left=time_left)
            await self.emit(GoAwayReceived(at=now, time_left=time_left, handle=self.handle))
            notice = GoAwayNoticed(
                generation=generation, deadline=now + (time_left if time_left is not None else 0.0)
            )
            self.go_away = notice
            await self.link_events.send(notice)
        if msg.voice_activity is not None:
            await self.emit(
                VoiceActivityDetected(
                    at=now,
                    kind=msg.voice_activity.voice_activity_type or "",
                    activity=msg.voice_activity,
                )
            )
        if msg.voice_activity_detection_signal is not None:
            await self.emit(
                VoiceActivityDetected(
                    at=now, kind=msg.voice_activity_detection_signal.vad_signal_type or ""
                )
            )

    def _on_resumption_update(self, msg: ServerMessage, generation: int, now: float) -> None:
        update = msg.session_resumption_update
        assert update is not None
        index = update.last_consumed_client_message_index
        covered = 0
        if self.prepared.transparent and index is not None:
            covered = self.ledger.cover_through_index(generation=generation, index=int(index))
        elif update.resumable:
            covered = self.ledger.cover(generation=generation)
        if update.resumable and update.new_handle:
            self.handle = update.new_handle
            self.emit_nowait(SessionResumptionUpdated(at=now, handle=update.new_handle))
        if covered:
            log.debug("session.ledger_covered", covered=covered, remaining=len(self.ledger))
        self._notify()

    # -- the end ----------------------------------------------------------------

    def fail(self, error: SessionFailed) -> None:
        """Stop for good: fail every pending send and tell the owner."""
        if self.status.terminal:
            return
        self.error = error
        lost = self.ledger.fail_all(str(error))
        log.error(
            "session.failed",
            error=str(error),
            code=error.code,
            close_class=error.close_class.value if error.close_class else None,
            undelivered=len(lost),
        )
        self.set_status(SessionStatus.FAILED)
        self.emit_nowait(ErrorOccurred(at=trio.current_time(), error=error, fatal=True))
        self.emit_nowait(
            Closed(at=trio.current_time(), status=SessionStatus.FAILED, reason=str(error))
        )
        if self.on_fail is not None:
            self.on_fail(error)

    def close_mailboxes(self) -> None:
        """Close every mailbox (only once the actors are stopped)."""
        for mailbox in (
            self.outbox,
            self.control,
            self.link_events,
            self.pinger_events,
            self.tool_commands,
        ):
            mailbox.close()
