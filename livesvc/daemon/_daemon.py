"""The daemon: the service supervisor and everything under it, and its life cycle.

::

    service supervisor (one_for_one; intensity and period from [supervision])
    ├── store            SQLite: session records, daemon handles, tokens
    ├── emulator         only with upstream.backend = "emulator" (loopback, private key)
    ├── lease            fleet nodes only ([cluster]): the node's lease in Redis (docs/fleet.md)
    ├── sessions         dynamic supervisor, one temporary child per gateway session
    ├── gateway          the Live WebSocket front door for client apps
    ├── config watcher   SIGHUP: reload, validate, keep the old config on error
    └── admin API        probes, metrics, sessions, token minting

Children start in this order, each once the previous one is ready (the gateway
needs the sessions supervisor; the sessions need the store and the upstream).
SIGTERM or SIGINT drains: the gateway refuses new clients, each session finishes
its running turn (up to ``service.shutdown_timeout_seconds``) and tells its
client to resume later, handles are already persisted, then the tree stops in
reverse order and :meth:`Daemon.run` returns.

As one of several worker processes (``worker`` given; see ``_master``), the
daemon has no emulator (it uses the master's), marks no orphans (the master
did, once), binds the shared gateway port with ``SO_REUSEPORT``, and serves a
private admin endpoint for the master instead of the public one.

As a fleet node (``[cluster] node`` set; docs/fleet.md), the daemon holds a
lease in Redis, writes only while it holds it (fencing), serves its cluster
endpoint for other nodes' release requests, and stops its sessions with 1012
before its lease can expire when it cannot renew it; then it exits with 1.
"""

from __future__ import annotations

import functools
import secrets
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import trio
from structlog.contextvars import bound_contextvars

from livesvc._gc import tune_collector
from livesvc._private import private_dir
from livesvc.admin import Readiness, SessionView, serve_admin
from livesvc.close_codes import CLOSE_SERVICE_RESTART
from livesvc.cluster import (
    FleetPeers,
    LeaseLost,
    LeaseSettings,
    NodeLease,
    RedisLeases,
    serve_cluster,
)
from livesvc.config import Config, hash_key, load_checked, read_secret
from livesvc.daemon._children import admin_child, emulator_child, store_upkeep
from livesvc.daemon._exposition import label_sample
from livesvc.daemon._logging import apply_logging
from livesvc.daemon._reload import ConfigHolder, ConfigWatcher
from livesvc.daemon._systemd import Notifier
from livesvc.daemon._upstream import library_upstream
from livesvc.daemon._views import live_view, stored_view
from livesvc.daemon._worker import LiveOnly, MasterPeers, RemoteEmulator, WorkerRole, watch_master
from livesvc.gateway import AuthTokenRequest, AuthTokenResponse, ClientAuth, TokenMinter
from livesvc.gateway._gateway import Gateway, GatewaySettings
from livesvc.gateway._profiles import build_profiles
from livesvc.gateway._session import Close
from livesvc.gateway._tls import server_ssl_context
from livesvc.gateway._upstream import UpstreamFactory
from livesvc.logs import get_logger
from livesvc.metrics import DaemonMetrics
from livesvc.store import RecordStatus, Store, StoreServer, open_store_channel
from livesvc.store._redis import Fence, RedisStore, RedisStoreServer
from livesvc.usage import usage_report
from supervisors import Backoff, ChildContext, ChildSpec, DynamicSupervisor, Restart, Supervisor

__all__ = ["Daemon", "UpstreamFactoryBuilder"]

log = get_logger(__name__)

# Builds the upstream factory once the daemon knows its upstream (the embedded
# emulator's address, say); the default opens sessions with the session library.
UpstreamFactoryBuilder = Callable[["Daemon"], UpstreamFactory]

# Where a worker accepts clients on its own port (docs/daemon.md, "Workers").
_DIRECT_HOST = "127.0.0.1"
# What a fenced node's clients read: their session lives on, on another node.
_FENCED_REASON = "This node lost its cluster lease; resume with your session handle."


def gateway_url(config: Config, port: int | None) -> str | None:
    """``wss://host:port`` (or ``ws://``) where clients connect; ``None`` before listening."""
    if port is None:
        return None
    gateway = config.gateway
    host = f"[{gateway.host}]" if ":" in gateway.host else gateway.host
    scheme = "ws" if gateway.tls.mode == "off" else "wss"
    return f"{scheme}://{host}:{port}"


def resolve_admin_hash(config: Config, environ: Mapping[str, str] | None) -> str | None:
    """Blocking: reads the admin token from its file or variable (hashing it at once)."""
    admin = config.admin
    if not admin.enabled:
        return None
    if admin.token_hash is not None:
        return admin.token_hash
    token = read_secret(env=admin.token_env, file=admin.token_file, environ=environ)
    return None if token is None else hash_key(token)


def _backoff(config: Config) -> Backoff:
    b = config.supervision.backoff
    return Backoff(
        first=b.initial_seconds,
        base=b.initial_seconds * b.factor,
        factor=b.factor,
        max=b.max_seconds,
        jitter=b.jitter,
        reset_after=b.reset_after_seconds,
    )


class NodeView(msgspec.Struct, frozen=True, kw_only=True):
    """One fleet node as ``GET /v1/nodes`` shows it (never its lease token)."""

    node: str
    address: str
    incarnation: str
    this_node: bool
    sessions: dict[str, int]  # by status: active, detached


def _owner_node(owner: str | None) -> str | None:
    """The node of a fleet owner name (``<node>.<incarnation>``)."""
    return None if owner is None else owner.partition(".")[0]


class Daemon:
    """``livesvc serve``: build it from a config, then ``await daemon.run()``.

    Example::

        config = load_config("config/livesvc.toml")
        daemon = Daemon(config, config_path="config/livesvc.toml")
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            print(daemon.gateway_url, daemon.admin_url)
            daemon.request_shutdown()     # what SIGTERM does
    """

    def __init__(
        self,
        config: Config,
        *,
        config_path: str | None = None,
        upstream: UpstreamFactoryBuilder | None = None,
        environ: Mapping[str, str] | None = None,
        wall_clock: Callable[[], float] = time.time,
        handle_signals: bool = True,
        configure_logs: bool = False,
        worker: WorkerRole | None = None,
        tune_gc: bool = False,
    ) -> None:
        self._holder = ConfigHolder(config)
        self._tune_gc = tune_gc
        self.worker = worker
        self._config_path = config_path
        self._upstream_builder = upstream
        self._environ = environ
        self._wall = wall_clock
        self._handle_signals = handle_signals
        self._configure_logs = configure_logs
        # systemd (ops): only the main process speaks to the manager (NotifyAccess=main).
        self._notifier = Notifier.from_environ(environ) if worker is None else Notifier()
        self.metrics = DaemonMetrics()
        store_send, self._store_receive = open_store_channel()
        self.store: Store
        if config.store.backend == "redis":
            self.store = RedisStore(
                timeout=config.store.timeout_seconds,
                prefix=config.store.redis_prefix,
                keep_closed_seconds=config.store.keep_closed_sessions_seconds,
                node=config.cluster.node,
            )
        else:
            self.store = Store(store_send, timeout=config.store.timeout_seconds)
        self._sessions = DynamicSupervisor(
            "sessions",
            max_children=config.gateway.limits.max_clients,
            intensity=max(1, config.supervision.intensity),
            period=config.supervision.period_seconds,
        )
        self._settings: GatewaySettings | None = None
        self._prepared: tuple[dict[str, Any], str | None] | None = None
        self._admin_hash: str | None = None
        self.gateway: Gateway | None = None
        self.service: Supervisor | None = None
        self.emulator: Any = None  # livesvc.emulator.Emulator when embedded
        self.emulator_key = "emu_" + secrets.token_urlsafe(24)
        if worker is not None and worker.emulator_url is not None:
            self.emulator = RemoteEmulator(worker.emulator_url)
            self.emulator_key = worker.emulator_key or ""
        self.gateway_port: int | None = None
        self.admin_url: str | None = None
        self.direct_gateway_url: str | None = None  # a worker's own address (workers only)
        self.ca_file: str | None = None
        self._shutdown = trio.Event()
        self._draining = False
        self._started = False
        # Fleet (docs/fleet.md): set by the lease child, which starts before the gateway.
        self.lease: NodeLease | None = None
        self._peers: FleetPeers | None = None
        self._lease_backend: RedisLeases | None = None
        self._cluster_secret: str | None = None
        self.cluster_url: str | None = None
        self.fenced = False
        self.exit_code = 0  # 1 after the node fenced itself: its supervisor starts a new one

    # -- public views ---------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self._holder.current

    @property
    def gateway_url(self) -> str | None:
        """``wss://host:port`` (or ``ws://``) where clients connect, once listening."""
        return gateway_url(self.config, self.gateway_port)

    def request_shutdown(self) -> None:
        """Drain and stop, as SIGTERM does."""
        self._shutdown.set()

    # -- DaemonControl ------------------------------------------------------------------

    def readiness(self) -> Readiness:
        service = self.service
        children = {c.id: c.state == "running" for c in service.which_children()} if service else {}
        checks = {
            **children,
            "accepting": self._started and not self._draining and not self.fenced,
        }
        return Readiness(ready=bool(children) and all(checks.values()), checks=checks)

    def metrics_exposition(self) -> tuple[bytes, str]:
        self.metrics.ready.set(1 if self.readiness().ready else 0)
        body, content_type = self.metrics.exposition()
        node = self.config.cluster.node
        if node is not None:  # a fleet's metrics are merged by node: each sample says which
            lines = body.decode().split("\n")
            body = "\n".join(
                line if not line or line.startswith("#") else label_sample(line, "node", node)
                for line in lines
            ).encode()
        return body, content_type

    async def list_nodes(self) -> list[NodeView]:
        """Fleet nodes holding a lease now, with their sessions by status (``GET /v1/nodes``)."""
        backend = self._lease_backend
        if backend is None:
            return []
        leases = await backend.nodes()
        counts: dict[str, dict[str, int]] = {info.node: {} for info in leases}
        for record in await self.store.list_sessions(None, limit=10_000):
            owner = _owner_node(record.owner)
            if owner in counts and record.status != "closed":
                by_status = counts[owner]
                by_status[record.status] = by_status.get(record.status, 0) + 1
        me = self.config.cluster.node
        return [
            NodeView(
                node=info.node,
                address=info.address,
                incarnation=info.incarnation,
                this_node=info.node == me,
                sessions=counts[info.node],
            )
            for info in leases
        ]

    async def list_sessions(self, *, status: str | None = None) -> list[SessionView]:
        now = self._wall()
        live = {s.id: live_view(s, now=now) for s in self._live()}
        views = [v for v in live.values() if status is None or v.status == status]
        if status in (None, "detached", "closed"):
            wanted: list[RecordStatus] | None = None
            if status == "detached":
                wanted = ["detached"]
            elif status == "closed":
                wanted = ["closed"]
            for record in await self.store.list_sessions(wanted, limit=500):
                if record.session_id not in live:
                    views.append(stored_view(record, now=now))
        if self.config.cluster.node is not None:
            me = self.config.cluster.node
            views = [
                msgspec.structs.replace(v, node=me if v.session_id in live else None) for v in views
            ]
            owners = {
                r.session_id: _owner_node(r.owner)
                for r in await self.store.list_sessions(None, limit=10_000)
            }
            views = [
                v
                if v.node is not None
                else msgspec.structs.replace(v, node=owners.get(v.session_id))
                for v in views
            ]
        return views

    async def live_views(self) -> list[SessionView]:
        """The sessions this process runs (not those known only from the store)."""
        now = self._wall()
        worker = str(self.worker.index) if self.worker is not None else None
        return [msgspec.structs.replace(live_view(s, now=now), worker=worker) for s in self._live()]

    async def usage_report(
        self, *, key: str | None, since: str, until: str, group_by: list[str]
    ) -> dict[str, Any]:
        """Usage totals from the store (shared by every worker)."""
        return await usage_report(self.store, key=key, since=since, until=until, group_by=group_by)

    async def get_session(self, session_id: str) -> SessionView | None:
        session = self.gateway.live_session(session_id) if self.gateway else None
        if session is not None:
            return live_view(session, now=self._wall())
        record = await self.store.get_session(session_id)
        return None if record is None else stored_view(record, now=self._wall())

    async def close_live_session(self, session_id: str, *, reason: str) -> bool:
        """Close a session this process runs; False if it runs none by that id."""
        session = self.gateway.live_session(session_id) if self.gateway else None
        if session is None or session.ended.is_set():
            return False
        try:
            await session.inbox_send.send(Close(reason=reason))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        log.info("daemon.session_closed_by_admin", session_id=session_id, reason=reason)
        return True

    async def close_session(self, session_id: str, *, reason: str) -> bool:
        session = self.gateway.live_session(session_id) if self.gateway else None
        if session is not None and not session.ended.is_set():
            return await self.close_live_session(session_id, reason=reason)
        record = await self.store.get_session(session_id)
        if record is None or record.status == "closed":
            return False
        # Known only from the store: closing it revokes its handles.
        now = self._wall()
        await self.store.update_session(
            session_id, status="closed", closed_at=now, updated_at=now, last_close_reason=reason
        )
        return True

    async def mint_token(self, request: AuthTokenRequest) -> AuthTokenResponse:
        return await TokenMinter(self.config, self.store).mint(request, now=self._wall())

    def _live(self) -> list[Any]:
        return self.gateway.live_sessions() if self.gateway else []

    # -- start-up --------------------------------------------------------------------------

    def _resolve_admin_hash(self, config: Config) -> str | None:
        return resolve_admin_hash(config, self._environ)

    def _build_settings(self, config: Config, generation: int) -> GatewaySettings:
        """Blocking (imports tool modules)."""
        return GatewaySettings(
            config=config,
            profiles=build_profiles(config),
            auth=ClientAuth(config.gateway, self.store),
            generation=generation,
        )

    def _load_for_reload(self, path: str) -> Config:
        """Blocking (the watcher runs it in a thread): load, check, import tools, read the token."""
        config, _warnings = load_checked(path, strict_secrets=True, environ=self._environ)
        self._prepared = (build_profiles(config), self._resolve_admin_hash(config))
        return config

    def _on_config_change(self, old: Config, new: Config) -> None:
        if self._prepared is None:  # a reload that did not come through _load_for_reload
            log.error("config.apply_failed", error="reloaded config was not prepared")
            return
        profiles, admin_hash = self._prepared
        self._prepared = None
        self._settings = GatewaySettings(
            config=new,
            profiles=profiles,
            auth=ClientAuth(new.gateway, self.store),
            generation=self._holder.generation,
        )
        self._admin_hash = admin_hash
        if self._configure_logs and old.logging != new.logging:
            apply_logging(new.logging)

    def _upstream_factory(self) -> UpstreamFactory:
        if self._upstream_builder is not None:
            return self._upstream_builder(self)
        return library_upstream(self)

    # -- the children -------------------------------------------------------------------------

    async def _store_child(self, ctx: ChildContext, *, task_status: trio.TaskStatus[None]) -> None:
        config = self.config.store
        server: StoreServer | RedisStoreServer
        if isinstance(self.store, RedisStore):
            assert config.redis_url is not None
            server = RedisStoreServer(
                self.store, url=config.redis_url, timeout=config.timeout_seconds
            )
        else:
            assert config.path is not None
            server = StoreServer(
                self._store_receive,
                path=config.path,
                timeout=config.timeout_seconds,
                synchronous=config.synchronous,
            )
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            if self.worker is None:  # the master does it once for all its workers
                await store_upkeep(
                    nursery,
                    self.store,
                    config=lambda: self.config,
                    wall_clock=self._wall,
                    mark_orphans=self.config.cluster.node is None,
                )
            task_status.started()
            await ctx.wait_stop_requested()
            nursery.cancel_scope.cancel()

    async def _gateway_child(
        self, ctx: ChildContext, *, task_status: trio.TaskStatus[None]
    ) -> None:
        config = self.config
        context, ca_file = await trio.to_thread.run_sync(
            functools.partial(server_ssl_context, config.gateway.tls, host=config.gateway.host)
        )
        self.ca_file = ca_file
        worker = self.worker
        if self.gateway is None:
            self.gateway = Gateway(
                settings=self._current_settings,
                store=self.store,
                metrics=self.metrics,
                sessions=self._sessions,
                upstream_factory=self._upstream_factory(),
                wall_clock=self._wall,
                instance=self._instance(),
                peers=MasterPeers(worker) if worker is not None else self._peers,
            )
        gateway = self.gateway
        if worker is not None:  # the port the master reserved for all its workers
            config = self._with_port(config, worker.gateway_port)
        elif self.gateway_port is not None:  # a restart keeps the port clients know
            config = self._with_port(config, self.gateway_port)
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                functools.partial(
                    gateway.run, ssl_context=context, config=config, reuse_port=worker is not None
                )
            )
            self.gateway_port = port
            log.info("gateway.listening", url=self.gateway_url, ca_file=ca_file)
            if worker is not None:
                # A worker's own address, beside the shared port: the one way to reach
                # this worker by name (the kernel picks the worker on the shared port).
                direct = await nursery.start(
                    functools.partial(
                        gateway.listen, config, host=_DIRECT_HOST, port=0, ssl_context=context
                    )
                )
                self.direct_gateway_url = gateway_url(
                    self._with_address(config, _DIRECT_HOST, direct), direct
                )
                log.info("gateway.direct_listening", url=self.direct_gateway_url)
            if self.lease is not None:  # other nodes ask this one to release its sessions
                assert self._cluster_secret is not None
                host, _, cport = self.lease.info.address.rpartition(":")
                self.cluster_url = await nursery.start(
                    functools.partial(
                        serve_cluster,
                        gateway.release_session,
                        secret=self._cluster_secret,
                        host=host.strip("[]"),
                        port=int(cport),
                        wall_clock=self._wall,
                    )
                )
            task_status.started()
            await ctx.wait_stop_requested()
            nursery.cancel_scope.cancel()

    def _instance(self) -> str | None:
        """This process's name as a session owner: a worker's, or a fleet node's incarnation."""
        if self.worker is not None:
            return self.worker.instance
        return self.lease.info.owner if self.lease is not None else None

    async def _lease_child(self, ctx: ChildContext, *, task_status: trio.TaskStatus[None]) -> None:
        """Hold the node's lease; fence the store with it; on loss, stop and exit 1."""
        import coredis

        config = self.config
        cluster = config.cluster
        assert cluster.node is not None
        assert cluster.address is not None
        assert config.store.redis_url is not None
        assert isinstance(self.store, RedisStore)
        settings = LeaseSettings(
            ttl_seconds=cluster.lease_ttl_seconds,
            renew_every_seconds=cluster.lease_renew_seconds,
            margin_seconds=cluster.lease_margin_seconds,
            call_timeout_seconds=min(1.0, cluster.lease_renew_seconds),
        )
        # A connection of its own: a slow store call never delays a renewal.
        client = coredis.Redis.from_url(
            config.store.redis_url,
            connect_timeout=settings.call_timeout_seconds,
            stream_timeout=settings.call_timeout_seconds,
        )
        async with client:
            backend = self._lease_backend = RedisLeases(client, prefix=config.store.redis_prefix)
            lease = self.lease = NodeLease(backend, cluster.node, cluster.address, settings)
            self._peers = FleetPeers(
                backend, secret=self._cluster_secret or "", wall_clock=self._wall
            )
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(lease.run, self._on_fenced)
                    self.store.fence_with(
                        Fence(
                            key=backend.key(cluster.node), token=lease.info.token, valid=lease.valid
                        )
                    )
                    log.info("cluster.joined", node=cluster.node, owner=lease.info.owner)
                    task_status.started()
                    await ctx.wait_stop_requested()
                    await lease.release()
                    nursery.cancel_scope.cancel()
            except* LeaseLost:
                self.exit_code = 1
                self._shutdown.set()

    async def _on_fenced(self) -> None:
        """Stop every session before the lease can expire: clients get 1012 and resume elsewhere.

        The store refuses this node's writes from now on, so each record stays as
        last committed: resumable by the node that claims it once the lease is gone.
        """
        self.fenced = True
        self.metrics.ready.set(0)
        if self.gateway is not None:
            self.gateway.drain()
        sessions = [s for s in self._live() if not s.ended.is_set()]
        log.error("cluster.fenced", sessions=len(sessions))
        for session in sessions:
            try:
                await session.inbox_send.send(
                    Close(reason=_FENCED_REASON, code=CLOSE_SERVICE_RESTART)
                )
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
        for session in sessions:
            await session.ended.wait()

    @staticmethod
    def _with_port(config: Config, port: int) -> Config:
        import msgspec

        return msgspec.structs.replace(
            config, gateway=msgspec.structs.replace(config.gateway, port=port)
        )

    @staticmethod
    def _with_address(config: Config, host: str, port: int) -> Config:
        import msgspec

        return msgspec.structs.replace(
            config, gateway=msgspec.structs.replace(config.gateway, host=host, port=port)
        )

    def _current_settings(self) -> GatewaySettings:
        assert self._settings is not None
        return self._settings

    async def _watcher_child(
        self, ctx: ChildContext, *, task_status: trio.TaskStatus[None]
    ) -> None:
        assert self._config_path is not None
        watcher = ConfigWatcher(
            self._config_path,
            self._holder,
            self.metrics,
            load=self._load_for_reload,
            notifier=self._notifier,
        )
        with ctx.cancel_on_stop():
            await watcher.run(task_status=task_status)

    async def _admin_child(self, ctx: ChildContext, *, task_status: trio.TaskStatus[None]) -> None:
        if self.worker is not None:
            await self._private_admin(ctx, self.worker, task_status=task_status)
            return
        await admin_child(self, ctx, task_status=task_status)

    def admin_token_hash(self) -> str | None:
        """The admin token's hash now (it changes on SIGHUP)."""
        return self._admin_hash

    async def _private_admin(
        self, ctx: ChildContext, worker: WorkerRole, *, task_status: trio.TaskStatus[None]
    ) -> None:
        """The worker's admin API for its master only: loopback, ephemeral port, internal token."""
        assert self.gateway is not None  # started after the gateway
        token_hash = hash_key(worker.token)
        async with trio.open_nursery() as nursery:
            self.admin_url = await nursery.start(
                functools.partial(
                    serve_admin,
                    LiveOnly(self),
                    host="127.0.0.1",
                    port=0,
                    token_hash=token_hash,
                    release=self.gateway.release_session,
                )
            )
            task_status.started()
            await ctx.wait_stop_requested()
            nursery.cancel_scope.cancel()

    def _children(self) -> list[ChildSpec]:
        config = self.config
        children = [ChildSpec(id="store", start=self._store_child, shutdown=5.0)]
        if config.upstream.backend == "emulator" and self.worker is None:
            children.append(
                ChildSpec(
                    id="emulator", start=functools.partial(emulator_child, self), shutdown=5.0
                )
            )
        if config.cluster.node is not None and self.worker is None:
            # Temporary: a node that lost its lease never takes one again (it exits).
            children.append(
                ChildSpec(
                    id="lease", start=self._lease_child, restart=Restart.TEMPORARY, shutdown=5.0
                )
            )
        children.append(self._sessions.child_spec(id="sessions", restart=Restart.TRANSIENT))
        children.append(ChildSpec(id="gateway", start=self._gateway_child, shutdown=5.0))
        if self._config_path is not None and self._handle_signals:
            children.append(ChildSpec(id="config_watcher", start=self._watcher_child, shutdown=1.0))
        if config.admin.enabled or self.worker is not None:
            children.append(ChildSpec(id="admin", start=self._admin_child, shutdown=5.0))
        return children

    # -- life cycle --------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start every child, serve until SIGTERM/SIGINT or :meth:`request_shutdown`, drain, stop."""
        if self.worker is None:
            await self._run(task_status)
            return
        with bound_contextvars(worker=self.worker.index):
            await self._run(task_status)

    async def _run(self, task_status: trio.TaskStatus[None]) -> None:
        config = self.config
        if self._configure_logs:
            apply_logging(config.logging)
        # Handles, records, tokens and TLS keys live here: private to this user.
        await trio.to_thread.run_sync(private_dir, config.service.state_dir)
        self._admin_hash = await trio.to_thread.run_sync(self._resolve_admin_hash, config)
        if config.cluster.node is not None:
            self._cluster_secret = await trio.to_thread.run_sync(
                functools.partial(
                    read_secret,
                    env=config.cluster.secret_env,
                    file=config.cluster.secret_file,
                    environ=self._environ,
                )
            )
        self._settings = await trio.to_thread.run_sync(self._build_settings, config, 1)
        self._holder.on_change(self._on_config_change)
        self.service = Supervisor(
            "service",
            self._children(),
            intensity=config.supervision.intensity,
            period=config.supervision.period_seconds,
            backoff=_backoff(config),
        )
        async with trio.open_nursery() as nursery:
            if self._handle_signals:
                nursery.start_soon(self._signals)
            if self.worker is not None and self._handle_signals:
                nursery.start_soon(watch_master, self)
            await nursery.start(self.service.run)
            self._started = True
            if self._tune_gc:
                # Everything alive now lives as long as the process: out of the
                # collector's sight, so its pauses scale with sessions only.
                tuning = tune_collector()
                log.info(
                    "daemon.gc_tuned",
                    frozen_objects=tuning.frozen_objects,
                    thresholds=list(tuning.thresholds),
                )
            ready = {
                "name": config.service.name,
                "gateway": self.gateway_url,
                "admin": self.admin_url,
                "upstream": config.upstream.backend,
                "ca_file": self.ca_file,
            }
            if self.worker is not None:
                log.info("worker.ready", **ready)
            else:
                log.info("daemon.ready", **ready)
            # systemd (ops): READY=1 once listening, then the watchdog while the loop turns.
            self._notifier.ready()
            nursery.start_soon(self._notifier.feed_watchdog)
            task_status.started()
            await self._shutdown.wait()
            await self._drain_and_stop()
            nursery.cancel_scope.cancel()
        log.info("daemon.stopped")

    async def _signals(self) -> None:
        # A worker leaves SIGINT ignored: its master drains it with SIGTERM.
        wanted = (signal.SIGTERM,) if self.worker is not None else (signal.SIGTERM, signal.SIGINT)
        with trio.open_signal_receiver(*wanted) as signals:
            async for signum in signals:
                if self._shutdown.is_set() and self.worker is not None:
                    # A group-wide SIGTERM reaches a worker beside its master's own.
                    log.info("worker.signal_ignored", signal=signal.Signals(signum).name)
                    continue
                if self._shutdown.is_set():
                    log.warning("daemon.second_signal", signal=signal.Signals(signum).name)
                    raise KeyboardInterrupt  # a second signal: stop at once
                log.info("daemon.signal", signal=signal.Signals(signum).name)
                self._shutdown.set()

    async def _drain_and_stop(self) -> None:
        timeout = self.config.service.shutdown_timeout_seconds
        self._draining = True
        self._notifier.stopping()  # systemd (ops)
        self.metrics.ready.set(0)
        busy = sum(1 for s in self._live() if s.busy)
        log.info("daemon.draining", sessions=len(self._live()), busy=busy, timeout=timeout)
        if self.gateway is not None:
            self.gateway.drain()
        # Sessions first, while the gateway still holds their client connections.
        with trio.move_on_after(timeout + 5):
            await self._sessions.stop()
        if self.lease is not None:
            # Every record is committed, then the lease goes: other nodes claim at once.
            if self.gateway is not None:
                with trio.move_on_after(5):
                    await self.gateway.writer.flush()
            await self.lease.release()
        assert self.service is not None
        await self.service.stop()
