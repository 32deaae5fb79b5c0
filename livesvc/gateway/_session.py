"""One gateway session: an upstream session that clients attach to and detach from.

The session is an actor, a temporary child of the daemon's ``sessions``
dynamic supervisor. It owns the upstream (a session from the session library)
for its whole life, and at most one attached client at a time (a
:class:`ClientLink`, owned by that client's connection handler). Three paths
share the session's state:

* ``commands`` (a task): attach, detach, close; a detached session waits out
  its grace period, then ends;
* ``send_to_upstream``: client messages, in order, into the upstream's ledger
  (no task: the client's reading task hands each message over itself);
* upstream events, pushed by the upstream in its own task (a task reads
  ``events()`` for an upstream that does not push): frames are filtered and
  rewritten for the client (``goAway`` and daemon tool calls never reach it;
  resumption updates carry daemon handles) and written to the client's socket
  (no queue, no writer task), or buffered while no client is attached.

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
    CLOSE_BUDGET_EXHAUSTED,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL,
    CLOSE_MEMORY_BUDGET,
    CLOSE_NORMAL,
)
from livesvc.gateway._commands import (
    Attach,
    ClientSent,
    Close,
    Command,
    Detach,
    Drain,
    FromClient,
    HandleCommitted,
    UpstreamArrived,
    UpstreamGone,
)
from livesvc.gateway._handle_offer import HandleOffer
from livesvc.gateway._link import ClientLink
from livesvc.gateway._metering import SessionMetering
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
    ToolCall,
    ToolCallCancellation,
    encode_server,
)

__all__ = [
    "Attach",
    "ClientLink",
    "Close",
    "Detach",
    "FromClient",
    "GatewaySession",
    "SessionSettings",
]

log = get_logger(__name__)

_FINISH_TIMEOUT = 2.0
# How long a client message may wait for room upstream once its client has left.
_SEND_GRACE = 5.0

# Close codes the gateway uses towards clients.

# Seconds a new session waits for its first client to attach.
FIRST_ATTACH_WINDOW = 10.0


class SessionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Per-session knobs, from the config the session started with."""

    grace_period: float = 60.0
    handle_ttl: float = 7200.0
    client_send_timeout: float = 10.0  # a client that reads nothing for this long is closed
    buffer_frames: int = 512  # server frames kept while no client is attached
    buffer_bytes: int = 8 * 1024 * 1024
    # The actor's mailbox: commands, client notes, upstream events, committed handles.
    # The actor never waits on anything but it, so it stays near empty; a full one
    # means the session cannot keep up, and it ends (1011) rather than block a reader.
    inbox_size: int = 4096


class GatewaySession:
    """The session actor. Build it, start it under the sessions supervisor, then attach clients.

    One task, its loop (``_commands``), changes its state. Every other task
    posts to its mailbox (see :mod:`livesvc.gateway._commands`) and never
    waits: the client's reading task sends its messages upstream itself (the
    upstream's own outbox is the mailbox there) and posts what they change
    here; the upstream's reader posts each event; the store writer posts
    committed handles. The actor hands frames to the attached client's link,
    whose one writer drains them to the socket.

    Example::

        session = GatewaySession(record=record, request=request, ...)
        await sessions.start_child(ChildSpec(id=session.id, start=session.run,
                                             restart=Restart.TEMPORARY))
        await session.inbox_send.send(Attach(link=link, resumed=False))
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
        metering: SessionMetering | None = None,
    ) -> None:
        self.id = record.session_id
        self.metering = metering  # usage and budget (None: metering is off)
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
        # The handle-offer protocol: a client holds a daemon handle only once durable.
        self._offers = HandleOffer(
            link=lambda: self.link,
            persist=self._persist,
            post=self._mail,
            deliver=self._send_update,
            handle_ttl=settings.handle_ttl,
            wall_clock=wall_clock,
        )
        self._settings = settings
        self._daemon_tools = daemon_tools
        self._wall = wall_clock
        self._on_end = on_end
        self.inbox_send, self._inbox = trio.open_memory_channel[Command](settings.inbox_size)
        self._accepting = True  # client messages are taken until the session ends
        self._scope: trio.CancelScope | None = None  # the session's tasks, once started
        self._nursery: trio.Nursery | None = None
        self._ended_early = False
        # Label lookups once, not per message.
        self._in_messages = metrics.messages_relayed.labels(direction="client_to_upstream")
        self._in_bytes = metrics.bytes_relayed.labels(direction="client_to_upstream")
        self._out_messages = metrics.messages_relayed.labels(direction="upstream_to_client")
        self._out_bytes = metrics.bytes_relayed.labels(direction="upstream_to_client")
        # State shared by the session's own tasks.
        self.status = "starting"
        self.link: ClientLink | None = None
        self._buffer: deque[bytes] = deque()
        self._buffer_bytes = 0
        self._links: trio.Nursery | None = None  # where the client links' writers run
        self._audio_dropped_reported = 0
        # A new session is created for a client that attaches at once; until it
        # does, the grace period runs as for any detached session, but never less
        # than FIRST_ATTACH_WINDOW (a grace period of 0 must not end it unborn).
        self._grace_deadline = trio.current_time() + max(settings.grace_period, FIRST_ATTACH_WINDOW)
        self._client_calls: set[str] = set()
        self._awaiting_turn_since: float | None = None
        self._generating = False
        self._idle = trio.Event()
        self._new_upstream_handle = trio.Event()  # set (and replaced) on each new upstream handle
        self._started_at = trio.current_time()
        self._upstream: Upstream | None = None
        self._draining = False
        self._end_reason = "closed"  # why the session ended, for the summary line and metrics
        self.upstream_reconnects = 0
        self.context_losses = 0  # the upstream lost the conversation (any outcome)
        self.last_context_loss: str | None = None  # failed, reseeded or continued
        self.upstream_resumes_by_reason: dict[str, int] = {}
        self.last_upstream_close_code: int | None = None
        self.last_close_code: int | None = None
        self.last_close_reason: str | None = None
        self.ended = trio.Event()

    # -- views ----------------------------------------------------------------

    @property
    def principal(self) -> str:
        return self.record.principal

    @property
    def busy(self) -> bool:
        """A turn is running: the client asked, the model is answering (or, on Gemini 3.8,
        still working in the background), or a client tool is pending."""
        return self._awaiting_turn_since is not None or self._generating or bool(self._client_calls)

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
                async with trio.open_nursery() as links:
                    self._links = links  # the client links' writers
                    await self._serve(ctx, task_status)
                    # The last link was asked to close: its writer writes what is
                    # queued first, within the client send timeout.
                    links.cancel_scope.deadline = (
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
                    self._nursery = nursery
                    if self._ended_early:
                        nursery.cancel_scope.cancel()
                    nursery.start_soon(self._from_upstream, upstream)
                    nursery.start_soon(self._commands, nursery.cancel_scope)
                    if ctx is not None:
                        nursery.start_soon(self._drain_on_stop, ctx)
            finally:
                self._nursery = None
                # Bounded: when the whole daemon is cancelled, the store may be gone
                # already; the record then stays "active" and is restorable.
                with trio.move_on_after(_FINISH_TIMEOUT, shield=True):
                    await self._finish(self._end_reason)

    async def _finish(self, reason: str) -> None:
        # A drained session stays resumable (after a restart); any other end is final.
        self.status = "detached" if reason == "drained" else "closed"
        self._accepting = False
        if self.link is not None:
            code = self.last_close_code or (
                CLOSE_GOING_AWAY if reason == "drained" else CLOSE_NORMAL
            )
            self.link.request_close(code, self.last_close_reason or _REASONS.get(reason, reason))
        self._metrics.sessions_closed.labels(reason=reason).inc()
        usage = self.metering.finish() if self.metering is not None else {}
        log.info(
            "gateway.session_closed",
            usage=usage,
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

    # -- commands ---------------------------------------------------------------

    async def _commands(self, scope: trio.CancelScope) -> None:
        """The actor's loop: the one task that changes the session's state."""
        while True:
            # Detached: the grace period is a deadline on waiting for the next command.
            with trio.move_on_at(self._grace_deadline) as grace:
                command = await self._inbox.receive()
            if grace.cancelled_caught:
                log.info("session.grace_expired", grace_seconds=self._settings.grace_period)
                self._end_reason = "grace_expired"
                scope.cancel()
                return
            match command:
                case Attach(link=link, resumed=resumed):
                    await self._attach(link, resumed=resumed)
                case Detach(link=link, code=code):
                    if link is self.link:
                        await self._detach(code, scope, resumable=link.wants_resumption)
                case Close(reason=reason, code=code):
                    self.last_close_code, self.last_close_reason = code, reason
                    self._end_reason = "admin"
                    scope.cancel()
                    return
                case UpstreamArrived(event=event):
                    await self._on_upstream_event(event)
                case ClientSent(message=message):
                    self._note_client_message(message)
                case HandleCommitted(link=link, ticket=ticket):
                    self._offers.committed(link, ticket)
                case UpstreamGone():
                    # The upstream ended without a Failed event: it was closed under us.
                    if self._end_reason != "upstream_failed":
                        self._end_reason = "upstream_closed"
                    scope.cancel()
                    return
                case Drain():
                    self._draining = True
                    log.info(
                        "session.draining", busy=self.busy, client_attached=self.link is not None
                    )
            if self._draining and (not self.busy or self.link is None):
                # At a turn boundary (or with nobody to finish it for): end, resumable.
                self.last_close_code = CLOSE_GOING_AWAY
                self.last_close_reason = "Server is restarting; resume with your session handle."
                self._end_reason = "drained"
                scope.cancel()
                return

    def _take_back(self, link: ClientLink) -> None:
        # What its writer did not get to write is older than anything kept since.
        for frame in reversed(link.take_unsent()):
            self._keep(frame, oldest=True)
        link.request_close(CLOSE_NORMAL, "")  # its writer ends (a no-op if it is closing)

    async def _attach(self, link: ClientLink, *, resumed: bool) -> None:
        if self.link is not None:
            self.link.request_close(CLOSE_GOING_AWAY, "Session resumed by another connection.")
            self._take_back(self.link)  # for the new client
        self._grace_deadline = math.inf
        self.link = link
        self.status = "active"
        changes: dict[str, Any] = {"status": "active", "updated_at": self._wall()}
        if resumed:
            changes["client_resumes"] = self.record.client_resumes + 1
        self._persist(**changes)
        log.info("session.client_attached", resumed=resumed, buffered=len(self._buffer))
        self._audio_dropped_reported = 0
        link.on_too_slow = self._client_too_slow
        assert self._links is not None
        self._links.start_soon(
            functools.partial(link.write_frames, per_frame=self._settings.client_send_timeout)
        )
        # Queued without a wait, so nothing overtakes: setupComplete, then what the
        # client missed, then what comes next.
        self._deliver(
            encode_server(ServerMessage(setup_complete=SetupComplete(session_id=self.id)))
        )
        while self._buffer and self.link is link and not link.closing.is_set():
            frame = self._buffer.popleft()
            self._buffer_bytes -= len(frame)
            self._deliver(frame, oldest=True)
        if (
            not resumed
            and self.link is link
            and link.wants_resumption
            and self.record.upstream_handle
        ):
            # Resumable already (the upstream's handle came before the new client
            # did): it need not wait for the next turn's update to hold a handle.
            self._offers.offer(updated_at=self._wall())

    async def _detach(self, code: int | None, scope: trio.CancelScope, *, resumable: bool) -> None:
        link = self.link
        self.link = None
        if link is not None:
            self._take_back(link)
        self.status = "detached"
        self._persist(status="detached", updated_at=self._wall())
        log.info("session.client_detached", code=code, grace_seconds=self._settings.grace_period)
        if self._draining:
            self._end_reason = "drained"
            scope.cancel()
            return
        if not resumable and code == CLOSE_NORMAL:
            # A client that never asked for resumption has no handle to come back
            # with, and it said goodbye: holding its upstream and its slots for the
            # grace period would only block its key's next sessions.
            self._end_reason = "client_closed"
            scope.cancel()
            return
        self._grace_deadline = trio.current_time() + self._settings.grace_period

    # -- client -> upstream -------------------------------------------------------

    async def send_to_upstream(self, item: FromClient) -> None:
        """Hand one client message to the upstream, in the caller's task (the
        client's reading task: no pump task or queue in between).

        Raises:
            trio.ClosedResourceError: the session has ended.
        """
        upstream = self._upstream
        if upstream is None or not self._accepting:
            raise trio.ClosedResourceError("the session has ended")
        self._mail(ClientSent(message=item.message))  # the actor updates its state
        # The client may leave mid-send (its task is cancelled): a message read
        # from it is still handed over, as a queue in between would have done.
        with trio.move_on_after(_SEND_GRACE, shield=True) as scope:
            await upstream.send(item.message)
        if scope.cancelled_caught:
            self._metrics.errors.labels(kind="upstream_send_timeout").inc()
            log.warning("session.upstream_send_timeout", seconds=_SEND_GRACE)
            return
        self._in_messages.inc()
        self._in_bytes.inc(item.size)

    def _note_client_message(self, message: ClientMessage) -> None:
        if self.metering is not None:
            self.metering.client_message(message)
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
                    self._client_calls.discard(response.id)
            self._check_idle()

    # -- upstream -> client ---------------------------------------------------------

    async def _from_upstream(self, upstream: Upstream) -> None:
        # With ``deliver`` (the daemon's upstream), events come through it and this
        # only ends with the upstream; a plain upstream's events come here.
        async for event in upstream.events():
            self._mail(UpstreamArrived(event=event))
        self._mail(UpstreamGone())

    def _end(self) -> None:
        if self._scope is None:
            self._ended_early = True  # before the session's tasks started: they end at once
        else:
            self._scope.cancel()

    async def _deliver_pushed(self, event: UpstreamEvent) -> None:
        """The upstream's reader hands an event over: into the mailbox, never waiting."""
        self._mail(UpstreamArrived(event=event))

    def _mail(self, command: Command) -> None:
        """Post to this actor from another task (a reader, the store writer): never waits."""
        try:
            self.inbox_send.send_nowait(command)
        except trio.WouldBlock:
            # The actor cannot keep up (it never waits on clients or the store): end
            # the session with a clear close rather than hold up a reader.
            self._metrics.errors.labels(kind="session_inbox_overflow").inc()
            log.error("session.inbox_overflow", capacity=self._settings.inbox_size)
            self.last_close_code = CLOSE_INTERNAL
            self.last_close_reason = "Internal error encountered."
            self._end_reason = "overloaded"
            self._end()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the session has ended; nobody takes it

    async def _on_upstream_event(self, event: UpstreamEvent) -> None:
        match event:
            case Frame(message=message):
                await self._on_frame(message)
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
            case ContextLost(outcome=outcome, reason=reason, restored=restored):
                self.context_losses += 1
                self.last_context_loss = outcome
                self._metrics.context_lost.labels(outcome=outcome).inc()
                log.warning(
                    "session.context_lost", outcome=outcome, reason=reason, restored=restored
                )
            case Failed(code=code, reason=reason):
                self._metrics.errors.labels(kind="upstream_failed").inc()
                if code is not None:
                    self.last_upstream_close_code = code
                self.last_close_code = code if code is not None else CLOSE_INTERNAL
                self.last_close_reason = reason
                self._end_reason = "upstream_failed"
                log.warning("session.upstream_failed", code=code, reason=reason)
                self._end()
                return

    async def _on_frame(self, message: ServerMessage) -> None:
        if self.metering is not None:
            self.metering.server_message(message)
        forwarded = self._rewrite(message)
        if forwarded is None:
            return
        frame = encode_server(forwarded)
        self._out_messages.inc()
        self._out_bytes.inc(len(frame))
        self._deliver(frame, droppable=_is_model_audio(forwarded))
        # Only now: a drain waiting for the turn to end must not cut this frame off.
        self._check_idle()
        content = message.server_content
        if (
            self.metering is not None
            and content is not None
            and content.turn_complete
            and content.interaction_status != "IN_PROGRESS"
        ):
            spent = self.metering.turn_ended()
            if spent is not None:  # the key's budget is spent and its grace over
                self.last_close_code = CLOSE_BUDGET_EXHAUSTED
                self.last_close_reason = spent
                self._end_reason = "budget"
                log.warning("session.budget_closed", reason=spent)
                self._end()

    def _rewrite(self, message: ServerMessage) -> ServerMessage | None:
        """The frame as the client may see it, or ``None`` when nothing of it is for the client."""
        if (
            message.go_away is None
            and message.setup_complete is None
            and message.session_resumption_update is None
            and message.tool_call is None
            and message.tool_call_cancellation is None
        ):
            # Most frames (model output, audio) pass as they are.
            if message.server_content is not None:
                self._note_server_content(message.server_content)
            return message
        changes: dict[str, Any] = {"go_away": None, "setup_complete": None}
        update = message.session_resumption_update
        if update is not None:
            changes["session_resumption_update"] = self._handle_update(update)
        if message.tool_call is not None:
            calls = [
                c
                for c in message.tool_call.function_calls or ()
                if c.name not in self._daemon_tools
            ]
            for call in calls:
                if call.id is not None:
                    self._client_calls.add(call.id)
                self._metrics.tool_calls.labels(
                    tool="client", runner="client", outcome="forwarded"
                ).inc()
            changes["tool_call"] = ToolCall(function_calls=calls) if calls else None
        if message.tool_call_cancellation is not None:
            ids = [i for i in message.tool_call_cancellation.ids or () if i in self._client_calls]
            self._client_calls.difference_update(ids)
            changes["tool_call_cancellation"] = ToolCallCancellation(ids=ids) if ids else None
        content = message.server_content
        if content is not None:
            self._note_server_content(content)
        rewritten = msgspec.structs.replace(message, **changes)
        if all(getattr(rewritten, f) is None for f in _SERVER_FIELDS):
            return None
        return rewritten

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
        forwarded, stored = self._offers.upstream_update(update)
        if stored:
            self._new_upstream_handle.set()
            self._new_upstream_handle = trio.Event()
        return forwarded

    def _send_update(self, frame: bytes) -> None:
        self._out_messages.inc()
        self._out_bytes.inc(len(frame))
        self._deliver(frame)

    def _keep(self, frame: bytes, *, oldest: bool = False) -> None:
        if oldest:
            self._buffer.appendleft(frame)
        else:
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

    def _client_too_slow(self, why: str) -> None:
        # The link closes itself (4003); the session stays for the client's resume.
        self._metrics.errors.labels(kind="client_too_slow").inc()
        log.warning("session.client_too_slow", why=why)

    def _deliver(self, frame: bytes, *, oldest: bool = False, droppable: bool = False) -> None:
        """Hand ``frame`` to the attached client's writer, or keep it for the next client.

        Never waits (the upstream's reader calls it). A frame the link does not
        take is kept: at the buffer's front when it is the ``oldest`` (taken
        from there), else at its end.
        """
        link = self.link
        if link is None or not link.offer(frame, droppable=droppable):
            self._keep(frame, oldest=oldest)
            return
        if link.audio_dropped > self._audio_dropped_reported:
            self._metrics.media_dropped.labels(kind="client_audio").inc(
                link.audio_dropped - self._audio_dropped_reported
            )
            self._audio_dropped_reported = link.audio_dropped

    # -- drain ----------------------------------------------------------------------

    def _check_idle(self) -> None:
        if not self.busy:
            self._idle.set()
            self._idle = trio.Event()

    async def _drain_on_stop(self, ctx: Any) -> None:
        await ctx.wait_stop_requested()
        self._mail(Drain())


_SERVER_FIELDS = tuple(f for f in ServerMessage.__struct_fields__ if not f.endswith("_"))
_REASONS = {
    "grace_expired": "Session ended: no client came back in time.",
    "admin": "Session closed by the operator.",
    "upstream_closed": "Upstream session ended.",
    "closed": "Session closed.",
    "client_closed": "Session ended: its client closed it and cannot resume it.",
}


def _is_model_audio(message: ServerMessage) -> bool:
    """A frame that is only model audio: the one kind a slow client may lose (counted)."""
    content = message.server_content
    if content is None or content.model_turn is None or content.turn_complete:
        return False
    parts = content.model_turn.parts or ()
    return bool(parts) and all(p.inline_data is not None and p.text is None for p in parts)
