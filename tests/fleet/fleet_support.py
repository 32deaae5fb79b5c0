"""A real fleet for tests: ``livesvc serve`` nodes as processes, HAProxy in front, Redis shared.

Every server is real and on loopback (or in network namespaces, see
:mod:`.netns`): ``redis-server`` (the run's ``redis_url`` fixture), the
emulator as the upstream (its echo counter shows a conversation lost nothing
and repeated nothing), Debian's ``haproxy`` with ``deploy/haproxy.cfg``
terminating TLS, and one ``livesvc serve`` process per node. Leases are short
(ttl 3 s, renew 0.5 s, margin 1 s) so a dead node's sessions move in seconds.

The client is the stock google-genai SDK; a resume adds the routing header
``X-Livesvc-Resume: <handle>`` through ``http_options.headers``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import coredis
import pytest
import trio
from google import genai
from google.genai import types

from livesvc.config import hash_key

from ..daemon.e2e_support import DaemonProcess
from ..real_servers import free_port

KEY = "fleet-client-key"
ADMIN_TOKEN = "fleet-admin-token"
UPSTREAM_KEY = "fleet-upstream-key"
SECRET = "fleet-cluster-secret-0123456789"
NODES = ("a", "b", "c")
HAPROXY_CFG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
SDK_TIMEOUT = 30.0
RESUMABLE = types.LiveConnectConfig(
    response_modalities=[types.Modality.TEXT], session_resumption=types.SessionResumptionConfig()
)


def node_config(
    *,
    name: str,
    state_dir: Path,
    host: str,
    gateway_port: int,
    admin_port: int,
    cluster_port: int,
    redis_url: str,
    redis_prefix: str,
    upstream_url: str,
) -> str:
    return f"""
[service]
state_dir = "{state_dir}"
shutdown_timeout_seconds = 5
[logging]
level = "info"
format = "json"
[gateway]
host = "{host}"
port = {gateway_port}
grace_period_seconds = 60
[gateway.tls]
mode = "off"
[[gateway.keys]]
name = "k"
hash = "{hash_key(KEY)}"
[admin]
host = "{host}"
port = {admin_port}
token_hash = "{hash_key(ADMIN_TOKEN)}"
[upstream]
backend = "gemini"
base_url = "{upstream_url}"
api_key_env = "LIVESVC_FLEET_UPSTREAM_KEY"
[store]
backend = "redis"
redis_url = "{redis_url}"
redis_prefix = "{redis_prefix}"
[cluster]
node = "node-{name}"
address = "{host}:{cluster_port}"
secret_env = "LIVESVC_FLEET_SECRET"
lease_ttl_seconds = 3
lease_renew_seconds = 0.5
lease_margin_seconds = 1
[profiles.default]
model = "gemini-live-2.5-flash-preview"
generation_config = {{ response_modalities = ["TEXT"] }}
client_overridable = ["generation_config.response_modalities"]
"""


class Node(DaemonProcess):
    """One ``livesvc serve`` node; ``prefix`` runs it elsewhere (``ip netns exec NS``)."""

    def __init__(
        self,
        name: str,
        config_path: Path,
        host: str,
        ports: tuple[int, int, int],
        prefix: Sequence[str] = (),
    ) -> None:
        super().__init__(
            config_path,
            {"LIVESVC_FLEET_UPSTREAM_KEY": UPSTREAM_KEY, "LIVESVC_FLEET_SECRET": SECRET},
        )
        self.name = name
        self.node = f"node-{name}"
        self.host = host
        self.gateway_port, self.admin_port, self.cluster_port = ports
        self._prefix = list(prefix)

    async def start(self, nursery: trio.Nursery) -> None:
        self.process = await trio.lowlevel.open_process(
            [
                *self._prefix,
                sys.executable,
                "-m",
                "livesvc",
                "serve",
                "--config",
                str(self.config_path),
            ],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env={**os.environ, **self.env},
        )
        nursery.start_soon(self._read_logs)
        with trio.fail_after(30):
            ready = await self.wait_for("daemon.ready")
        self.admin_url = ready["admin"]

    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def stop_now(self) -> None:
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()


def tls_files(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for HAProxy: (cert+key PEM for HAProxy, cert for the client)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    combined = directory / "haproxy.pem"
    combined.write_bytes(cert.read_bytes() + key.read_bytes())
    combined.chmod(0o600)
    return combined, cert


class HAProxy:
    """``haproxy -db -f deploy/haproxy.cfg`` with TLS on a free loopback port."""

    def __init__(self, directory: Path, nodes: dict[str, Node]) -> None:
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).exists():
            pytest.fail("haproxy is not installed: run `make test`, which installs it")
        pem, self.ca_file = tls_files(directory)
        self.log = directory / "haproxy.log"
        self.port = free_port()
        env = dict(
            os.environ,
            LIVESVC_LISTEN=f"127.0.0.1:{self.port}",
            LIVESVC_BIND_OPTIONS=f"ssl crt {pem}",
        )
        for name, node in nodes.items():
            suffix = name.upper()
            env[f"LIVESVC_NODE_{suffix}"] = f"{node.host}:{node.gateway_port}"
            env[f"LIVESVC_ADMIN_HOST_{suffix}"] = node.host
            env[f"LIVESVC_ADMIN_PORT_{suffix}"] = str(node.admin_port)
        self.process = subprocess.Popen(
            [binary, "-db", "-f", str(HAPROXY_CFG)],
            env=env,
            cwd=directory,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )
        # HAProxy says nothing when it listens: wait (bounded) until it accepts.
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError("HAProxy did not start") from None
                time.sleep(0.02)

    async def wait_down(self, name: str, bound: float = 15.0) -> None:
        """Until HAProxy's health checks take ``node-<name>`` out (its stderr says so)."""
        line = f"Server fleet/node-{name} is DOWN".encode()
        with trio.fail_after(bound):
            while line not in self.log.read_bytes():  # noqa: ASYNC110 (another process's log)
                await trio.sleep(0.05)

    async def wait_up(self, name: str, bound: float = 15.0) -> None:
        """Until HAProxy's checks bring ``node-<name>`` back after it was DOWN."""
        down = f": Server fleet/node-{name} is DOWN".encode()  # HAProxy's own [WARNING] line
        up = f": Server fleet/node-{name} is UP".encode()
        with trio.move_on_after(bound):
            while self.log.read_bytes().count(up) < self.log.read_bytes().count(down):  # noqa: ASYNC110
                await trio.sleep(0.05)
            return
        raise AssertionError(f"node-{name} not back up: {self.log.read_text()[-2000:]}")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def sdk_client(
    base_url: str,
    ca_file: Path,
    *,
    key: str = KEY,
    headers: dict[str, str] | None = None,
    api_version: str | None = None,
) -> genai.Client:
    context = ssl.create_default_context(cafile=str(ca_file))
    options: dict[str, Any] = {"base_url": base_url, "async_client_args": {"ssl": context}}
    if headers:
        options["headers"] = headers
    if api_version is not None:
        options["api_version"] = api_version
    return genai.Client(api_key=key, http_options=types.HttpOptions(**options))


class Chat:
    """One SDK Live session (used in a worker thread): says things, remembers the newest handle."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.handle: str | None = None

    async def say(self, text: str) -> str:
        await self.session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=text)])
        )
        parts: list[str] = []
        async for message in self.session.receive():
            update = message.session_resumption_update
            if update is not None and update.resumable and update.new_handle:
                self.handle = update.new_handle
            content = message.server_content
            if content and content.model_turn:
                parts += [p.text for p in content.model_turn.parts or () if p.text]
        return "".join(parts)

    async def wait_handle(self) -> str:
        """The daemon's handle: it follows the store's commit, which may come after the turn."""
        if self.handle is None:
            async for message in self.session.receive():
                update = message.session_resumption_update
                if update is not None and update.resumable and update.new_handle:
                    self.handle = update.new_handle
                    break
        assert self.handle is not None
        return self.handle


def run_chat(
    base_url: str,
    ca_file: Path,
    script: Callable[[Chat], Awaitable[Any]],
    *,
    handle: str | None = None,
    route: bool = True,
    route_to: str | None = None,
    key: str = KEY,
    api_version: str | None = None,
) -> Any:
    """Connect through HAProxy (resuming ``handle``, with the routing header if ``route``;
    ``route_to`` sends a new session to that node)."""
    headers = {"X-Livesvc-Resume": handle} if handle and route else None
    if route_to is not None:  # a new session sent to one node (HAProxy reads field 2 only)
        headers = {"X-Livesvc-Resume": f"lsh.{route_to}.new"}
    config = RESUMABLE
    if handle is not None:
        config = types.LiveConnectConfig(
            response_modalities=[types.Modality.TEXT],
            session_resumption=types.SessionResumptionConfig(handle=handle),
        )

    async def main() -> Any:
        client = sdk_client(base_url, ca_file, key=key, headers=headers, api_version=api_version)
        async with asyncio.timeout(SDK_TIMEOUT):
            async with client.aio.live.connect(
                model="gemini-live-2.5-flash-preview", config=config
            ) as session:
                return await script(Chat(session))

    return asyncio.run(main())


async def chat(proxy: HAProxy, script: Callable[[Chat], Awaitable[Any]], **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(
        lambda: run_chat(proxy.url, proxy.ca_file, script, **kwargs)
    )


async def lease_gone(redis_url: str, prefix: str, node: str, bound: float = 15.0) -> None:
    """Wait (bounded) until ``node``'s lease key is gone from Redis: expired or deleted."""
    async with coredis.Redis.from_url(redis_url) as client:
        with trio.fail_after(bound):
            while await client.exists([f"{prefix}node:{node}"]):  # noqa: ASYNC110 (state in Redis, bounded)
                await trio.sleep(0.05)


async def session_record(redis_url: str, prefix: str, session_id: str) -> dict[Any, Any]:
    """The session's hash in Redis, as it is now."""
    async with coredis.Redis.from_url(redis_url) as client:
        return dict(await client.hgetall(f"{prefix}s:{session_id}"))
