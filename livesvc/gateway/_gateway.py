"""The gateway actor: client WebSockets in, gateway sessions out.

It serves Google's Live paths on the shared front door (``livesvc._server``),
plain or TLS. For each client connection it authenticates the credential,
reads the ``setup``, then either resumes a session named by a daemon handle
(live, or restored from the store after a restart) or opens a new one with
the merged setup, and relays until the client leaves. A client's mistakes
(bad key, bad frame, too many messages) close only that client, with a close
code and a reason.

With several worker processes (``[service] workers``), each gateway is one
``instance`` and every session record names its owner. A daemon handle can
land on any worker: one that does not own the session asks the owner, through
:class:`Peers`, to release it (the owner lets the running turn finish, ends its
side, commits the final record with the newest upstream handle, hands the
ownership over in the store and answers with the frames its client has not
seen yet), then restores it from the store as after a ``kill -9``. A session
whose owner is gone is claimed straight from the store. Ownership changes only
by :meth:`Store.claim_session`, so of two workers racing for one session
exactly one gets it.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec
import trio
import trio_websocket

from livesvc._server import HttpRequest, HttpResponse, Limits, WebSocketUpgrade, serve
from livesvc.close_codes import (
    CLOSE_ABNORMAL,
    CLOSE_BUDGET_EXHAUSTED,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL,
    CLOSE_INVALID_PAYLOAD,
    CLOSE_NORMAL,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
)
from livesvc.config import Config
from livesvc.gateway._client_auth import AuthRejected, ClientAuth, Principal
from livesvc.gateway._credentials import extract_credential
from livesvc.gateway._limits import RateLimiter, SessionQuota
from livesvc.gateway._merge import merge_setup
from livesvc.gateway._metering import SessionMetering, usage_key
from livesvc.gateway._profiles import ProfileRuntime
from livesvc.gateway._rest import GatewayRest
from livesvc.gateway._session import (
    Attach,
    ClientLink,
    Detach,
    FromClient,
    GatewaySession,
    SessionSettings,
)
from livesvc.gateway._tokens import locked_paths, token_setup
from livesvc.gateway._upstream import UpstreamFactory, UpstreamRequest, UpstreamUnavailable
from livesvc.logs import get_logger
from livesvc.metrics import DaemonMetrics
from livesvc.store import SessionRecord, SessionWriter, Store, StoreError
from livesvc.usage import Budget, UsageRecorder, exhausted, refusal_reason
from livesvc.wire import Setup, WireDecodeError, decode_client, encode_client
from supervisors import (
    ChildNotFound,
    ChildSpec,
    DynamicSupervisor,
    Restart,
    StartFailed,
    SupervisorFull,
    SupervisorNotRunning,
)

__all__ = ["Gateway", "GatewaySettings", "Handover", "Peers"]

log = get_logger(__name__)

_FLUSH_TIMEOUT = 5.0

_LIVE_PATH = re.compile(
    r"/ws/(?:google\.ai\.generativelanguage\.v1(?:alpha|beta)?\.GenerativeService\."
    r"BidiGenerateContent(?:Constrained)?"
    r"|google\.cloud\.aiplatform\.v1(?:beta1)?\.LlmBidiService/BidiGenerateContent)"
)


_CLIENT_FIELDS = ("client_content", "realtime_input", "tool_response", "context_update")


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True):
    """What one config generation gives the gateway (swapped whole on reload)."""

    config: Config
    profiles: dict[str, ProfileRuntime]
    auth: ClientAuth
    generation: int = 1


class Handover(msgspec.Struct, frozen=True, kw_only=True):
    """The owner's answer when another worker asks for one of its sessions.

    Attributes:
        released: the session is now the claimant's (its final record is committed).
        frames: server frames the session held for its client, oldest first.
        owner_gone: the owner process is not running; claim the session from the store.
    """

    released: bool
    frames: list[bytes] = []
    owner_gone: bool = False


class Peers(Protocol):
    """How a worker's gateway reaches the other workers (the master routes the call).

    ``release`` raises (any ``Exception``) when the owner cannot answer in time.
    """

    async def release(self, owner: str, session_id: str, claimant: str) -> Handover: ...


# A session asked to move waits this long at most for its running turn to end.
_RELEASE_TURN_WAIT = 10.0
# After the turn, the resumption update with the newest upstream handle follows at once.
_RELEASE_HANDLE_WAIT = 1.0


class _Refused(Exception):
    """The client cannot have a session; close it with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str, result: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.result = result


def _close_reason(text: str) -> str:
    """WebSocket close reasons hold at most 123 bytes of UTF-8."""
    encoded = text.encode("utf-8")
    if len(encoded) <= 123:
        return text
    return encoded[:120].decode("utf-8", "ignore") + "..."


def _find_unavailable(error: BaseException | None) -> UpstreamUnavailable | None:
    """The :class:`UpstreamUnavailable` behind a start failure, wherever it sits."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, UpstreamUnavailable):
            return current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        stack.extend([current.__cause__, current.__context__])
    return None


class Gateway:
    """The gateway. ``run`` serves until cancelled; the daemon supplies everything it uses.

    Example::

        gateway = Gateway(settings=lambda: current, store=store, metrics=metrics,
                          sessions=sessions_supervisor, upstream_factory=open_upstream)
        port = await nursery.start(gateway.run)
    """

    def __init__(
        self,
        *,
        settings: Callable[[], GatewaySettings],
        store: Store,
        metrics: DaemonMetrics,
        sessions: DynamicSupervisor,
        upstream_factory: UpstreamFactory,
        wall_clock: Callable[[], float] = time.time,
        instance: str | None = None,
        peers: Peers | None = None,
    ) -> None:
        self._settings = settings
        self.instance = instance  # this worker's name as a session owner; None: one process
        self._peers = peers
        self._releasing: dict[str, trio.Lock] = {}
        self._store = store
        self._metrics = metrics
        self._sessions = sessions
        self._factory = upstream_factory
        self._wall = wall_clock
        self._live: dict[str, GatewaySession] = {}
        # Sessions persist through one write-behind writer (batched transactions), which
        # outlives a restart of ``run``: records submitted meanwhile are written after it.
        self.writer = SessionWriter(
            store, on_error=lambda: metrics.errors.labels(kind="store").inc()
        )
        self._quota = SessionQuota()
        # Usage of every session goes to the store through one write-behind task.
        self.usage = UsageRecorder(
            store,
            metrics=metrics,
            flush_seconds=settings().config.gateway.usage.flush_seconds,
            wall_clock=wall_clock,
        )
        self.rest = GatewayRest(settings, store, wall_clock=wall_clock)
        self._restore_lock = trio.Lock()
        self.draining = False
        metrics.count_sessions_with(self.session_counts)

    # -- what the daemon asks -----------------------------------------------------------

    def session_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for session in self._live.values():
            counts[session.status] = counts.get(session.status, 0) + 1
        return counts

    def live_sessions(self) -> list[GatewaySession]:
        return list(self._live.values())

    def live_session(self, session_id: str) -> GatewaySession | None:
        return self._live.get(session_id)

    def drain(self) -> None:
        """Stop accepting clients (new handshakes get 503); running sessions are drained by their supervisor."""
        self.draining = True

    async def run(
        self,
        *,
        ssl_context: Any = None,
        config: Config | None = None,
        reuse_port: bool = False,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve the Live paths until cancelled; reports the bound port.

        ``config`` (default: the current settings') gives the address and limits;
        ``reuse_port`` lets other worker processes listen on the same port.
        """
        config = config or self._settings().config
        async with trio.open_nursery() as nursery:
            await nursery.start(self.writer.run)
            await nursery.start(self.usage.run)
            await self.listen(
                config,
                host=config.gateway.host,
                port=config.gateway.port,
                ssl_context=ssl_context,
                reuse_port=reuse_port,
                task_status=task_status,
            )

    async def listen(
        self,
        config: Config,
        *,
        host: str,
        port: int,
        ssl_context: Any = None,
        reuse_port: bool = False,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Accept clients on one address (the same sessions and limits); reports the bound port.

        :meth:`run` listens on the configured address; a worker also listens on a
        private loopback port of its own, so a client can reach that worker by name.
        """
        limits = config.gateway.limits
        front_limits = Limits(
            head_timeout=limits.setup_timeout_seconds,
            # Live clients are bounded by the gateway itself (1013 past max_clients);
            # the front door also keeps room for connections still on their way in.
            max_connections=limits.max_clients + limits.max_pending_connections,
            ws_max_message_bytes=limits.max_frame_bytes,
            pre_setup_bytes=limits.pre_setup_bytes,
        )
        await serve(
            self.handle_websocket,
            self.handle_rest,
            host=host,
            port=port,
            ssl_context=ssl_context,
            limits=front_limits,
            server_name="livesvc",
            reuse_port=reuse_port,
            on_tls_failed=self._metrics.client_connections.labels(result="tls_failed").inc,
            task_status=task_status,
        )

    async def handle_rest(self, request: HttpRequest) -> HttpResponse:
        """The SDKs' REST calls for a client key: models list and token minting."""
        return await self.rest.dispatch(request)

    # -- one client connection ------------------------------------------------------------

    async def handle_websocket(self, upgrade: WebSocketUpgrade) -> None:
        if not _LIVE_PATH.fullmatch(upgrade.path):
            self._metrics.client_connections.labels(result="not_found").inc()
            await upgrade.reject(404, f"The requested URL {upgrade.path} was not found.")
            return
        if self.draining:
            self._metrics.client_connections.labels(result="rejected_draining").inc()
            await upgrade.reject(503, "The service is currently unavailable.")
            return
        settings = self._settings()
        ws = await upgrade.accept()
        credential = extract_credential(upgrade.headers, upgrade.query)
        code: int | None = None
        try:
            # The credential is checked before any frame is read. A refusal still
            # waits for the setup (bounded by pre_setup_bytes), as Google does: the
            # SDK reports it properly (APIError) only once its setup is sent.
            refused: _Refused | None = None
            try:
                principal = await self._authenticate(settings, credential)
            except _Refused as refusal:
                refused = refusal
            setup = await self._read_setup(ws, settings)
            if refused is not None:
                raise refused
            handle = setup.session_resumption.handle if setup.session_resumption else None
            if handle:
                session = await self._resume(settings, principal, handle)
            else:
                session = await self._open(settings, principal, credential or "", setup)
        except _Refused as refusal:
            self._metrics.client_connections.labels(result=refusal.result).inc()
            log.info(
                "gateway.client_refused",
                result=refusal.result,
                code=refusal.code,
                reason=refusal.reason,
            )
            await self._close(ws, refusal.code, refusal.reason)
            return
        except trio_websocket.ConnectionClosed:
            if upgrade.stream.read_limit_exceeded:
                self._metrics.client_connections.labels(result="pre_setup_limit").inc()
                log.info("gateway.pre_setup_limit", bytes_read=upgrade.stream.bytes_read)
            else:
                self._metrics.client_connections.labels(result="client_left").inc()
            return
        upgrade.stream.lift_read_limit()  # the setup is accepted: frames up to max_frame_bytes
        self._metrics.client_connections.labels(result="resumed" if handle else "accepted").inc()
        link = ClientLink(wants_resumption=setup.session_resumption is not None, socket=ws)
        try:
            code = await self._attach_and_relay(
                ws, session, link, settings, resumed=bool(handle), abort=upgrade.stream.abort
            )
        finally:
            if not session.ended.is_set():
                with trio.move_on_after(5, shield=True):
                    await session.inbox_send.send(Detach(link=link, code=code))

    async def _authenticate(self, settings: GatewaySettings, credential: str | None) -> Principal:
        try:
            return await settings.auth.check(credential, now=self._wall())
        except AuthRejected as err:
            raise _Refused(CLOSE_POLICY, err.reason, "rejected_auth") from None
        except StoreError:
            raise _Refused(CLOSE_INTERNAL, "Internal error encountered.", "store_error") from None

    async def _read_setup(
        self, ws: trio_websocket.WebSocketConnection, settings: GatewaySettings
    ) -> Setup:
        timeout = settings.config.gateway.limits.setup_timeout_seconds
        with trio.move_on_after(timeout):
            data = await ws.get_message()
            try:
                message = decode_client(data)
            except WireDecodeError as err:
                raise _Refused(
                    CLOSE_INVALID_PAYLOAD, f"Invalid JSON payload received. {err}", "bad_setup"
                ) from None
            if message.setup is None:
                raise _Refused(
                    CLOSE_INVALID_PAYLOAD, "The first message must be setup.", "bad_setup"
                )
            return message.setup
        raise _Refused(CLOSE_POLICY, f"No setup message within {timeout:g}s.", "setup_timeout")

    async def _open(
        self, settings: GatewaySettings, principal: Principal, credential: str, client: Setup
    ) -> GatewaySession:
        runtime = settings.profiles.get(principal.profile)
        if runtime is None:
            raise _Refused(
                CLOSE_POLICY,
                f"No profile {principal.profile!r} in this configuration.",
                "bad_profile",
            )
        if not self._quota.try_acquire(principal.id, principal.max_sessions):
            raise _Refused(
                CLOSE_POLICY,
                f"Too many sessions for this key (limit {principal.max_sessions}).",
                "rejected_limit",
            )
        try:
            try:
                principal = await settings.auth.admit_new_session(
                    principal, credential, now=self._wall()
                )
            except AuthRejected as err:
                raise _Refused(CLOSE_POLICY, err.reason, "rejected_auth") from None
            await self._check_budget(settings, principal)
            token = principal.token
            merged = merge_setup(
                runtime.setup,
                client,
                overridable=runtime.overridable,
                token=token_setup(token) if token is not None else None,
                token_locked=locked_paths(token) if token is not None else None,
            )
            now = self._wall()
            session_id = "ls_" + secrets.token_hex(8)
            record = SessionRecord(
                session_id=session_id,
                principal=principal.id,
                profile=runtime.name,
                model=merged.model or runtime.profile.model,
                status="active",
                created_at=now,
                updated_at=now,
                setup=encode_client(merged),
                owner=self.instance,
            )
            request = UpstreamRequest(
                session_id=session_id,
                setup=merged,
                tools=runtime.tools,
                resumption=runtime.profile.resumption.enabled,
                transparent=runtime.profile.resumption.transparent,
                context_loss=runtime.profile.context_loss,
            )
            session = await self._start(
                settings,
                record,
                request,
                runtime.tool_names,
                kind="new",
                minted_by=token.principal if token is not None else None,
            )
        except BaseException:
            self._quota.release(principal.id)
            raise
        return session

    async def _check_budget(self, settings: GatewaySettings, principal: Principal) -> None:
        """Refuse a new session (4002) when its key's budget is spent or at its session cap."""
        usage = settings.config.gateway.usage
        if not usage.enabled:
            return
        key = _usage_key_of(principal)
        budget = _budget_of(settings.config, key)
        if budget is None:
            return
        if (
            budget.sessions_concurrent is not None
            and self._quota.held(principal.id) > budget.sessions_concurrent
        ):
            self._metrics.budget_exceeded.labels(
                key=key, budget="sessions_concurrent", action="refused"
            ).inc()
            raise _Refused(
                CLOSE_BUDGET_EXHAUSTED,
                f"Budget sessions_concurrent ({budget.sessions_concurrent}) of key {key} is reached.",
                "rejected_budget",
            )
        spent = await self.usage.spent_today(key)
        name = exhausted(budget, tokens=spent.tokens, audio_seconds=spent.audio_seconds)
        if name is not None:
            self._metrics.budget_exceeded.labels(
                key=key, budget=name.split(" ")[0], action="refused"
            ).inc()
            raise _Refused(CLOSE_BUDGET_EXHAUSTED, refusal_reason(name, key), "rejected_budget")

    def _metering(self, record: SessionRecord, minted_by: str | None) -> SessionMetering | None:
        if not self._settings().config.gateway.usage.enabled:
            return None
        key = usage_key(record.principal, minted_by)
        return SessionMetering(
            recorder=self.usage,
            key=key,
            profile=record.profile,
            model=record.model,
            budget=lambda: _budget_of(self._settings().config, key),
            grace=lambda: self._settings().config.gateway.usage.budget_grace_seconds,
            metrics=self._metrics,
        )

    async def _resume(
        self, settings: GatewaySettings, principal: Principal, handle: str
    ) -> GatewaySession:
        not_found = _Refused(
            CLOSE_POLICY, "Session resumption handle not found or expired.", "resume_refused"
        )
        try:
            record = await self._store.find_by_handle(handle, now=self._wall())
        except StoreError:
            raise _Refused(CLOSE_INTERNAL, "Internal error encountered.", "store_error") from None
        # Another principal's handle is answered exactly like an unknown one.
        if record is None or record.principal != principal.id:
            raise not_found
        frames: list[bytes] = []
        if record.owner != self.instance:
            record, frames = await self._take_over(record, not_found)
        async with self._restore_lock:
            live = self._live.get(record.session_id)
            if live is not None and not live.ended.is_set():
                return live
            if record.upstream_handle is None:
                raise not_found
            runtime = settings.profiles.get(record.profile)
            decoded = decode_client(record.setup).setup
            if decoded is None:
                raise not_found
            if not self._quota.try_acquire(principal.id, principal.max_sessions):
                raise _Refused(
                    CLOSE_POLICY,
                    f"Too many sessions for this key (limit {principal.max_sessions}).",
                    "rejected_limit",
                )
            try:
                request = UpstreamRequest(
                    session_id=record.session_id,
                    setup=decoded,
                    tools=runtime.tools if runtime is not None else (),
                    resume_handle=record.upstream_handle,
                    resumption=True,
                    context_loss=(runtime.profile.context_loss if runtime is not None else "fail"),
                )
                tool_names = runtime.tool_names if runtime is not None else frozenset()
                session = await self._start(settings, record, request, tool_names, kind="restored")
                if frames:
                    session.prepend_buffered(frames)
                return session
            except BaseException:
                self._quota.release(principal.id)
                raise

    async def _take_over(
        self, record: SessionRecord, not_found: _Refused
    ) -> tuple[SessionRecord, list[bytes]]:
        """Make this worker the session's owner: asked of a live owner, or claimed from a gone one.

        Returns the record as the previous owner left it, and the frames it held.
        """
        session_id, owner = record.session_id, record.owner
        busy = _Refused(
            CLOSE_TRY_AGAIN,
            "The session is being resumed elsewhere; try again.",
            "resume_busy",
        )
        handover: Handover | None = None
        if owner is not None and self._peers is not None and self.instance is not None:
            try:
                with trio.fail_after(_RELEASE_TURN_WAIT + 25.0):
                    handover = await self._peers.release(owner, session_id, self.instance)
            except Exception as err:  # the owner is stuck or unreachable: the client retries
                log.warning("gateway.release_failed", owner=owner, error=type(err).__name__)
                raise busy from None
            if not handover.released and not handover.owner_gone:
                raise busy  # another worker took it first
        if handover is None or not handover.released:
            # The owner is gone (a crashed worker; a record of an earlier daemon).
            try:
                claimed = await self._store.claim_session(
                    session_id, owner=self.instance, expected=owner
                )
            except StoreError:
                raise _Refused(
                    CLOSE_INTERNAL, "Internal error encountered.", "store_error"
                ) from None
            if not claimed:
                raise busy
        try:
            current = await self._store.get_session(session_id)
        except StoreError:
            raise _Refused(CLOSE_INTERNAL, "Internal error encountered.", "store_error") from None
        if current is None or current.status == "closed" or current.owner != self.instance:
            raise not_found
        frames = handover.frames if handover is not None else []
        log.info(
            "gateway.session_taken_over",
            session_id=session_id,
            previous_owner=owner,
            released=handover is not None and handover.released,
            frames=len(frames),
        )
        return current, frames

    async def release_session(self, session_id: str, claimant: str) -> Handover:
        """Hand a session this worker owns to ``claimant`` (another worker's gateway).

        A live session finishes its running turn (bounded), ends as a drain ends it
        (resumable; any attached client is told to resume), and its final record is
        committed before ownership moves. ``released`` is False when this worker
        does not own the session (any more).

        Example::

            handover = await gateway.release_session("ls_1f2e", claimant="2.9a0c")
        """
        lock = self._releasing.setdefault(session_id, trio.Lock())
        try:
            async with lock:
                frames: list[bytes] = []
                session = self._live.get(session_id)
                if session is not None and not session.ended.is_set():
                    await session.wait_turn_settled(
                        turn_timeout=_RELEASE_TURN_WAIT, handle_timeout=_RELEASE_HANDLE_WAIT
                    )
                    try:
                        await self._sessions.terminate_child(session_id)
                    except ChildNotFound:
                        pass
                    with trio.move_on_after(_FLUSH_TIMEOUT):
                        await session.ended.wait()
                    frames = session.buffered_frames()
                # Whatever this worker wrote of the session is durable before it moves.
                if not await self.writer.flush():
                    return Handover(released=False)
                released = await self._store.claim_session(
                    session_id, owner=claimant, expected=self.instance
                )
        finally:
            if not lock.locked() and self._releasing.get(session_id) is lock:
                del self._releasing[session_id]
        log.info(
            "gateway.session_released",
            session_id=session_id,
            claimant=claimant,
            released=released,
            frames=len(frames),
        )
        return Handover(released=released, frames=frames if released else [])

    async def _start(
        self,
        settings: GatewaySettings,
        record: SessionRecord,
        request: UpstreamRequest,
        tool_names: frozenset[str],
        *,
        kind: str,
        minted_by: str | None = None,
    ) -> GatewaySession:
        config = settings.config
        session = GatewaySession(
            record=record,
            request=request,
            upstream_factory=self._factory,
            store=self._store,
            metrics=self._metrics,
            settings=SessionSettings(
                grace_period=config.gateway.grace_period_seconds,
                handle_ttl=config.store.handle_ttl_seconds,
                client_send_timeout=config.gateway.limits.client_send_timeout_seconds,
            ),
            daemon_tools=tool_names,
            wall_clock=self._wall,
            on_end=self._forget,
            writer=self.writer,
            metering=self._metering(record, minted_by),
        )
        self._live[session.id] = session
        spec = ChildSpec(
            id=session.id,
            start=session.run,
            restart=Restart.TEMPORARY,
            shutdown=config.service.shutdown_timeout_seconds,
        )
        try:
            await self._sessions.start_child(spec)
        except StartFailed as err:
            self._live.pop(session.id, None)
            unavailable = _find_unavailable(err)
            if unavailable is not None:
                raise _Refused(
                    unavailable.code, unavailable.reason, "upstream_unavailable"
                ) from None
            log.error("gateway.session_start_failed", error=repr(err.__cause__))
            raise _Refused(CLOSE_INTERNAL, "Internal error encountered.", "start_failed") from None
        except SupervisorNotRunning:
            self._live.pop(session.id, None)
            raise _Refused(
                CLOSE_TRY_AGAIN, "The service is restarting; try again later.", "rejected_draining"
            ) from None
        except SupervisorFull:
            self._live.pop(session.id, None)
            raise _Refused(
                CLOSE_TRY_AGAIN, "The service is at capacity; try again later.", "rejected_capacity"
            ) from None
        self._metrics.sessions_started.labels(kind=kind).inc()
        return session

    def _forget(self, session: GatewaySession) -> None:
        if self._live.get(session.id) is session:
            del self._live[session.id]
            self._quota.release(session.principal)

    async def _attach_and_relay(
        self,
        ws: trio_websocket.WebSocketConnection,
        session: GatewaySession,
        link: ClientLink,
        settings: GatewaySettings,
        *,
        resumed: bool,
        abort: Callable[[], Awaitable[None]],
    ) -> int | None:
        """Relay until the client leaves or the session closes it; returns the close code.

        Client frames are read here; server frames are written by the session.
        """
        limits = settings.config.gateway.limits
        limiter = RateLimiter(limits.messages_per_second, limits.message_burst)
        client_code: list[int | None] = [None]
        try:
            await session.inbox_send.send(Attach(link=link, resumed=resumed))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await self._close(ws, CLOSE_GOING_AWAY, "Session ended.")
            return CLOSE_GOING_AWAY

        async def read() -> None:
            while True:
                try:
                    data = await ws.get_message()
                except trio_websocket.ConnectionClosed as closed:
                    client_code[0] = (
                        closed.reason.code if closed.reason is not None else CLOSE_ABNORMAL
                    )
                    link.request_close(client_code[0] or CLOSE_NORMAL, "")
                    return
                if not limiter.allow():
                    self._metrics.errors.labels(kind="client_rate_limited").inc()
                    link.request_close(
                        CLOSE_POLICY,
                        f"Too many messages: the limit is {limits.messages_per_second:g} per second.",
                    )
                    return
                try:
                    message = decode_client(data)
                except WireDecodeError as err:
                    self._metrics.errors.labels(kind="client_bad_frame").inc()
                    link.request_close(
                        CLOSE_INVALID_PAYLOAD, f"Invalid JSON payload received. {err}"
                    )
                    return
                if message.setup is not None:
                    link.request_close(
                        CLOSE_INVALID_PAYLOAD, "setup may only be sent as the first message."
                    )
                    return
                if sum(getattr(message, f) is not None for f in _CLIENT_FIELDS) != 1:
                    self._metrics.errors.labels(kind="client_bad_frame").inc()
                    link.request_close(
                        CLOSE_INVALID_PAYLOAD,
                        "A message needs exactly one of clientContent, realtimeInput, "
                        "toolResponse, contextUpdate.",
                    )
                    return
                try:
                    await session.send_to_upstream(FromClient(message=message, size=len(data)))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    link.request_close(CLOSE_GOING_AWAY, "Session ended.")
                    return

        # Frames go out through the link's one writer (the session runs it); here
        # the client's frames are read, until the link is asked to close.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            await link.closing.wait()
            # What is queued for the client goes out before the close frame.
            with trio.move_on_after(limits.client_send_timeout_seconds):
                await link.flushed.wait()
            nursery.cancel_scope.cancel()
        if link.broken and client_code[0] is None:
            await abort()  # a frame was cut half-way: no close frame can follow it
            client_code[0] = link.close_code
        code = client_code[0]
        if code is None:
            code = link.close_code
            await self._close(ws, link.close_code, link.close_reason)
        self._metrics.client_closes.labels(code=str(code)).inc()
        return code

    async def _close(self, ws: trio_websocket.WebSocketConnection, code: int, reason: str) -> None:
        with trio.move_on_after(5, shield=True):
            try:
                await ws.aclose(code=code, reason=_close_reason(reason) or None)
            except trio_websocket.ConnectionClosed:
                pass


def _usage_key_of(principal: Principal) -> str:
    minted_by = principal.token.principal if principal.token is not None else None
    return usage_key(principal.id, minted_by)


def _budget_of(config: Config, key: str) -> Budget | None:
    for client_key in config.gateway.keys:
        if client_key.name == key:
            return client_key.budget
    return None
