"""The daemon's upstream: a session from the session library, behind the gateway's Upstream.

Each gateway session opens one library session (``livesvc.open_session``) with
the merged setup, the profile's Python tools, and the daemon's credential. The
library reconnects, resumes, hands over on ``goAway`` and replays its ledger;
this adapter turns its events into the gateway's (:class:`Frame`,
:class:`Reconnecting`, :class:`Reconnected`, :class:`Failed`, ...), and turns a
failure to open into :class:`UpstreamUnavailable` with the close code the
client should get.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import trio

from livesvc.auth import ApiKey, Auth, Backend, VertexAI
from livesvc.close_codes import CLOSE_CONTEXT_LOST, CLOSE_INTERNAL, CLOSE_INVALID_PAYLOAD
from livesvc.config import Config, SecretUnavailable, read_secret
from livesvc.gateway._upstream import (
    ContextLost as UpstreamContextLost,
)
from livesvc.gateway._upstream import (
    Failed,
    Frame,
    MediaDropped,
    Reconnected,
    Reconnecting,
    SendRefused,
    ToolFinished,
    UpstreamEvent,
    UpstreamFactory,
    UpstreamRequest,
    UpstreamUnavailable,
)
from livesvc.logs import get_logger
from livesvc.session import (
    CloseClass,
    Closed,
    Connected,
    ContextLost,
    ContextLostError,
    Disconnected,
    GoAwayReceived,
    LedgerFull,
    LiveSessionError,
    MessageReceived,
    Session,
    SessionConfigError,
    SessionEvent,
    SessionFailed,
    SessionStatus,
    ToolCallFinished,
    config_from_setup,
    open_session,
)
from livesvc.tools import ToolSpec
from livesvc.wire import ClientMessage, Setup, Tool

if TYPE_CHECKING:
    from livesvc.emulator import Emulator
    from livesvc.metrics import DaemonMetrics


class UpstreamHost(Protocol):
    """What the upstream factory needs of its daemon, read at each session's start."""

    @property
    def config(self) -> Config: ...

    @property
    def emulator(self) -> Emulator | None: ...

    @property
    def emulator_key(self) -> str: ...

    @property
    def metrics(self) -> DaemonMetrics: ...


__all__ = ["SessionUpstream", "library_upstream"]

log = get_logger(__name__)

_EVENT_BUFFER = 256


class SessionUpstream:
    """A library :class:`~livesvc.session.Session` seen as the gateway's ``Upstream``."""

    def __init__(
        self,
        daemon_tools: frozenset[str],
        deliver: Callable[[UpstreamEvent], Awaitable[None]] | None = None,
    ) -> None:
        self._session: Session | None = None  # set once open_session yields it
        self._daemon_tools = daemon_tools
        self._deliver = deliver
        self._push, self._events = trio.open_memory_channel[UpstreamEvent](_EVENT_BUFFER)
        self._go_away = False
        self._down_at: float | None = None
        self._down_reason = "drop"
        self._media_dropped = 0
        self._stop = trio.Event()  # set by the gateway side: close the library session

    @property
    def session(self) -> Session:
        assert self._session is not None, "the library session is not open yet"
        return self._session

    async def send(self, message: ClientMessage) -> None:
        try:
            await self.session.send(message, wait=False)
        except LedgerFull as err:
            # The upstream acknowledges nothing; the library logged it, the gateway counts it.
            # Queued without waiting (this runs in the client's reading task); the
            # gateway session's events() loop takes it.
            try:
                self._push.send_nowait(SendRefused(reason=str(err)))
            except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
                log.warning("upstream.send_refused", detail=str(err))
        except LiveSessionError as err:
            # The session is ending; its Failed event tells the client why.
            log.info("upstream.send_dropped", error=type(err).__name__, detail=str(err))

    def events(self) -> AsyncIterator[UpstreamEvent]:
        return self._events

    def restarts(self) -> dict[str, int]:
        return dict(self.session.stats.get("actor_restarts", {}))

    async def on_event(self, event: SessionEvent) -> None:
        """The library session's event sink: translate, and hand to the gateway session.

        Runs in the library's connection reader (no dispatcher task or
        iterator in between): pushed to the gateway session's ``deliver`` when
        it gave one, else queued for :meth:`events`. Either way, a slow
        client holds up the upstream socket, not memory.
        """
        for translated in self._translate(event):
            await self._hand_over(translated)

    async def end(self, failure: Failed | None = None) -> None:
        """The last event (a failure, if any), then the end of the stream."""
        if failure is not None:
            with trio.move_on_after(1, shield=True):
                await self._hand_over(failure)
        self._push.close()

    async def _hand_over(self, event: UpstreamEvent) -> None:
        """To the gateway session's ``deliver`` when it gave one, else into :meth:`events`."""
        if self._deliver is not None:
            await self._deliver(event)
            return
        try:
            await self._push.send(event)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the gateway session is gone; nothing listens any more

    def _translate(self, event: Any) -> list[UpstreamEvent]:
        match event:
            case MessageReceived(message=message):
                return [Frame(message=message)]
            case GoAwayReceived():
                self._go_away = True
                return []
            case Disconnected(will_retry=True, code=code, close_class=close_class, at=at):
                self._down_at = at
                if self._go_away:
                    self._down_reason = "go_away"
                elif close_class is not None:
                    self._down_reason = close_class.value
                else:
                    self._down_reason = "network"
                self._go_away = False
                return [Reconnecting(reason=self._down_reason, code=code)]
            case Connected(connection=connection, resumed=resumed, at=at) if connection > 1:
                gap = max(0.0, at - self._down_at) if self._down_at is not None else 0.0
                self._down_at = None
                out: list[UpstreamEvent] = [
                    Reconnected(reason=self._down_reason, resumed=resumed, gap_seconds=gap)
                ]
                dropped = int(self.session.stats.get("media_dropped", 0))
                if dropped > self._media_dropped:
                    out.append(MediaDropped(kind="realtime", count=dropped - self._media_dropped))
                    self._media_dropped = dropped
                return out
            case ContextLost(reason=reason, outcome=outcome, restored=restored):
                return [UpstreamContextLost(outcome=outcome, reason=reason, restored=restored)]
            case ToolCallFinished(name=name, outcome=outcome, duration_seconds=duration):
                # Calls the client answers are counted by the gateway as it forwards them.
                if name not in self._daemon_tools:
                    return []
                return [ToolFinished(name=name, outcome=outcome, duration_seconds=duration)]
            case Closed(status=SessionStatus.FAILED) if self._session is not None:
                error = self._session.error
                if isinstance(error, ContextLostError):
                    return [Failed(code=CLOSE_CONTEXT_LOST, reason=CONTEXT_LOST)]
                code = error.code if error is not None else None
                reason = (error.reason or str(error)) if error is not None else "upstream failed"
                return [Failed(code=code, reason=reason)]
        return []


def _client_tools(setup: Setup, daemon_tools: frozenset[str]) -> list[Tool]:
    """The setup's tools without the daemon's declarations (the library re-adds them from specs)."""
    tools: list[Tool] = []
    for tool in setup.tools or ():
        if tool.function_declarations is None:
            tools.append(tool)
            continue
        kept = [d for d in tool.function_declarations if d.name not in daemon_tools]
        if kept:
            tools.append(Tool(function_declarations=kept))
    return tools


def _ssl_context(ca_file: str | None) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=ca_file) if ca_file else None


def library_upstream(daemon: UpstreamHost) -> UpstreamFactory:
    """The factory of upstream sessions for ``daemon``'s ``[upstream]``."""
    vertex_auth: list[Auth] = []

    async def connection_options() -> dict[str, Any]:
        upstream = daemon.config.upstream
        options: dict[str, Any] = {}
        if upstream.backend == "emulator":
            emulator = daemon.emulator
            if emulator is None:
                raise UpstreamUnavailable(
                    "The upstream emulator is not running.", code=CLOSE_INTERNAL
                )
            options["auth"] = ApiKey(daemon.emulator_key, api_version=upstream.api_version)
            options["base_url"] = emulator.http_base_url
            return options
        if upstream.base_url is not None:
            options["base_url"] = upstream.base_url
        if upstream.ca_file is not None:
            options["ssl_context"] = await trio.to_thread.run_sync(_ssl_context, upstream.ca_file)
        try:
            key = await trio.to_thread.run_sync(
                functools.partial(read_secret, env=upstream.api_key_env, file=upstream.api_key_file)
            )
        except SecretUnavailable as err:
            # The message names the reference (variable or file), never a value.
            log.error("upstream.credential_unavailable", error=str(err))
            raise UpstreamUnavailable("Internal error encountered.", code=CLOSE_INTERNAL) from None
        if upstream.backend == "gemini":
            assert key is not None  # the config requires a reference
            options["auth"] = ApiKey(key, api_version=upstream.api_version)
        elif key is not None:  # Vertex express mode
            options["auth"] = ApiKey(key, backend=Backend.VERTEX, api_version=upstream.api_version)
        else:
            if not vertex_auth:
                vertex_auth.append(
                    VertexAI(
                        project=upstream.project,
                        location=upstream.location,
                        service_account_file=upstream.credentials_file,
                        api_version=upstream.api_version or "v1",
                    )
                )
            options["auth"] = vertex_auth[0]
        return options

    @asynccontextmanager
    async def open_upstream(request: UpstreamRequest) -> AsyncIterator[SessionUpstream]:
        daemon_tools = frozenset(t.name for t in request.tools)
        tools: list[ToolSpec | Tool] = [*request.tools, *_client_tools(request.setup, daemon_tools)]
        options = await connection_options()
        try:
            config = config_from_setup(
                request.setup,
                tools=tools,
                session_resumption=request.resumption,
                transparent_resumption=request.transparent,
                resume_handle=request.resume_handle,
                context_loss=request.context_loss,
                ledger_max_bytes=daemon.config.gateway.limits.session_memory_bytes,
                **options,
            )
        except SessionConfigError as err:
            raise UpstreamUnavailable(str(err), code=CLOSE_INVALID_PAYLOAD) from None
        bound = daemon.config.upstream.connect_timeout_seconds
        async with trio.open_nursery() as nursery:
            with trio.move_on_after(bound) as connecting:
                upstream: SessionUpstream = await nursery.start(
                    _run_session,
                    config,
                    daemon_tools,
                    request.session_id,
                    request.deliver,
                    daemon.metrics.upstream_auth_failures.inc,
                )
            if connecting.cancelled_caught:
                log.error("upstream.unreachable", seconds=bound)
                raise UpstreamUnavailable(UNREACHABLE.format(seconds=bound), code=CLOSE_INTERNAL)
            try:
                yield upstream
            finally:
                upstream._stop.set()

    return open_upstream


UNREACHABLE = "The upstream is unreachable: no connection within {seconds:g} s."
AUTH_FAILED = "Internal error: upstream authentication failed."
CONTEXT_LOST = "The conversation was lost upstream; start a new session."


def _for_client(err: SessionFailed, on_auth_failed: Callable[[], None]) -> tuple[int, str]:
    """The close a client gets for an upstream failure: never the daemon's credential problem."""
    if isinstance(err, ContextLostError):
        return CLOSE_CONTEXT_LOST, CONTEXT_LOST
    if err.close_class is CloseClass.AUTH:
        # Google refused the daemon's own key or token: the operator's problem, not the
        # client's; "API key not valid" would mislead a client whose key is fine.
        log.error("upstream.auth_failed", code=err.code)
        on_auth_failed()
        return CLOSE_INTERNAL, AUTH_FAILED
    return (err.code if err.code is not None else CLOSE_INTERNAL), err.reason or str(err)


async def _run_session(
    config: Any,
    daemon_tools: frozenset[str],
    session_id: str,
    deliver: Callable[[UpstreamEvent], Awaitable[None]] | None,
    on_auth_failed: Callable[[], None],
    *,
    task_status: trio.TaskStatus[SessionUpstream],
) -> None:
    """Own one library session: open it, hand it over, close it when asked.

    The library cancels its block when the session fails for good and then
    raises :class:`SessionFailed`; running it here, beside the gateway session,
    turns that into a :class:`Failed` event instead of cancelling the gateway.

    The library session logs under the gateway session's id, and leaves the
    one summary line to the gateway (``gateway.session_closed``).
    """
    upstream = SessionUpstream(daemon_tools, deliver)
    started: SessionUpstream | None = None
    failure: Failed | None = None
    try:
        async with open_session(
            config=config, session_id=session_id, summary_log=False, event_sink=upstream.on_event
        ) as session:
            upstream._session = session
            started = upstream
            task_status.started(started)
            await started._stop.wait()
    except SessionConfigError as err:
        if started is None:
            raise UpstreamUnavailable(str(err), code=CLOSE_INVALID_PAYLOAD) from None
        failure = Failed(code=CLOSE_INVALID_PAYLOAD, reason=str(err))
    except SessionFailed as err:
        code, reason = _for_client(err, on_auth_failed)
        if started is None:
            raise UpstreamUnavailable(reason, code=code) from None
        failure = Failed(code=code, reason=reason)
    finally:
        if started is not None:
            await started.end(failure)
