"""``livesvc serve`` with ``[service] workers = N`` (N > 1): the master process.

::

    master  (livesvc serve --config FILE)
    ├── store            the shared SQLite file: orphans marked once, tokens, stored sessions
    ├── emulator         only with upstream.backend = "emulator": ONE upstream for all workers
    ├── internal API     loopback, internal token: routes session releases between workers
    ├── workers          supervisor (one_for_one, [supervision] intensity/period/backoff)
    │   ├── worker-0     livesvc serve --config FILE --worker 0  (a Daemon, SO_REUSEPORT)
    │   └── worker-1     ...
    └── admin API        the configured address: probes, merged metrics, sessions, tokens

Before any worker starts, the master creates the state directory, the store's
schema and the self-signed TLS material, and reserves the gateway port (so
``port = 0`` gives every worker the same port, and a restarted worker finds it
again). Each worker binds that port with ``SO_REUSEPORT``; the kernel spreads
connections between them. A worker that exits on its own is restarted with
backoff (its attached sessions are marked detached; their clients resume on
any worker). SIGHUP reloads the master's file and is forwarded to every worker
(each reloads as a single daemon does); SIGTERM or SIGINT drains every worker
at once, and the master exits 0 when all of them did.

The admin API fans out to the workers' private endpoints (loopback, ephemeral
ports, a random internal token that is never logged): readiness is every
worker's, metrics are merged with a ``worker`` label, sessions are listed,
inspected and closed wherever they run.
"""

from __future__ import annotations

import functools
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import msgspec
import trio
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from livesvc._private import private_dir
from livesvc._server import HttpError, HttpRequest, HttpResponse, Router, WebSocketUpgrade, serve
from livesvc.admin import Readiness, SessionView
from livesvc.config import Config, load_checked
from livesvc.daemon._children import admin_child, emulator_child, store_upkeep
from livesvc.daemon._daemon import _backoff, gateway_url, resolve_admin_hash
from livesvc.daemon._exposition import merge_expositions
from livesvc.daemon._logging import apply_logging
from livesvc.daemon._reload import ConfigHolder, ConfigWatcher
from livesvc.daemon._systemd import Notifier
from livesvc.daemon._views import stored_view
from livesvc.daemon._worker import WorkerReady, WorkerRole
from livesvc.gateway import AuthTokenRequest, AuthTokenResponse, TokenMinter
from livesvc.gateway._gateway import Handover
from livesvc.gateway._tls import server_ssl_context
from livesvc.logs import get_logger
from livesvc.metrics import DaemonMetrics, register_process_metrics
from livesvc.store import RecordStatus, Store, StoreServer, open_store_channel
from livesvc.store._sql import connect as connect_store
from livesvc.usage import usage_report
from supervisors import ChildContext, ChildSpec, Restart, Supervisor

__all__ = ["Master", "WorkerExited"]

log = get_logger(__name__)

_READY_TIMEOUT = 60.0  # a worker imports, opens the store and binds before it is ready
_FAN_OUT_TIMEOUT = 5.0
# The owner may let a running turn finish (10 s), then drain its side; the worker asking
# waits a little longer than this, and its gateway longer still, so the answer arrives.
_RELEASE_TIMEOUT = 25.0
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_ready_decoder = msgspec.json.Decoder(WorkerReady)
_role_encoder = msgspec.json.Encoder()


class WorkerExited(Exception):
    """A worker process ended without being asked to (its supervisor restarts it)."""


class _ReleaseRoute(msgspec.Struct, frozen=True, kw_only=True):
    owner: str
    session_id: str
    claimant: str


class _SessionList(msgspec.Struct, frozen=True):
    sessions: list[SessionView]


_release_route = msgspec.json.Decoder(_ReleaseRoute)
_session_list = msgspec.json.Decoder(_SessionList)
_session_view = msgspec.json.Decoder(SessionView)


class _Worker:
    """The master's view of one running worker process."""

    def __init__(self, index: int, instance: str, process: trio.Process) -> None:
        self.index = index
        self.instance = instance
        self.process = process
        self.admin_url = ""
        self.signalled = False

    def terminate(self) -> None:
        """SIGTERM, once: a second one would make the worker stop without draining."""
        if not self.signalled and self.process.returncode is None:
            self.signalled = True
            self.process.send_signal(signal.SIGTERM)


class Master:
    """The master of N worker processes. Build it from a config, then ``await master.run()``.

    Example::

        master = Master(load_config("livesvc.toml"), config_path="livesvc.toml")
        trio.run(master.run)       # until SIGTERM/SIGINT; then master.exit_code
    """

    def __init__(
        self,
        config: Config,
        *,
        config_path: str,
        environ: Mapping[str, str] | None = None,
        configure_logs: bool = False,
        handle_signals: bool = True,
        worker_command: Callable[[int], list[str]] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._holder = ConfigHolder(config)
        self._config_path = config_path
        self._environ = environ
        self._configure_logs = configure_logs
        self._handle_signals = handle_signals
        # systemd (ops): the master alone speaks to the manager; workers never do.
        self._notifier = Notifier.from_environ(environ)
        self._command = worker_command or self._default_command
        self._wall = wall_clock
        self._token = secrets.token_urlsafe(32)
        self._headers = {"authorization": f"Bearer {self._token}"}
        store_send, self._store_receive = open_store_channel()
        self.store = Store(store_send, timeout=config.store.timeout_seconds)
        self.workers: dict[int, _Worker] = {}
        self.emulator: Any = None
        self.service: Supervisor | None = None  # the master's tree (see _children)
        self.emulator_key = "emu_" + secrets.token_urlsafe(24)
        self.gateway_port: int | None = None
        self.admin_url: str | None = None
        self.ca_file: str | None = None
        self.exit_code = 0
        self._internal_url = ""
        self._reserved: list[socket.socket] = []
        self._admin_hash: str | None = None
        self._prepared_hash: str | None = None
        self._supervisor: Supervisor | None = None
        self._http: httpx.AsyncClient | None = None
        self._shutdown = trio.Event()
        self._started = False
        self._draining = False
        self._registry = CollectorRegistry()
        # opsview: the master's own process_*, python_info and build_info, as every worker's.
        register_process_metrics(self._registry)
        self._running = Gauge(
            "livesvc_workers_running", "Worker processes ready.", registry=self._registry
        )
        self._restarts = Counter(
            "livesvc_worker_exits",
            "Worker processes that exited without being asked to (each is restarted).",
            registry=self._registry,
        )

    @property
    def config(self) -> Config:
        return self._holder.current

    @property
    def gateway_url(self) -> str | None:
        return gateway_url(self.config, self.gateway_port)

    def request_shutdown(self) -> None:
        """Drain every worker and stop, as SIGTERM does."""
        self._shutdown.set()

    # -- start-up ---------------------------------------------------------------------

    def _default_command(self, index: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "livesvc",
            "serve",
            "--config",
            self._config_path,
            "--worker",
            str(index),
        ]

    def _resolve_admin_hash(self, config: Config) -> str | None:
        return resolve_admin_hash(config, self._environ)

    def _prepare(self) -> None:
        """Blocking: what must exist once before any worker starts."""
        config = self.config
        private_dir(config.service.state_dir)
        assert config.store.path is not None
        connect_store(
            config.store.path,
            synchronous=config.store.synchronous,
            busy_timeout=config.store.timeout_seconds,
        ).close()
        _, self.ca_file = server_ssl_context(config.gateway.tls, host=config.gateway.host)
        self._reserved, self.gateway_port = _reserve_port(config.gateway.host, config.gateway.port)

    def _load_for_reload(self, path: str) -> Config:
        config, _warnings = load_checked(path, strict_secrets=True, environ=self._environ)
        self._prepared_hash = self._resolve_admin_hash(config)
        return config

    def _on_config_change(self, old: Config, new: Config) -> None:
        self._admin_hash = self._prepared_hash
        if self._configure_logs and old.logging != new.logging:
            apply_logging(new.logging)

    # -- life cycle ---------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Prepare, start the emulator and every worker, serve until SIGTERM/SIGINT, drain, stop."""
        config = self.config
        if self._configure_logs:
            apply_logging(config.logging)
        self._admin_hash = await trio.to_thread.run_sync(self._resolve_admin_hash, config)
        await trio.to_thread.run_sync(self._prepare)
        self._holder.on_change(self._on_config_change)
        try:
            async with httpx.AsyncClient(timeout=_FAN_OUT_TIMEOUT) as http:
                self._http = http
                async with trio.open_nursery() as nursery:
                    await self._start(nursery)
                    task_status.started()
                    await self._shutdown.wait()
                    await self._drain_and_stop()
                    nursery.cancel_scope.cancel()
        finally:
            for sock in self._reserved:
                sock.close()
        log.info("daemon.stopped", exit_code=self.exit_code)

    async def _start(self, nursery: trio.Nursery) -> None:
        config = self.config
        self._supervisor = Supervisor(
            "workers",
            [
                ChildSpec(
                    id=f"worker-{i}",
                    start=functools.partial(self._worker_child, i),
                    restart=Restart.PERMANENT,
                    shutdown=config.service.shutdown_timeout_seconds + 10.0,
                )
                for i in range(config.service.workers)
            ],
            intensity=max(config.supervision.intensity, config.service.workers),
            period=config.supervision.period_seconds,
            backoff=_backoff(config),
        )
        # The daemon's shape: a "service" supervisor, store first, the emulator, what
        # serves (here: the internal endpoint and the workers), then admin and signals.
        self.service = Supervisor(
            "service",
            self._children(),
            intensity=config.supervision.intensity,
            period=config.supervision.period_seconds,
            backoff=_backoff(config),
        )
        await nursery.start(self.service.run)
        self._started = True
        log.info(
            "daemon.ready",
            name=config.service.name,
            gateway=self.gateway_url,
            admin=self.admin_url,
            upstream=config.upstream.backend,
            ca_file=self.ca_file,
            workers=config.service.workers,
        )
        # systemd (ops): READY=1 once every worker listens, then the watchdog.
        self._notifier.ready()
        nursery.start_soon(self._notifier.feed_watchdog)

    def _children(self) -> list[ChildSpec]:
        config = self.config
        assert self._supervisor is not None
        children = [ChildSpec(id="store", start=self._store_child, shutdown=5.0)]
        if config.upstream.backend == "emulator":
            children.append(
                ChildSpec(
                    id="emulator", start=functools.partial(emulator_child, self), shutdown=5.0
                )
            )
        children.append(ChildSpec(id="internal", start=self._internal_child, shutdown=1.0))
        # Transient: its stop at a drain is the end of it; a crash restarts it.
        children.append(self._supervisor.child_spec(id="workers", restart=Restart.TRANSIENT))
        if config.admin.enabled:
            children.append(
                ChildSpec(id="admin", start=functools.partial(admin_child, self), shutdown=5.0)
            )
        if self._handle_signals:
            children.append(ChildSpec(id="signals", start=self._signals_child, shutdown=1.0))
        return children

    async def _store_child(self, ctx: ChildContext, *, task_status: trio.TaskStatus[None]) -> None:
        config = self.config.store
        server = StoreServer(
            self._store_receive,
            path=config.path or "",
            timeout=config.timeout_seconds,
            synchronous=config.synchronous,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(server.run)
            await store_upkeep(
                nursery, self.store, config=lambda: self.config, wall_clock=self._wall
            )
            task_status.started()
            await ctx.wait_stop_requested()
            nursery.cancel_scope.cancel()

    async def _internal_child(
        self, ctx: ChildContext, *, task_status: trio.TaskStatus[None]
    ) -> None:
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                functools.partial(
                    serve, self._no_websocket, self._internal_router().dispatch, host="127.0.0.1"
                )
            )
            self._internal_url = f"http://127.0.0.1:{port}"
            task_status.started()
            await ctx.wait_stop_requested()
            nursery.cancel_scope.cancel()

    def admin_token_hash(self) -> str | None:
        """The admin token's hash now (it changes on SIGHUP)."""
        return self._admin_hash

    async def _signals_child(
        self, ctx: ChildContext, *, task_status: trio.TaskStatus[None]
    ) -> None:
        with ctx.cancel_on_stop():
            await self._signals(task_status=task_status)

    async def _signals(self, *, task_status: trio.TaskStatus[None]) -> None:
        watcher = ConfigWatcher(
            self._config_path,
            self._holder,
            DaemonMetrics(),
            load=self._load_for_reload,
            notifier=self._notifier,
        )
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            task_status.started()
            async for signum in signals:
                name = signal.Signals(signum).name
                if signum == signal.SIGHUP:
                    await watcher.reload()
                    for worker in list(self.workers.values()):
                        if worker.process.returncode is None:
                            worker.process.send_signal(signal.SIGHUP)
                    log.info("master.reload_forwarded", workers=len(self.workers))
                    continue
                if self._shutdown.is_set():
                    log.warning("daemon.second_signal", signal=name)
                    for worker in list(self.workers.values()):
                        if worker.process.returncode is None:
                            worker.process.kill()
                    raise KeyboardInterrupt
                log.info("daemon.signal", signal=name)
                self._shutdown.set()

    async def _drain_and_stop(self) -> None:
        self._draining = True
        self._notifier.stopping()  # systemd (ops)
        log.info("daemon.draining", workers=len(self.workers))
        # Every worker drains at once; the supervisor then waits for each to exit.
        for worker in list(self.workers.values()):
            worker.terminate()
        assert self._supervisor is not None
        await self._supervisor.stop()
        if self.service is not None:
            await self.service.stop()  # then the rest, in reverse start order

    # -- one worker process ----------------------------------------------------------------

    async def _worker_child(
        self, index: int, ctx: ChildContext, *, task_status: trio.TaskStatus[None]
    ) -> None:
        instance = f"{index}.{secrets.token_hex(3)}"
        role = WorkerRole(
            index=index,
            instance=instance,
            token=self._token,
            master_url=self._internal_url,
            gateway_port=self.gateway_port or 0,
            emulator_url=self.emulator.http_base_url if self.emulator is not None else None,
            emulator_key=self.emulator_key if self.emulator is not None else None,
        )
        process = await trio.lowlevel.open_process(
            self._command(index),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # Same process group as the master (a service manager's or a benchmark's
            # group signal and CPU accounting cover the workers); a worker ignores
            # SIGINT and a repeated SIGTERM, so the master's forwarding is what counts.
        )
        worker = _Worker(index, instance, process)
        try:
            assert process.stdin is not None
            assert process.stdout is not None
            await process.stdin.send_all(_role_encoder.encode(role) + b"\n")
            with trio.fail_after(_READY_TIMEOUT):
                ready = await _read_ready(process.stdout)
            if ready is None:
                raise WorkerExited(f"worker {index} exited before it was ready")
            worker.admin_url = ready.admin_url
            self.workers[index] = worker
            self._running.set(len(self.workers))
            log.info(
                "master.worker_ready",
                worker=index,
                instance=instance,
                pid=process.pid,
                direct_url=ready.direct_url,
            )
            task_status.started()
            async with trio.open_nursery() as watch:
                watch.start_soon(self._terminate_on_stop, ctx, worker)
                watch.start_soon(_discard, process.stdout)
                code = await process.wait()
                watch.cancel_scope.cancel()
            if ctx.stop_requested or self._draining:
                log.info("master.worker_stopped", worker=index, exit_code=code)
                if code != 0:
                    self.exit_code = 1
                return
            self._restarts.inc()
            log.error("master.worker_exited", worker=index, instance=instance, exit_code=code)
            await self._forget_owner(instance)
            raise WorkerExited(f"worker {index} exited with {code}")
        finally:
            if self.workers.get(index) is worker:
                del self.workers[index]
                self._running.set(len(self.workers))
            with trio.move_on_after(5, shield=True):
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                if process.stdin is not None:
                    await process.stdin.aclose()

    async def _terminate_on_stop(self, ctx: ChildContext, worker: _Worker) -> None:
        await ctx.wait_stop_requested()
        worker.terminate()

    async def _forget_owner(self, instance: str) -> None:
        try:
            detached = await self.store.detach_owned_by(instance, now=self._wall())
        except Exception as err:  # the store being down must not stop the restart
            log.error("master.detach_failed", instance=instance, error=type(err).__name__)
            return
        if detached:
            log.info("store.sessions_restorable", sessions=detached, instance=instance)

    # -- the internal API (workers -> master) ------------------------------------------------

    def _internal_router(self) -> Router:
        router = Router()
        router.add("POST", "/internal/release", self._route_release)
        return router

    async def _no_websocket(self, upgrade: WebSocketUpgrade) -> None:
        await upgrade.reject(404, "Not found.")

    def _check_internal(self, request: HttpRequest) -> None:
        presented = (request.headers.get("authorization") or "").partition(" ")[2].strip()
        if not secrets.compare_digest(presented.encode(), self._token.encode()):
            raise HttpError(403, "Internal token not valid.")

    async def _route_release(self, request: HttpRequest) -> HttpResponse:
        """A worker asks for a session another worker owns: pass the request to the owner."""
        self._check_internal(request)
        try:
            route = _release_route.decode(request.body)
        except msgspec.DecodeError as err:
            raise HttpError(400, f"Invalid release request: {err}") from None
        owner = next((w for w in self.workers.values() if w.instance == route.owner), None)
        if owner is None:
            return HttpResponse.json(Handover(released=False, owner_gone=True))
        assert self._http is not None
        try:
            answer = await self._http.post(
                f"{owner.admin_url}/internal/sessions/{route.session_id}/release",
                json={"claimant": route.claimant},
                headers=self._headers,
                timeout=_RELEASE_TIMEOUT,
            )
        except httpx.TransportError as err:
            if owner.process.returncode is not None:  # it died just now
                return HttpResponse.json(Handover(released=False, owner_gone=True))
            log.warning("master.release_failed", owner=route.owner, error=type(err).__name__)
            raise HttpError(503, "The owner did not answer.") from None
        return HttpResponse(status=answer.status_code, body=answer.content)

    # -- the admin API (DaemonControl), fanned out to the workers ---------------------------

    async def _ask_all(self, ask: Callable[[_Worker], Awaitable[Any]]) -> dict[int, Any]:
        """``ask(worker)`` for every ready worker at once; a worker that fails is left out."""
        answers: dict[int, Any] = {}

        async def one(worker: _Worker) -> None:
            try:
                answers[worker.index] = await ask(worker)
            except (httpx.HTTPError, msgspec.DecodeError) as err:
                log.warning("master.fan_out_failed", worker=worker.index, error=type(err).__name__)

        async with trio.open_nursery() as nursery:
            for worker in list(self.workers.values()):
                nursery.start_soon(one, worker)
        return answers

    def _get(self, worker: _Worker, path: str, **kwargs: Any) -> Awaitable[httpx.Response]:
        assert self._http is not None
        return self._http.get(f"{worker.admin_url}{path}", headers=self._headers, **kwargs)

    async def readiness(self) -> Readiness:
        async def ready(worker: _Worker) -> bool:
            return (await self._get(worker, "/readyz")).status_code == 200

        answers = await self._ask_all(ready)
        checks = {f"worker_{i}": bool(answers.get(i)) for i in range(self.config.service.workers)}
        checks["accepting"] = self._started and not self._draining
        return Readiness(ready=all(checks.values()), checks=checks)

    async def metrics_exposition(self) -> tuple[bytes, str]:
        async def metrics(worker: _Worker) -> bytes:
            response = await self._get(worker, "/metrics")
            response.raise_for_status()
            return response.content

        answers = await self._ask_all(metrics)
        sources = [(str(i), answers[i]) for i in sorted(answers)]
        sources.append(("master", generate_latest(self._registry)))
        return merge_expositions(sources), _CONTENT_TYPE

    async def _live_views(self, status: str | None = None) -> list[SessionView]:
        async def views(worker: _Worker) -> list[SessionView]:
            params = {"status": status} if status is not None else {}
            response = await self._get(worker, "/v1/sessions", params=params)
            response.raise_for_status()
            return _session_list.decode(response.content).sessions

        answers = await self._ask_all(views)
        return [view for i in sorted(answers) for view in answers[i]]

    async def list_sessions(self, *, status: str | None = None) -> list[SessionView]:
        live = await self._live_views()
        views = [v for v in live if status is None or v.status == status]
        known = {v.session_id for v in live}
        if status in (None, "detached", "closed"):
            wanted: list[RecordStatus] | None = None
            if status == "detached":
                wanted = ["detached"]
            elif status == "closed":
                wanted = ["closed"]
            now = self._wall()
            for record in await self.store.list_sessions(wanted, limit=500):
                if record.session_id not in known:
                    views.append(stored_view(record, now=now))
        return views

    async def usage_report(
        self, *, key: str | None, since: str, until: str, group_by: list[str]
    ) -> dict[str, Any]:
        """Usage totals from the store (shared by every worker)."""
        return await usage_report(self.store, key=key, since=since, until=until, group_by=group_by)

    async def get_session(self, session_id: str) -> SessionView | None:
        async def view(worker: _Worker) -> SessionView | None:
            response = await self._get(worker, f"/v1/sessions/{session_id}")
            return _session_view.decode(response.content) if response.status_code == 200 else None

        found = [v for v in (await self._ask_all(view)).values() if v is not None]
        if found:
            return found[0]
        record = await self.store.get_session(session_id)
        return None if record is None else stored_view(record, now=self._wall())

    async def close_session(self, session_id: str, *, reason: str) -> bool:
        async def close(worker: _Worker) -> bool:
            assert self._http is not None
            response = await self._http.delete(
                f"{worker.admin_url}/v1/sessions/{session_id}",
                params={"reason": reason},
                headers=self._headers,
            )
            return response.status_code == 200

        if any((await self._ask_all(close)).values()):
            log.info("daemon.session_closed_by_admin", session_id=session_id, reason=reason)
            return True
        record = await self.store.get_session(session_id)
        if record is None or record.status == "closed":
            return False
        now = self._wall()
        await self.store.update_session(
            session_id, status="closed", closed_at=now, updated_at=now, last_close_reason=reason
        )
        return True

    async def mint_token(self, request: AuthTokenRequest) -> AuthTokenResponse:
        return await TokenMinter(self.config, self.store).mint(request, now=self._wall())


async def _read_ready(stream: trio.abc.ReceiveStream) -> WorkerReady | None:
    """The worker's ready line; ``None`` if its stdout closes first (it exited)."""
    buffer = b""
    while b"\n" not in buffer:
        chunk = await stream.receive_some(4096)
        if not chunk:
            return None
        buffer += chunk
    return _ready_decoder.decode(buffer.split(b"\n", 1)[0])


async def _discard(stream: trio.abc.ReceiveStream) -> None:
    """Keep reading a worker's stdout, so a stray print never blocks it on a full pipe."""
    while await stream.receive_some(4096):
        pass


def _reserve_port(host: str, port: int) -> tuple[list[socket.socket], int]:
    """Bind (not listen) ``host:port`` with ``SO_REUSEPORT``; port 0 picks one for all workers.

    The master holds these sockets for its whole life, so the port stays the
    daemon's while workers restart. Only listening sockets receive connections.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    chosen = port
    try:
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address[0], chosen, *address[2:]))
            chosen = sock.getsockname()[1]
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets, chosen
