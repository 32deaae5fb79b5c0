"""A conversation lost upstream is never silent (issue 12, item 1).

The upstream is an emulator in its own process, reached as ``backend = "gemini"``.
Killing it (kill -9) and starting it again on the same port loses every
conversation it held: the daemon's resume is refused. By default the client is
closed with 4001 and a reason the stock SDK raises; with ``context_loss =
"reseed"`` in the profile the conversation goes on, restored from the transcript.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio
from google.genai import errors

from .e2e_support import (
    ADMIN_TOKEN,
    UPSTREAM_KEY,
    Conversation,
    DaemonProcess,
    config_text,
    sdk_on,
    start_serve,
    stop_serve,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class UpstreamProcess:
    """``livesvc emulator`` as a child process on a fixed port, so it can come back."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: trio.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = await trio.lowlevel.open_process(
            [
                sys.executable,
                "-m",
                "livesvc",
                "emulator",
                "--port",
                str(self.port),
                "--api-key",
                UPSTREAM_KEY,
                "--reply-interval",
                "0.005",
                "--session-lifetime",
                "3600",
                "--log-level",
                "warning",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        with trio.fail_after(30):
            seen = b""
            while b"listening on" not in seen:
                chunk = await self.process.stdout.receive_some(4096)
                assert chunk, "the emulator exited before listening"
                seen += chunk

    async def kill_and_restart(self) -> None:
        """kill -9, then the same port again: every session it held is gone."""
        assert self.process is not None
        self.process.kill()
        with trio.fail_after(10):
            await self.process.wait()
        await self.start()

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()


async def admin_get(daemon: DaemonProcess, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=daemon.admin_url) as http:
        return await http.get(path, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})


async def serve_behind(
    upstream: UpstreamProcess, tmp_path: Path, nursery: trio.Nursery, profile_extra: str = ""
) -> DaemonProcess:
    path = tmp_path / "live.toml"
    path.write_text(
        config_text(
            state_dir=str(tmp_path / "state"),
            upstream="gemini",
            upstream_url=upstream.url,
            profile_extra=profile_extra,
        )
    )
    return await start_serve(path, nursery)


def lose_upstream(upstream: UpstreamProcess) -> None:
    """From the SDK's thread: restart the upstream, losing its conversations."""
    trio.from_thread.run(upstream.kill_and_restart)


async def test_by_default_the_client_is_closed_with_4001(tmp_path: Path, nursery: trio.Nursery):
    upstream = UpstreamProcess(free_port())
    await upstream.start()
    try:
        daemon = await serve_behind(upstream, tmp_path, nursery)

        async def script(chat: Conversation):
            replies = [await chat.say("a"), await chat.say("b")]
            lose_upstream(upstream)
            try:
                replies.append(await chat.say("c"))
            except errors.APIError as closed:
                return replies, closed.code, str(closed), chat.session_id
            return replies, None, "", chat.session_id

        with trio.fail_after(60):
            replies, code, message, session_id = await sdk_on(daemon, script)
            view = (await admin_get(daemon, f"/v1/sessions/{session_id}")).json()
            metrics = (await admin_get(daemon, "/metrics")).text
            assert await stop_serve(daemon) == 0
    finally:
        upstream.kill()
    assert replies == ["echo #1: a", "echo #2: b"]  # and never a silent "echo #1: c"
    assert code == 4001
    assert "conversation was lost" in message
    # The closed session's record says why it ended.
    assert view["status"] == "closed"
    assert view["last_close_code"] == 4001
    assert 'livesvc_context_lost_total{outcome="failed"} 1.0' in metrics


async def test_reseed_restores_the_conversation_on_the_new_upstream(
    tmp_path: Path, nursery: trio.Nursery
):
    upstream = UpstreamProcess(free_port())
    await upstream.start()
    try:
        daemon = await serve_behind(upstream, tmp_path, nursery, 'context_loss = "reseed"')

        async def script(chat: Conversation):
            replies = [await chat.say("a"), await chat.say("b")]
            lose_upstream(upstream)
            replies.append(await chat.say("c"))
            path = f"/v1/sessions/{chat.session_id}"
            return replies, trio.from_thread.run(admin_get, daemon, path).json()

        with trio.fail_after(60):
            replies, view = await sdk_on(daemon, script)
            metrics = (await admin_get(daemon, "/metrics")).text
            assert await stop_serve(daemon) == 0
    finally:
        upstream.kill()
    # The new upstream session was seeded with turns a and b: its counter goes on.
    assert replies == ["echo #1: a", "echo #2: b", "echo #3: c"]
    assert view["context_losses"] == 1
    assert view["last_context_loss"] == "reseeded"
    assert 'livesvc_context_lost_total{outcome="reseeded"} 1.0' in metrics
