"""One gateway session: an upstream session that clients attach to and detach from.

The session is an actor, a temporary child of the daemon's ``sessions``
dynamic supervisor. It owns the upstream (a session from the session library)
for its whole life, and at most one attached client at a time (a
:class:`ClientLink`). ONE task (the actor loop) owns its state and takes its
messages, in batches, from one bounded :class:`Mailbox`:

* from the client's connection handler: :class:`Attach`, :class:`Detach`,
  :class:`FromClient` (these senders wait for room: backpressure on the client);
* from the operator: :class:`Close`; from the supervisor's stop: a drain;
* from the upstream's reader: :class:`FromUpstream`, posted without waiting
  (nobody waits inside a reader: model audio is shed oldest-first past the
  bound, everything else is kept);
* from the store writer: :class:`HandleCommitted`, posted without waiting.

Frames for the client are filtered and rewritten (``goAway`` and daemon tool
calls never reach it; resumption updates carry daemon handles) and posted to
the attached link's outbox, which that link's one writer task drains; a
client whose outbox overflows with frames that may not be dropped is closed
with CLOSE_CLIENT_TOO_SLOW and its session stays for a resume. While no
client is attached, frames are buffered.

Everything a client sees of the upstream goes through here, so a drop, a
``goAway`` handover or a daemon restart is invisible to the client.
"""

from __future__ import annotations

import functools
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
import trio
from structlog.contextvars import bound_contextvars

from livesvc.close_codes import (
    CLOSE_CLIENT_TOO_SLOW,
    CLOSE_CONTEXT_LOST,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL,
    CLOSE_MEMORY_BUDGET,
    CLOSE_NORMAL,
)
from livesvc.gateway._frame_filter import FrameFilter, only_audio
from livesvc.gateway._handle_offer import committed, needs_issue, offered
from livesvc.gateway._link import TOO_SLOW_REASON, ClientLink
from livesvc.gateway._mailbox import Mailbox, Posted
from livesvc.gateway._messages import (
    Attach,
    Close,
    Detach,
    Drain,
    FromClient,
    FromUpstream,
    HandleCommitted,
    Message,
    UpstreamEnded,
)
from livesvc.gateway._upstream import (
    ContextLost,
    Failed,
    Frame,
    MediaDropped,
    Reconnected,
    Reconnecting,
    SendRefused,
    ToolFinished,
    Upstream,
    UpstreamEvent,
    UpstreamFactory,
    UpstreamRequest,
)
from livesvc.logs import get_logger
from livesvc.metrics import DaemonMetrics
from livesvc.store import SessionRecord, SessionWriter, Store, Ticket
from livesvc.tools import ends_interaction
from livesvc.wire import (
    ClientMessage,
    ServerMessage,
    SessionResumptionUpdate,
    SetupComplete,
    encode_server,
)

__all__ = [
    "Attach",
    "ClientLink",
    "Close",
    "Detach",
    "FromClient",
    "FromUpstream",
    "HandleCommitted",
    "GatewaySession",
    "SessionSettings",
]

log = get_logger(__name__)

_FINISH_TIMEOUT = 2.0
# How long a client message may wait for room upstream.
_SEND_GRACE = 5.0

CONTEXT_LOST_REASON = "The upstream lost the conversation; start a new session."

# Seconds a new session waits for its first client to attach.
FIRST_ATTACH_WINDOW = 10.0


class SessionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Per-session knobs, from the config the session started with."""

    grace_period: float = 60.0
    handle_ttl: float = 7200.0
    client_send_timeout: float = 10.0  # a client that reads nothing for this long is closed
    buffer_frames: int = 512  # server frames kept while no client is attached
    buffer_bytes: int = 8 * 1024 * 1024
    inbox_size: int = 64  # messages; upstream events are never refused (see Mailbox.post)
    context_loss: str = "fail"  # "fail" | "reseed" | "continue" (the profile's)


class GatewaySession:
    """The session actor. Build it, start it under the sessions supervisor, then attach clients.

    Example::

        session = GatewaySession(record=record, request=request, ...)
        await sessions.start_child(ChildSpec(id=session.id, start=session.run,
                                             restart=Restart.TEMPORARY))
        await session.inbox_send.send(Attach(link=link, resumed=False))
        await session.inbox_send.send(FromClient(message=message, size=len(data)))
    """

    def __init__(
        self,
        *,
        record: SessionRecord,
        request: UpstreamRequest,
        upstream_factory: UpstreamFactory,
        store: Store,
        metrics: DaemonMetrics,
        settings: SessionSettings,
        daemon_tools: frozenset[str] = frozenset(),
        wall_clock: Callable[[], float] = time.time,
        on_end: Callable[[GatewaySession], None] | None = None,
        writer: SessionWriter | None = None,
    ) -> None:
        self.id = record.session_id
        self.record = record
        self._request = msgspec.structs.replace(request, deliver=self._deliver_pushed)
        self._factory = upstream_factory
        self._store = store
        self._metrics = metrics
        # The daemon passes its one shared writer; a session built alone runs its own.
        self._own_writer = writer is None
        self._writer = writer or SessionWriter(
            store, on_error=lambda: metrics.errors.labels(kind="store").inc()
        )
        self._settings = settings
        self._wall = wall_clock
        self._on_end = on_end
        # One mailbox for every message; ``inbox_send`` is its sending side.
        self._mailbox: Mailbox[Message] = Mailbox(settings.inbox_size)
        self.inbox_send = self._mailbox
        self._scope: trio.CancelScope | None = None  # the session's tasks, once started
        self._writers: trio.Nursery | None = None  # the attached links' writer tasks
        # Label lookups once, not per message.
        self._in_messages = metrics.messages_relayed.labels(direction="client_to_upstream")
        self._in_bytes = metrics.bytes_relayed.labels(direction="client_to_upstream")
        self._out_messages = metrics.messages_relayed.labels(direction="upstream_to_client")
        self._out_bytes = metrics.bytes_relayed.labels(direction="upstream_to_client")
        self._forwarded_calls = metrics.tool_calls.labels(
            tool="client", runner="client", outcome="forwarded"
        )
        # State shared by the session's own tasks.
        self.status = "starting"
        self.link: ClientLink | None = None
        self._buffer: deque[bytes] = deque()
        self._buffer_bytes = 0
        # A new session is created for a client that attaches at once; until it
        # does, the grace period runs as for any detached session, but never less
        # than FIRST_ATTACH_WINDOW (a grace period of 0 must not end it unborn).
        self._grace_deadline = trio.current_time() + max(settings.grace_period, FIRST_ATTACH_WINDOW)
        self._filter = FrameFilter(daemon_tools)
        self._awaiting_turn_since: float | None = None
        self._generating = False
        self._idle = trio.Event()
        self._new_upstream_handle = trio.Event()  # set (and replaced) on each new upstream handle
        self._started_at = trio.current_time()
        self._upstream: Upstream | None = None
        self._draining = False
        self._end_reason = "closed"  # why the session ended, for the summary line and metrics
        self.upstream_reconnects = 0
        self.upstream_resumes_by_reason: dict[str, int] = {}
        self.last_upstream_close_code: int | None = None
        self.last_close_code: int | None = None
        self.last_close_reason: str | None = None
        self.context_lost = 0  # times the upstream lost the conversation
        self.context_lost_outcome: str | None = None  # closed | reseeded | continued (the last)
        self.ended = trio.Event()

    # -- views ----------------------------------------------------------------

    @property
    def principal(self) -> str:
        return self.record.principal

    @property
    def busy(self) -> bool:
        """A turn is running: the client asked, the model is answering (or, on Gemini 3.8,
        still working in the background), or a client tool is pending."""
        return (
            self._awaiting_turn_since is not None
            or self._generating
            or bool(self._filter.client_calls)
        )

    def restarts(self) -> dict[str, int]:
        return self._upstream.restarts() if self._upstream is not None else {}

    def buffered_frames(self) -> list[bytes]:
        """The frames kept for a client while none is attached, oldest first."""
        return list(self._buffer)

    def prepend_buffered(self, frames: list[bytes]) -> None:
        """Put ``frames`` before what is buffered (a session moved here from another worker)."""
        self._buffer.extendleft(reversed(frames))
        self._buffer_bytes += sum(len(f) for f in frames)

    async def wait_turn_settled(self, *, turn_timeout: float, handle_timeout: float) -> None:
        """Wait until no turn runs, then for the upstream handle that follows it (each bounded).

        Returns at once when idle, and as soon as the session ends. A session
        moved in that state resumes after its last turn, so nothing is replayed.

        Example::

            await session.wait_turn_settled(turn_timeout=10, handle_timeout=1)
        """
        if not self.busy:
            return
        handle = self.record.upstream_handle
        with trio.move_on_after(turn_timeout):
            while self.busy and not self.ended.is_set():
                await self._idle.wait()
        with trio.move_on_after(handle_timeout):
            while self.record.upstream_handle == handle and not self.ended.is_set():
                await self._new_upstream_handle.wait()

    # -- the actor ------------------------------------------------------------

    async def run(
        self, ctx: Any = None, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Open the upstream, then serve until closed, the grace period ends, or a stop is requested.

        An upstream that cannot be opened is a start failure (raised before ``started``).
        """
        # The upstream logs under the same id (the daemon's upstream passes it to
        # the library), so session_id finds every line of this session.
        with bound_contextvars(session_id=self.id):
            async with trio.open_nursery() as writer_nursery:
                if self._own_writer:
                    await writer_nursery.start(self._writer.run)
                async with trio.open_nursery() as link_writers:
                    self._writers = link_writers
                    await self._serve(ctx, task_status)
                    # The last frames (and the close) reach a reading client; one
                    # that does not read is cut after its send timeout.
                    link_writers.cancel_scope.deadline = (
                        trio.current_time() + self._settings.client_send_timeout
                    )
                writer_nursery.cancel_scope.cancel()

    async def _serve(self, ctx: Any, task_status: trio.TaskStatus[None]) -> None:
        async with self._factory(self._request) as upstream:
            self._upstream = upstream
            try:
                self._persist(status="active", updated_at=self._wall())
                self.status = "detached"
                log.info(
                    "session.started",
                    principal=self.principal,
                    profile=self.record.profile,
                    model=self.record.model,
                    restored=self._request.resume_handle is not None,
                )
                task_status.started()
                async with trio.open_nursery() as nursery:
                    self._scope = nursery.cancel_scope
                    nursery.start_soon(self._forward_events, upstream)
                    nursery.start_soon(self._loop, upstream)
                    if ctx is not None:
                        nursery.start_soon(self._drain_on_stop, ctx)
            finally:
                # Bounded: when the whole daemon is cancelled, the store may be gone
                # already; the record then stays "active" and is restorable.
                with trio.move_on_after(_FINISH_TIMEOUT, shield=True):
                    await self._finish(self._end_reason)

    async def _loop(self, upstream: Upstream) -> None:
        """The actor: the one task that changes the session's state."""
        while True:
            # Detached: the grace period is a deadline on waiting for the next message.
            with trio.move_on_at(self._grace_deadline) as grace:
                batch = await self._mailbox.take_batch()
            if grace.cancelled_caught:
                log.info("session.grace_expired", grace_seconds=self._settings.grace_period)
                self._end("grace_expired")
                return
            for message in batch:
                await self._handle(message, upstream)
                if self._draining and (not self.busy or self.link is None):
                    self.last_close_code = CLOSE_GOING_AWAY
                    self.last_close_reason = (
                        "Server is restarting; resume with your session handle."
                    )
                    self._end("drained")
                if self._scope is not None and self._scope.cancel_called:
                    return

    async def _handle(self, message: Message, upstream: Upstream) -> None:
        match message:
            case FromUpstream(event=event):
                self._on_upstream_event(event)
            case FromClient(message=client_message, size=size):
                await self._to_upstream(upstream, client_message, size)
            case HandleCommitted(link=link, ticket=ticket):
                self._on_committed(link, ticket)
            case Attach(link=link, resumed=resumed):
                self._attach(link, resumed=resumed)
            case Detach(link=link, code=code):
                if link is self.link:
                    self._detach(code, resumable=link.wants_resumption)
            case Close(reason=reason, code=code):
                self.last_close_code, self.last_close_reason = code, reason
                self._end("admin")
            case Drain():
                self._draining = True
                log.info("session.draining", busy=self.busy, client_attached=self.link is not None)
            case UpstreamEnded():
                # The upstream ended without a Failed event: it was closed under us.
                self._end("upstream_closed")

    def _end(self, reason: str) -> None:
        if self._end_reason == "closed":
            self._end_reason = reason
        assert self._scope is not None  # only the loop ends the session, inside the scope
        self._scope.cancel()

    async def _forward_events(self, upstream: Upstream) -> None:
        """Events of an upstream that does not push; then the end of its stream."""
        async for event in upstream.events():
            self._post_event(event)
        self._mailbox.post(UpstreamEnded())

    async def _deliver_pushed(self, event: UpstreamEvent) -> None:
        # Called by the upstream in its own task (its connection's reader): never waits.
        self._post_event(event)

    def _post_event(self, event: UpstreamEvent) -> None:
        shed = self._mailbox.post(FromUpstream(event=event), droppable=_is_model_audio(event))
        if shed:
            self._metrics.media_dropped.labels(kind="model_audio").inc(shed)

    async def _drain_on_stop(self, ctx: Any) -> None:
        await ctx.wait_stop_requested()
        await self._mailbox.send(Drain())

    async def _finish(self, reason: str) -> None:
        # A drained session stays resumable (after a restart); any other end is final.
        self.status = "detached" if reason == "drained" else "closed"
        code = self.last_close_code or (CLOSE_GOING_AWAY if reason == "drained" else CLOSE_NORMAL)
        text = self.last_close_reason or _REASONS.get(reason, reason)
        # Clients still queued to attach are told too; nothing more is taken.
        for message in self._mailbox.close():
            if isinstance(message, Attach):
                message.link.request_close(code, text)
        if self.link is not None:
            self.link.request_close(code, text)
        self._metrics.sessions_closed.labels(reason=reason).inc()
        log.info(
            "gateway.session_closed",
            reason=reason,
            duration_seconds=round(trio.current_time() - self._started_at, 3),
            turns=self.record.turns,
            upstream_reconnects=self.upstream_reconnects,
            upstream_resumes=self.record.upstream_resumes,
            upstream_resumes_by_reason=dict(self.upstream_resumes_by_reason),
            client_resumes=self.record.client_resumes,
            restarts=self.restarts(),
            last_close_code=self.last_close_code,
            last_upstream_close_code=self.last_upstream_close_code,
        )
        # Forget the session before the last write: if the store is gone (the whole
        # daemon is being cancelled) it must not stay listed, nor hold its key's quota.
        self.ended.set()
        self._idle.set()  # waiters in wait_turn_settled re-check, and see the end
        self._new_upstream_handle.set()
        if self._on_end is not None:
            self._on_end(self)
        now = self._wall()
        changes: dict[str, Any] = {"status": self.status, "updated_at": now}
        if self.status == "closed":
            changes["closed_at"] = now
        if self.last_close_code is not None:
            changes["last_close_code"] = self.last_close_code
            changes["last_close_reason"] = self.last_close_reason
        # Off the relay path, so wait (bounded by the caller) for the final state. The
        # gateway, which runs the shared writer, stops before the sessions (a drain).
        ticket = self._persist(**changes)
        if not self._writer.running:
            await self._writer.flush()
        if not await ticket.wait():
            log.error("session.persist_failed", status=self.status)

    def _persist(self, *, issue_handle: bool = False, **changes: Any) -> Ticket:
        """Update the record and hand it to the writer; never waits for the store.

        A failed write is counted and logged by the writer; the session carries
        on (only resumption after a daemon restart is at risk).
        """
        self.record = msgspec.structs.replace(self.record, **changes)
        return self._writer.submit(self.record, issue_handle=issue_handle)

    # -- clients --------------------------------------------------------------------

    def _attach(self, link: ClientLink, *, resumed: bool) -> None:
        if self.link is not None:
            self.link.request_close(CLOSE_GOING_AWAY, "Session resumed by another connection.")
        self._grace_deadline = math.inf
        self.link = link
        self.status = "active"
        changes: dict[str, Any] = {"status": "active", "updated_at": self._wall()}
        if resumed:
            changes["client_resumes"] = self.record.client_resumes + 1
        self._persist(**changes)
        log.info("session.client_attached", resumed=resumed, buffered=len(self._buffer))
        # The outbox holds at least what the detached buffer may hold: a catch-up fits.
        link.outbox.max_frames = max(link.outbox.max_frames, self._settings.buffer_frames)
        link.outbox.max_bytes = max(link.outbox.max_bytes, self._settings.buffer_bytes)
        assert self._writers is not None
        link.writer_started = True  # from now on its handler waits for the writer
        self._writers.start_soon(
            functools.partial(
                link.run_writer,
                send_timeout=self._settings.client_send_timeout,
                on_too_slow=self._count_too_slow,
            )
        )
        # setupComplete, then what the client missed, then what comes next: in order.
        self._deliver(
            encode_server(ServerMessage(setup_complete=SetupComplete(session_id=self.id)))
        )
        missed, self._buffer, self._buffer_bytes = self._buffer, deque(), 0
        for frame in missed:
            self._deliver(frame)
        if (
            not resumed
            and self.link is link
            and link.wants_resumption
            and self.record.upstream_handle
        ):
            # Resumable already (the upstream's handle came before the new client
            # did): it need not wait for the next turn's update to hold a handle.
            self._offer_handle(updated_at=self._wall())

    def _detach(self, code: int | None, *, resumable: bool) -> None:
        link = self.link
        assert link is not None
        self.link = None
        # What the link did not send waits for the next client, before anything newer.
        unsent = link.abandon(link.close_code, link.close_reason)
        self._buffer.extendleft(reversed(unsent))
        self._buffer_bytes += sum(len(f) for f in unsent)
        self.status = "detached"
        self._persist(status="detached", updated_at=self._wall())
        log.info("session.client_detached", code=code, grace_seconds=self._settings.grace_period)
        if self._draining:
            return  # the loop ends the session: nobody is attached
        if not resumable and code == CLOSE_NORMAL:
            # A client that never asked for resumption has no handle to come back
            # with, and it said goodbye: holding its upstream and its slots for the
            # grace period would only block its key's next sessions.
            self._end("client_closed")
            return
        self._grace_deadline = trio.current_time() + self._settings.grace_period

    # -- client -> upstream -------------------------------------------------------

    async def _to_upstream(self, upstream: Upstream, message: ClientMessage, size: int) -> None:
        self._on_client_message(message, size)
        with trio.move_on_after(_SEND_GRACE) as scope:
            await upstream.send(message)
        if scope.cancelled_caught:
            self._metrics.errors.labels(kind="upstream_send_timeout").inc()
            log.warning("session.upstream_send_timeout", seconds=_SEND_GRACE)
            return
        self._in_messages.inc()
        self._in_bytes.inc(size)

    def _on_client_message(self, message: ClientMessage, size: int) -> None:
        """Every client message, decoded, on its way upstream (turn tracking; meters hook here)."""
        content = message.client_content
        realtime = message.realtime_input
        starts_turn = (
            content is not None and content.turn_complete is not False and content.turns
        ) or (realtime is not None and (realtime.text or realtime.activity_end is not None))
        if starts_turn and self._awaiting_turn_since is None:
            self._awaiting_turn_since = trio.current_time()
        if message.tool_response is not None:
            for response in message.tool_response.function_responses or ():
                if response.id is not None:
                    self._filter.answered(response.id)
            self._check_idle()

    # -- upstream -> client ---------------------------------------------------------

    def _on_upstream_event(self, event: UpstreamEvent) -> None:
        match event:
            case Frame(message=message):
                self._on_frame(message)
            case Reconnecting(reason=reason, code=code):
                self.upstream_reconnects += 1
                if code is not None:
                    self.last_upstream_close_code = code
                self._metrics.upstream_reconnects.labels(reason=reason).inc()
                log.info("session.upstream_reconnecting", reason=reason, code=code)
            case Reconnected(reason=reason, resumed=resumed, gap_seconds=gap, replayed=replayed):
                self._metrics.handover_gap.observe(gap)
                if resumed:
                    self._metrics.upstream_resumes.labels(reason=reason).inc()
                    by_reason = self.upstream_resumes_by_reason
                    by_reason[reason] = by_reason.get(reason, 0) + 1
                    self._persist(
                        upstream_resumes=self.record.upstream_resumes + 1,
                        updated_at=self._wall(),
                    )
                log.info(
                    "session.upstream_reconnected",
                    reason=reason,
                    resumed=resumed,
                    gap_seconds=round(gap, 3),
                    replayed=replayed,
                )
            case ContextLost(reason=reason, dropped=dropped):
                self._on_context_lost(reason, dropped)
            case ToolFinished(name=name, outcome=outcome, duration_seconds=duration):
                self._metrics.tool_calls.labels(tool=name, runner="daemon", outcome=outcome).inc()
                if duration is not None:
                    self._metrics.tool_duration.labels(tool=name).observe(duration)
            case MediaDropped(kind=kind, count=count):
                self._metrics.media_dropped.labels(kind=kind).inc(count)
            case SendRefused(reason=reason):
                # The session's memory budget is spent (its ledger is full: messages
                # the upstream has not confirmed, e.g. turns sent without
                # turnComplete). The Live protocol has no error frame: closing the
                # client is how it learns its message was not delivered. The session
                # stays for the grace period, so it can resume once turns complete.
                self._metrics.errors.labels(kind="session_memory_budget").inc()
                log.warning("session.memory_budget_spent", reason=reason)
                if self.link is not None:
                    self.link.request_close(
                        CLOSE_MEMORY_BUDGET,
                        "Session memory budget spent: too much sent without turnComplete.",
                    )
            case Failed(code=code, reason=reason):
                self._metrics.errors.labels(kind="upstream_failed").inc()
                if code is not None:
                    self.last_upstream_close_code = code
                self.last_close_code = code if code is not None else CLOSE_INTERNAL
                self.last_close_reason = reason
                log.warning("session.upstream_failed", code=code, reason=reason)
                self._end("upstream_failed")

    def _on_context_lost(self, reason: str, dropped: int) -> None:
        """The upstream started over without the conversation: act on the profile's policy.

        ``fail`` (the default): the client is closed with CLOSE_CONTEXT_LOST and
        the session ends; ``reseed`` and ``continue``: the library restored the
        history (or carries on without it) and the client stays.
        """
        policy = self._settings.context_loss
        outcome = {"reseed": "reseeded", "continue": "continued"}.get(policy, "closed")
        self.context_lost += 1
        self.context_lost_outcome = outcome
        self._metrics.context_lost.labels(outcome=outcome).inc()
        log.warning("session.context_lost", reason=reason, dropped=dropped, outcome=outcome)
        if outcome == "closed":
            self.last_close_code = CLOSE_CONTEXT_LOST
            self.last_close_reason = CONTEXT_LOST_REASON
            self._end("context_lost")

    def _on_frame(self, message: ServerMessage) -> None:
        forwarded = self._on_server_message(message)
        if forwarded is None:
            return
        frame = encode_server(forwarded)
        self._out_messages.inc()
        self._out_bytes.inc(len(frame))
        self._deliver(frame, droppable=only_audio(forwarded))
        self._check_idle()

    def _on_server_message(self, message: ServerMessage) -> ServerMessage | None:
        """Every decoded server message, once (meters hook here); what the client may see of it."""
        return self._rewrite(message)

    def _rewrite(self, message: ServerMessage) -> ServerMessage | None:
        """The frame as the client may see it, or ``None`` when nothing of it is for the client."""
        if message.server_content is not None:
            self._note_server_content(message.server_content)
        if self._filter.passes_whole(message):
            return message
        update = message.session_resumption_update
        replacement = self._handle_update(update) if update is not None else None
        forwarded, calls = self._filter.rewrite(message, update=replacement)
        if calls:
            self._forwarded_calls.inc(calls)
        return forwarded

    def _note_server_content(self, content: Any) -> None:
        output = content.model_turn is not None or content.output_transcription is not None
        if output:
            if self._awaiting_turn_since is not None:
                self._metrics.first_response_latency.observe(
                    trio.current_time() - self._awaiting_turn_since
                )
                self._awaiting_turn_since = None
            self._generating = True
        if content.turn_complete:
            self._awaiting_turn_since = None
            # Gemini 3.8: a turnComplete with IN_PROGRESS ends an utterance, not the
            # turn; the model keeps working, so a drain or a release waits for IDLE.
            ended = ends_interaction(content)
            self._generating = not ended
            if ended:
                self.record = msgspec.structs.replace(self.record, turns=self.record.turns + 1)

    def _handle_update(self, update: SessionResumptionUpdate) -> SessionResumptionUpdate | None:
        """Persist a resumable upstream handle; the client's own update follows once it is durable.

        The client's update (carrying the daemon handle) is taken out of the
        frame and sent by :meth:`_on_committed` after the batch holding the new
        upstream handle (and the daemon handle, the first time) is committed:
        a handle a client holds resumes even after a ``kill -9``, and frames
        not carrying a handle never wait for the store.
        """
        now = self._wall()
        if update.resumable and update.new_handle:
            self._offer_handle(
                upstream_handle=update.new_handle,
                handle_expires_at=now + self._settings.handle_ttl,
                updated_at=now,
            )
            self._new_upstream_handle.set()
            self._new_upstream_handle = trio.Event()
            return None
        if self.link is None or not self.link.wants_resumption:
            return None
        return SessionResumptionUpdate(new_handle=None, resumable=False)

    def _offer_handle(self, **changes: Any) -> None:
        """Persist ``changes``; the attached client gets its daemon handle once they are durable."""
        link = self.link
        issue = needs_issue(link)
        ticket = self._persist(issue_handle=issue, **changes)
        if link is not None and link.wants_resumption:
            offered(link, issue)

            # Called in the store writer's task: a message, never a wait.
            def on_done(done: Ticket) -> None:
                self._mailbox.post(HandleCommitted(link=link, ticket=done))

            ticket.on_done(on_done)

    def _on_committed(self, link: ClientLink, ticket: Ticket) -> None:
        update = committed(link, ticket, attached=self.link)
        if update is None or link.closing.is_set():
            return  # a leaving client's handle is not kept for the next one
        frame = encode_server(ServerMessage(session_resumption_update=update))
        self._out_messages.inc()
        self._out_bytes.inc(len(frame))
        self._deliver(frame)

    def _keep(self, frame: bytes) -> None:
        self._buffer.append(frame)
        self._buffer_bytes += len(frame)
        dropped = 0
        while (
            len(self._buffer) > self._settings.buffer_frames
            or self._buffer_bytes > self._settings.buffer_bytes
        ):
            self._buffer_bytes -= len(self._buffer.popleft())
            dropped += 1
        if dropped:
            self._metrics.errors.labels(kind="detached_buffer_overflow").inc(dropped)
            log.warning("session.buffer_dropped", frames=dropped)

    def _deliver(self, frame: bytes, *, droppable: bool = False) -> None:
        """Post ``frame`` to the attached client's outbox, or keep it for the next client.

        Never waits. Model audio past the outbox's bound is dropped oldest-first
        and counted; a conversation frame that does not fit closes the client
        with CLOSE_CLIENT_TOO_SLOW, and what it had not read is kept for a resume.
        """
        link = self.link
        if link is None or link.closing.is_set():
            self._keep(frame)
            return
        posted, dropped = link.outbox.post(frame, droppable=droppable)
        if dropped:
            self._metrics.media_dropped.labels(kind="model_audio").inc(dropped)
        if posted is Posted.FULL:
            self._count_too_slow()
            for unsent in link.abandon(CLOSE_CLIENT_TOO_SLOW, TOO_SLOW_REASON):
                self._keep(unsent)
            self._keep(frame)

    def _count_too_slow(self) -> None:
        # Also called by the link's writer (a send timed out): a metric and a log line only.
        self._metrics.errors.labels(kind="client_too_slow").inc()
        log.warning("session.client_too_slow", code=CLOSE_CLIENT_TOO_SLOW)

    def _check_idle(self) -> None:
        if not self.busy:
            self._idle.set()
            self._idle = trio.Event()


def _is_model_audio(event: UpstreamEvent) -> bool:
    return isinstance(event, Frame) and only_audio(event.message)


_REASONS = {
    "grace_expired": "Session ended: no client came back in time.",
    "admin": "Session closed by the operator.",
    "upstream_closed": "Upstream session ended.",
    "closed": "Session closed.",
    "client_closed": "Session ended: its client closed it and cannot resume it.",
}
