"""End to end: the upstream loses the conversation (issue 12 item 1, gateway side).

The daemon's upstream is ``backend = "gemini"`` pointed at an emulator running as
a process of its own. After two turns the emulator is killed (``kill -9``) and
started again on the same port: it knows neither the session nor its handle, so
the library's resume is refused and a fresh upstream starts without the
conversation. With the default ``context_loss = "fail"`` the stock SDK client
raises with close code 4001 and the documented reason, instead of getting
``echo #1`` after ``echo #2``; the admin view and the metric record it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import websockets
from google.genai import errors

from livesvc.close_codes import CLOSE_CONTEXT_LOST
from livesvc.config import load_config
from livesvc.daemon import Daemon
from livesvc.gateway._session import CONTEXT_LOST_REASON

from .e2e_support import ADMIN_TOKEN, UPSTREAM_KEY, Conversation, config_text, in_thread, run_sdk

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class EmulatorProcess:
    """``livesvc emulator`` as a child process (so it can be killed with -9)."""

    def __init__(self) -> None:
        self.process: trio.Process | None = None
        self.base_url = ""

    async def start(self, port: int = 0) -> None:
        self.process = await trio.lowlevel.open_process(
            [
                sys.executable,
                "-m",
                "livesvc",
                "emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--api-key",
                UPSTREAM_KEY,
                "--reply-interval",
                "0.005",
                "--log-level",
                "warning",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        printed = b""
        with trio.fail_after(30):
            while b"SDK base_url:" not in printed or not printed.endswith(b"\n"):
                chunk = await self.process.stdout.receive_some()
                assert chunk, "the emulator exited before it was ready"
                printed += chunk
        line = next(x for x in printed.decode().splitlines() if "SDK base_url:" in x)
        self.base_url = line.split("SDK base_url:", 1)[1].strip()

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1].strip("/"))

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        with trio.fail_after(10):
            assert await self.process.wait() == -signal.SIGKILL


def _close_of(error: BaseException) -> tuple[int | None, str | None]:
    """The close code and reason the SDK raised with (on receive: APIError; on send: the socket's)."""
    if isinstance(error, errors.APIError):
        return error.code, error.details  # the close reason, as the SDK got it
    if isinstance(error, websockets.ConnectionClosed) and error.rcvd is not None:
        return error.rcvd.code, error.rcvd.reason
    return None, None


async def test_a_lost_upstream_conversation_closes_the_client_with_4001(
    tmp_path: Path, nursery: trio.Nursery, monkeypatch: pytest.MonkeyPatch
):
    emulator = EmulatorProcess()
    await emulator.start()
    nursery.start_soon(_reap, emulator)
    path = tmp_path / "live.toml"
    path.write_text(
        config_text(
            state_dir=str(tmp_path / "state"), upstream="gemini", upstream_url=emulator.base_url
        )
    )
    monkeypatch.setenv("LIVESVC_E2E_UPSTREAM_KEY", UPSTREAM_KEY)
    daemon = Daemon(load_config(path), config_path=str(path), handle_signals=False)
    await nursery.start(daemon.run)
    lost = trio.Event()

    async def restart_upstream(session_id: str) -> None:
        assert daemon.gateway is not None
        session = daemon.gateway.live_session(session_id)
        assert session is not None
        port = emulator.port
        await emulator.kill()
        await emulator.start(port)  # same port: the daemon's upstream dials it again
        await session.ended.wait()  # the gateway session acted on the loss
        lost.set()

    async def script(chat: Conversation) -> Any:
        first = await chat.say("one")
        second = await chat.say("two")
        trio.from_thread.run(restart_upstream, chat.session_id)
        try:
            third = await chat.say("three")
        except (errors.APIError, websockets.ConnectionClosed) as err:
            return chat.session_id, first, second, _close_of(err)
        return chat.session_id, first, second, ("no error", third)

    with trio.fail_after(90):
        session_id, first, second, closed = await in_thread(
            run_sdk, daemon.gateway_url, daemon.ca_file, script
        )
        assert lost.is_set()
        async with httpx.AsyncClient(base_url=daemon.admin_url or "") as http:
            auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
            view = (await http.get(f"/v1/sessions/{session_id}", headers=auth)).json()
            exposition = (await http.get("/metrics", headers=auth)).text
    assert (first, second) == ("echo #1: one", "echo #2: two")
    assert closed == (CLOSE_CONTEXT_LOST, CONTEXT_LOST_REASON)
    assert view["last_close_code"] == CLOSE_CONTEXT_LOST
    assert view["last_close_reason"] == CONTEXT_LOST_REASON
    assert 'livesvc_context_lost_total{outcome="closed"} 1.0' in exposition


async def _reap(emulator: EmulatorProcess) -> None:
    """Kill the emulator when the test ends (its nursery is cancelled)."""
    try:
        await trio.sleep_forever()
    finally:
        if emulator.process is not None and emulator.process.returncode is None:
            emulator.process.kill()
            with trio.move_on_after(5, shield=True):
                await emulator.process.wait()
