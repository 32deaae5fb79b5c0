"""Helpers for the end-to-end tests: config files, an SDK client in a thread, daemon processes.

The google-genai SDK runs on asyncio, so each SDK conversation runs in a worker
thread (``trio.to_thread.run_sync``) with its own event loop, and calls back
into trio with ``trio.from_thread.run`` to inject faults between turns.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio
from google import genai
from google.genai import types

from livesvc.config import hash_key

KEY = "e2e-client-key"
NEW_KEY = "e2e-added-key"
ADMIN_TOKEN = "e2e-admin-token"
UPSTREAM_KEY = "e2e-upstream-key"
SDK_TIMEOUT = 30.0


def config_text(
    *,
    state_dir: str,
    upstream: str = "emulator",
    upstream_url: str | None = None,
    extra_keys: tuple[str, ...] = (),
    reply_interval: float = 0.005,
    grace: float = 30.0,
    profile_extra: str = "",
    key_extra: str = "",
    extra: str = "",
) -> str:
    keys = "".join(
        f'[[gateway.keys]]\nname = "k{i}"\nhash = "{hash_key(k)}"\n' + (key_extra if i == 0 else "")
        for i, k in enumerate((KEY, *extra_keys))
    )
    if upstream == "emulator":
        upstream_section = (
            '[upstream]\nbackend = "emulator"\n[upstream.emulator]\n'
            f"reply_interval_seconds = {reply_interval}\nsession_lifetime_seconds = 0\n"
        )
    else:
        upstream_section = (
            f'[upstream]\nbackend = "gemini"\nbase_url = "{upstream_url}"\n'
            'api_key_env = "LIVESVC_E2E_UPSTREAM_KEY"\n'
        )
    return f"""
[service]
state_dir = "{state_dir}"
shutdown_timeout_seconds = 10
[logging]
level = "info"
format = "json"
[gateway]
port = 0
grace_period_seconds = {grace}
[gateway.tls]
mode = "self-signed"
{keys}
[admin]
port = 0
token_hash = "{hash_key(ADMIN_TOKEN)}"
{upstream_section}
[profiles.default]
model = "gemini-live-2.5-flash-preview"
generation_config = {{ response_modalities = ["TEXT"] }}
setup = {{ output_audio_transcription = {{}} }}
client_overridable = ["generation_config.response_modalities", "tools", "realtime_input_config"]
{profile_extra}
[[profiles.default.tools]]
function = "livesvc.daemon.demo_tools:current_time"
timeout_seconds = 5
{extra}
"""


def sdk_client(
    gateway_url: str, ca_file: str, key: str = KEY, api_version: str | None = None
) -> genai.Client:
    base = gateway_url.replace("wss://", "https://")
    context = ssl.create_default_context(cafile=ca_file)
    options: dict[str, Any] = {"base_url": base, "async_client_args": {"ssl": context}}
    if api_version is not None:
        options["api_version"] = api_version
    return genai.Client(api_key=key, http_options=options)


class Conversation:
    """One SDK Live session, used from the worker thread."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.handle: str | None = None
        self.session_id: str | None = session.session_id

    async def receive_turn(self) -> list[types.LiveServerMessage]:
        messages = []
        async for message in self.session.receive():
            messages.append(message)
            update = message.session_resumption_update
            if update is not None and update.resumable and update.new_handle:
                self.handle = update.new_handle
        return messages

    async def say(self, text: str) -> str:
        await self.session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=text)])
        )
        return text_of(await self.receive_turn())


def text_of(messages: list[types.LiveServerMessage]) -> str:
    parts = []
    for message in messages:
        content = message.server_content
        if content and content.model_turn:
            parts += [p.text for p in content.model_turn.parts or () if p.text]
    return "".join(parts)


def run_sdk(
    gateway_url: str,
    ca_file: str,
    script: Callable[[Conversation], Awaitable[Any]],
    *,
    key: str = KEY,
    config: types.LiveConnectConfig | None = None,
    api_version: str | None = None,
) -> Any:
    """Connect with the SDK and run ``script`` (in a worker thread; bounded in time)."""

    async def main() -> Any:
        client = sdk_client(gateway_url, ca_file, key, api_version)
        async with asyncio.timeout(SDK_TIMEOUT):
            async with client.aio.live.connect(
                model="gemini-live-2.5-flash-preview",
                config=config or types.LiveConnectConfig(response_modalities=["TEXT"]),
            ) as session:
                return await script(Conversation(session))

    return asyncio.run(main())


async def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await trio.to_thread.run_sync(lambda: fn(*args, **kwargs))


def speech(duration_ms: int, silence_ms: int, *, rate: int = 16000) -> list[bytes]:
    """16-bit PCM: a loud tone then silence, in 100 ms chunks (the emulator's VAD hears it)."""
    samples = []
    for i in range(rate * duration_ms // 1000):
        samples.append(int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
    samples += [0] * (rate * silence_ms // 1000)
    pcm = b"".join(s.to_bytes(2, "little", signed=True) for s in samples)
    chunk = rate // 10 * 2
    return [pcm[i : i + chunk] for i in range(0, len(pcm), chunk)]


class DaemonProcess:
    """``livesvc serve`` in a child process; its JSON log lines are collected as they come."""

    def __init__(self, config_path: Path, env: dict[str, str]) -> None:
        self.config_path = config_path
        self.env = env
        self.events: list[dict[str, Any]] = []
        self._changed = trio.Event()
        self.process: trio.Process | None = None
        self.gateway_url = ""
        self.admin_url = ""
        self.ca_file = ""

    async def start(self, nursery: trio.Nursery) -> None:
        self.process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "livesvc", "serve", "--config", str(self.config_path)],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env={**os.environ, **self.env},
        )
        nursery.start_soon(self._read_logs)
        ready = await self.wait_for("daemon.ready")
        self.gateway_url, self.admin_url, self.ca_file = (
            ready["gateway"],
            ready["admin"],
            ready["ca_file"],
        )

    async def _read_logs(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        buffer = b""
        try:
            async for chunk in self.process.stderr:
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    try:
                        self.events.append(json.loads(line))
                    except ValueError:
                        self.events.append({"event": "raw", "line": line.decode(errors="replace")})
                self._changed.set()
                self._changed = trio.Event()
        finally:
            # The test is over (its nursery cancelled this): never leave a daemon behind.
            if self.process.returncode is None:
                self.process.kill()

    async def wait_for(self, event: str, after: int = 0, **fields: Any) -> dict[str, Any]:
        """The first log event named ``event`` (after the first ``after`` lines) with these fields."""
        while True:
            for line in self.events[after:]:
                if line.get("event") == event and all(line.get(k) == v for k, v in fields.items()):
                    return line
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"daemon exited ({self.process.returncode}) before {event}")
            await self._changed.wait()

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    async def wait(self) -> int:
        assert self.process is not None
        return await self.process.wait()


RESUMABLE = types.LiveConnectConfig(
    response_modalities=["TEXT"], session_resumption=types.SessionResumptionConfig()
)


async def start_serve(path: Path, nursery: trio.Nursery) -> DaemonProcess:
    """``livesvc serve --config path`` (a daemon, or a master with its workers), ready."""
    process = DaemonProcess(path, {"LIVESVC_E2E_UPSTREAM_KEY": UPSTREAM_KEY})
    with trio.fail_after(30):
        await process.start(nursery)
    return process


async def stop_serve(process: DaemonProcess) -> int:
    """SIGTERM, then its exit code."""
    process.signal(signal.SIGTERM)
    with trio.fail_after(30):
        return await process.wait()


def sdk_on(process: DaemonProcess, script: Callable[..., Any], **kwargs: Any) -> Any:
    """Run an SDK conversation ``script`` against the process's gateway, in a thread."""
    return in_thread(run_sdk, process.gateway_url, process.ca_file, script, **kwargs)
