"""The connection actor: owns the upstream WebSocket, one reader and one writer.

Its life alternates between two phases:

- **down**: no socket. It waits for a ``Dial`` from the reconnector while
  draining the outbox: realtime media goes to the session's bounded buffer,
  ledger entries stay in the ledger (they are replayed on the next connection).
- **up**: it dials, sends ``setup``, waits for ``setupComplete``, replays what the
  resumption handle does not cover (ledger entries in order, then buffered
  media), and then runs a reader (decode, hand to the session core) and a writer
  (the outbox) until the server closes, the pinger reports a dead link, or the
  reconnector asks for a graceful close (``goAway`` handover, owner's close).
  While it is up, a sender whose message has nothing queued before it writes
  it itself (``SessionCore.write``), saving the hand-off to the writer task;
  the writer takes everything else, so the wire order is the order of sends.

Frames are decoded here and nowhere else. Network failures become a ``LinkDown``
event with the close code classified; anything else is a bug and crashes the
actor, which its supervisor restarts (the session then resumes).
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import trio
import trio_websocket
import wsproto.utilities

from livesvc.auth import AuthError, Backend, LiveEndpoint, build_endpoint
from livesvc.close_codes import CLOSE_GOING_AWAY, CLOSE_NORMAL
from livesvc.logs import get_logger
from livesvc.session._close_codes import CloseClass, classify_close, classify_http_status
from livesvc.session._core import SessionCore
from livesvc.session._dial import connect_websocket_url
from livesvc.session._envelopes import (
    CloseLink,
    ConnCommand,
    Dial,
    DropLink,
    Link,
    LinkDown,
    LinkEnd,
    LinkPhase,
    LinkUp,
    Outbound,
    WriteEntry,
    WriteRealtime,
)
from livesvc.session._errors import LiveSessionError
from livesvc.session._outbound import realtime_envelope
from livesvc.wire import (
    ClientContent,
    ClientMessage,
    WireDecodeError,
    decode_server,
    encode_client,
)
from supervisors import ChildContext

__all__ = ["ConnectionActor", "DialFunction", "ProtocolError", "default_dial"]

log = get_logger(__name__)

DialFunction = Callable[..., Awaitable[Any]]

# trio-websocket stops reading the socket (and answering pings) when its queue
# is full; a roomy queue keeps pongs flowing while the reader is busy.
_MESSAGE_QUEUE = 64


class ProtocolError(LiveSessionError):
    """The server sent a frame that is not a Live API message (reported, skipped)."""


async def default_dial(
    nursery: trio.Nursery,
    endpoint: LiveEndpoint,
    *,
    ssl_context: ssl.SSLContext | None,
    max_message_size: int,
) -> trio_websocket.WebSocketConnection:
    """Open a WebSocket with trio-websocket (``ws://`` or ``wss://``)."""
    return await connect_websocket_url(
        nursery,
        endpoint.url,
        ssl_context=ssl_context,
        extra_headers=endpoint.header_bytes(),
        message_queue_size=_MESSAGE_QUEUE,
        max_message_size=max_message_size,
    )


# On a goAway handover the client is waiting: the old socket gets this long to finish
# its close handshake, then it is aborted (TCP closed) and the new one is dialled.
# Google needs the old socket closed before a resume, not a completed handshake; a
# peer that never completes it must not stretch the gap to close_timeout. (Our own
# stall, a write on the closing socket ending the link mid-handshake, is fixed in
# _write_envelope; this cap is for the peer.)
HANDOVER_CLOSE_WAIT = 0.25


async def _abort(ws: Any) -> None:
    # A cancelled, shielded scope: aclose() gives up on the close handshake at
    # its first checkpoint and, in its finally, closes the TCP stream. A
    # black-holed socket therefore cannot hang us.
    with trio.CancelScope(shield=True) as scope:
        scope.cancel()
        await ws.aclose(CLOSE_GOING_AWAY, "going away")


# At most this many queued envelopes are taken per wake-up of the writer.
_WRITE_BATCH = 64


class _LinkState:
    """One connection attempt, as its tasks see it."""

    def __init__(self, generation: int, resumed_with: str | None) -> None:
        self.generation = generation
        self.resumed_with = resumed_with
        self.ws: Any = None
        self.up = False
        self.frames = 0  # client frames written after setup (the setup is frame 0)
        self.end: LinkEnd | None = None
        self.done = trio.Event()

    def finish(self, end: LinkEnd) -> None:
        if self.end is None:
            self.end = end
        self.done.set()


class ConnectionActor:
    """See the module docstring.

    Args:
        core: the session's state and mailboxes.
        dial: opens the socket (``default_dial``; tests inject memory streams).
    """

    def __init__(self, core: SessionCore, *, dial: DialFunction | None = None) -> None:
        self._core = core
        self._dial = dial or core.prepared.config.dial or default_dial

    async def run(
        self, ctx: ChildContext, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        core = self._core
        if core.link_generation is not None or core.link_phase is not LinkPhase.DOWN:
            # The previous incarnation died with a connection: it is gone now.
            stale = core.link_generation or core.generation
            await core.link_down(
                stale,
                LinkEnd(reason="connection actor restarted", close_class=CloseClass.TRANSIENT),
            )
            core.link_phase = LinkPhase.DOWN
        with core.control.receiver() as commands, core.outbox.receiver() as frames:
            task_status.started()
            with ctx.cancel_on_stop():
                while True:
                    dial = await self._wait_for_dial(commands, frames)
                    await self._connect(dial, commands, frames)

    # -- down ---------------------------------------------------------------------

    async def _wait_for_dial(
        self,
        commands: trio.MemoryReceiveChannel[ConnCommand],
        frames: trio.MemoryReceiveChannel[Outbound],
    ) -> Dial:
        dial: Dial | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._buffer_while_down, frames)
            async for command in commands:
                if isinstance(command, Dial):
                    dial = command
                    break
                log.debug("connection.stale_command", command=type(command).__name__)
            nursery.cancel_scope.cancel()
        if dial is None:
            raise trio.EndOfChannel("control mailbox closed")
        return dial

    async def _buffer_while_down(self, frames: trio.MemoryReceiveChannel[Outbound]) -> None:
        core = self._core
        async for envelope in frames:
            if isinstance(envelope, WriteRealtime) and not core.closing:
                core.media.push(envelope.message, kind=envelope.kind, seconds=envelope.seconds)
            # WriteEntry: the ledger keeps the message; the next connection replays it.

    # -- up -------------------------------------------------------------------------

    async def _connect(
        self,
        dial: Dial,
        commands: trio.MemoryReceiveChannel[ConnCommand],
        frames: trio.MemoryReceiveChannel[Outbound],
    ) -> None:
        core = self._core
        generation, setup = core.begin_dial(
            handle=dial.handle, fresh=dial.fresh, reason=dial.reason
        )
        core.link_phase = LinkPhase.DIALING
        state = _LinkState(generation, dial.handle)
        log.info("connection.dialing", generation=generation, resuming=dial.handle is not None)
        try:
            end = await self._run_link(state, encode_client(setup).decode(), commands, frames)
        finally:
            core.link = None
        core.link_phase = LinkPhase.DOWN
        await core.link_down(generation, end)
        down = LinkDown(generation=generation, end=end, at=trio.current_time())
        core.pinger_events.send_nowait(down)
        await core.link_events.send(down)

    async def _run_link(
        self,
        state: _LinkState,
        setup_frame: str,
        commands: trio.MemoryReceiveChannel[ConnCommand],
        frames: trio.MemoryReceiveChannel[Outbound],
    ) -> LinkEnd:
        end: LinkEnd | None = None
        try:
            async with trio.open_nursery() as nursery:
                await self._link_body(nursery, state, setup_frame, commands, frames)
                nursery.cancel_scope.cancel()
        except* trio_websocket.ConnectionRejected as group:
            status = _first(group).status_code
            end = self._ended(
                state,
                status,
                f"handshake rejected with HTTP {status}",
                classify_http_status(status),
            )
        except* trio_websocket.ConnectionClosed as group:
            reason = _first(group).reason
            code = int(reason.code) if reason is not None else None
            text = (reason.reason or reason.name) if reason is not None else "closed"
            end = self._ended(state, code, text, classify_close(code, text))
        except* AuthError as group:
            error = _first(group)
            close_class = CloseClass.TRANSIENT if error.retryable else CloseClass.AUTH
            end = self._ended(state, None, str(error), close_class)
        except* trio.TooSlowError:
            end = self._ended(
                state, None, "no setupComplete within the connect timeout", CloseClass.TRANSIENT
            )
        except* wsproto.utilities.LocalProtocolError as group:
            # trio-websocket's reader can trip over a ping that arrives while we
            # close (it answers with a pong wsproto refuses): the link is over.
            end = self._ended(state, None, f"protocol error: {_first(group)}", CloseClass.TRANSIENT)
        except* (trio_websocket.HandshakeError, OSError, trio.BrokenResourceError) as group:
            end = self._ended(
                state, None, f"network error: {type(_first(group)).__name__}", CloseClass.TRANSIENT
            )
        finally:
            if state.ws is not None:
                await _abort(state.ws)
        if (
            end is None
            and state.end is None
            and state.ws is not None
            and state.ws.closed is not None
        ):
            # The writer saw the close before the reader could record it.
            closed = state.ws.closed
            text = closed.reason or closed.name
            end = self._ended(state, int(closed.code), text, classify_close(int(closed.code), text))
        return end or state.end or LinkEnd(reason="closed", close_class=CloseClass.TRANSIENT)

    def _ended(
        self, state: _LinkState, code: int | None, reason: str, close_class: CloseClass
    ) -> LinkEnd:
        if state.end is not None:
            return state.end  # the session ended it on purpose; the close that followed is expected
        return LinkEnd(
            code=code,
            reason=reason,
            close_class=close_class,
            during_setup=not state.up,
            resumed_with=state.resumed_with,
        )

    async def _link_body(
        self,
        nursery: trio.Nursery,
        state: _LinkState,
        setup_frame: str,
        commands: trio.MemoryReceiveChannel[ConnCommand],
        frames: trio.MemoryReceiveChannel[Outbound],
    ) -> None:
        core = self._core
        config = core.prepared.config
        with trio.fail_after(config.reconnect.connect_timeout):
            endpoint = await build_endpoint(
                core.prepared.auth, base_url=config.base_url, api_version=config.api_version
            )
            log.debug("connection.endpoint", url=endpoint.redacted_url, generation=state.generation)
            state.ws = await self._dial(
                nursery,
                endpoint,
                ssl_context=config.ssl_context,
                max_message_size=config.max_message_size,
            )
            await state.ws.send_message(setup_frame)
            session_id = await self._await_setup_complete(state)
        link = Link(state.generation, state.ws, trio.current_time())
        core.link = link
        state.up = True
        await core.link_up(state.generation, session_id=session_id, resumed_with=state.resumed_with)
        core.link_phase = LinkPhase.UP
        up = LinkUp(generation=state.generation, link=link, at=trio.current_time())
        core.pinger_events.send_nowait(up)
        await core.link_events.send(up)
        await self._replay(state)
        nursery.start_soon(self._reader, state, link)
        nursery.start_soon(self._writer, state, frames)
        nursery.start_soon(self._control, state, commands)
        await state.done.wait()

    async def _await_setup_complete(self, state: _LinkState) -> str | None:
        while True:
            msg = await self._receive(state)
            if msg is None:
                continue
            if msg.setup_complete is not None:
                return msg.setup_complete.session_id
            # Anything before setupComplete still reaches the owner (the seeds do the same).
            await self._core.on_server_message(msg, state.generation)

    async def _receive(self, state: _LinkState) -> Any:
        raw = await state.ws.get_message()
        try:
            return decode_server(raw)
        except WireDecodeError as exc:
            log.warning(
                "connection.protocol_error",
                generation=state.generation,
                path=exc.path,
                error=exc.reason,
            )
            self._core.report_error(ProtocolError(f"undecodable server frame: {exc}"))
            return None

    async def _reader(self, state: _LinkState, link: Link) -> None:
        try:
            while True:
                msg = await self._receive(state)
                link.last_received = trio.current_time()
                if msg is not None:
                    await self._core.on_server_message(msg, state.generation)
        except trio_websocket.ConnectionClosed as exc:
            if state.end is not None:
                # We are closing: the control task finishes the close handshake,
                # which needs trio-websocket's reader (in this nursery) alive.
                return
            reason = exc.reason
            code = int(reason.code) if reason is not None else None
            text = (reason.reason or reason.name) if reason is not None else "closed"
            state.finish(self._ended(state, code, text, classify_close(code, text)))

    async def _write(self, state: _LinkState, message: ClientMessage) -> int:
        await state.ws.send_message(encode_client(message).decode())
        state.frames += 1
        return state.frames

    async def _replay(self, state: _LinkState) -> None:
        core = self._core
        seed = core.take_seed()
        if seed:
            # Gemini API: historyConfig is set, turnComplete ends the history (no
            # reply). Vertex AI: turns without turnComplete are context for the next.
            complete = core.prepared.backend is not Backend.VERTEX
            await self._write(
                state,
                ClientMessage(client_content=ClientContent(turns=seed, turn_complete=complete)),
            )
            log.info("connection.reseeded", generation=state.generation, turns=len(seed))
        replay = core.ledger.unwritten(state.generation)
        for entry in replay:
            index = await self._write(state, entry.message)
            core.record_written(entry, generation=state.generation, conn_index=index)
        buffered = core.media.drain()
        if replay or buffered:
            log.info(
                "connection.replayed",
                generation=state.generation,
                ledger=len(replay),
                media=len(buffered),
            )
        for i, message in enumerate(buffered):
            try:
                await self._write(state, message)
            except trio_websocket.ConnectionClosed:
                for rest in buffered[i:]:  # back to the buffer for the next connection
                    envelope = realtime_envelope(rest)
                    core.media.push(rest, kind=envelope.kind, seconds=envelope.seconds)
                raise
            core.realtime_written(message)

    async def _writer(self, state: _LinkState, frames: trio.MemoryReceiveChannel[Outbound]) -> None:
        """The one writer of the socket: drains what is queued in batches.

        A busy link pays one wake-up for many frames: whatever queued while the
        last batch was written is taken at once. What a batch does not write (the
        link ended, or this task is cancelled) is kept: ledger entries stay in the
        ledger, media goes to the bounded buffer.
        """
        batch: list[Outbound] = []
        try:
            while True:
                try:
                    batch.append(await frames.receive())
                except trio.EndOfChannel:
                    return
                while len(batch) < _WRITE_BATCH:
                    try:
                        batch.append(frames.receive_nowait())
                    except trio.WouldBlock:
                        break
                while batch:
                    written = await self._write_envelope(state, batch[0])
                    del batch[0]
                    if not written:
                        return
        finally:
            self._keep_unwritten(batch)

    def _keep_unwritten(self, batch: list[Outbound]) -> None:
        for envelope in batch:
            if isinstance(envelope, WriteRealtime) and not self._core.closing:
                self._core.media.push(
                    envelope.message, kind=envelope.kind, seconds=envelope.seconds
                )

    async def _write_envelope(self, state: _LinkState, envelope: Outbound) -> bool:
        """Write one envelope; ``False`` once the connection is closed or closing.

        What is not written is kept: a ledger entry stays in the ledger (the next
        connection replays it), media goes to the bounded buffer.
        """
        core = self._core
        if isinstance(envelope, WriteEntry):
            entry = core.ledger.get(envelope.seq)
            if entry is None or not core.ledger.needs_write(envelope.seq, state.generation):
                return True
            if state.end is not None:
                return False  # closing on purpose: not on this socket
            try:
                index = await self._write(state, entry.message)
            except trio_websocket.ConnectionClosed:
                self._write_refused(state)
                return False
            core.record_written(entry, generation=state.generation, conn_index=index)
        elif isinstance(envelope, WriteRealtime):
            if state.end is None:
                try:
                    await self._write(state, envelope.message)
                except trio_websocket.ConnectionClosed:
                    self._write_refused(state)
                else:
                    core.realtime_written(envelope.message)
                    return True
            core.media.push(envelope.message, kind=envelope.kind, seconds=envelope.seconds)
            return False
        return True

    def _write_refused(self, state: _LinkState) -> None:
        # The server closed: the reader records why, and the link ends. During our
        # own close (a handover) the control task ends it once the close handshake
        # is done: ending it here would cancel trio-websocket's reader in the middle
        # of that handshake, and the close would wait out its whole timeout.
        if state.end is None:
            state.done.set()

    async def _control(
        self, state: _LinkState, commands: trio.MemoryReceiveChannel[ConnCommand]
    ) -> None:
        close_timeout = self._core.prepared.config.reconnect.close_timeout
        async for command in commands:
            if isinstance(command, Dial):
                log.debug(
                    "connection.dial_ignored",
                    generation=state.generation,
                    reason="already connected",
                )
            elif command.generation != state.generation:
                log.debug(
                    "connection.stale_command",
                    command=type(command).__name__,
                    generation=command.generation,
                )
            elif isinstance(command, DropLink):
                log.warning(
                    "connection.dropped", generation=state.generation, reason=command.reason
                )
                state.finish(
                    LinkEnd(
                        reason=command.reason,
                        close_class=CloseClass.TRANSIENT,
                        resumed_with=state.resumed_with,
                    )
                )
                return
            elif isinstance(command, CloseLink):
                state.end = LinkEnd(
                    code=CLOSE_NORMAL,
                    reason=command.reason,
                    handover=command.handover,
                    resumed_with=state.resumed_with,
                )
                wait = (
                    min(close_timeout, HANDOVER_CLOSE_WAIT) if command.handover else close_timeout
                )
                with trio.move_on_after(wait, shield=True):
                    await state.ws.aclose(CLOSE_NORMAL, command.reason)
                state.done.set()  # _run_link's finally aborts the socket if still open
                return


def _first(group: BaseExceptionGroup[Any]) -> Any:
    # The first leaf: a link ends one way, whatever else failed alongside.
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
