"""A session holds at most its memory budget of unconfirmed conversation (a real daemon)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import trio
import trio_websocket

from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon

from .e2e_support import KEY, config_text

LIVE = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


async def flood(ws: trio_websocket.WebSocketConnection, chunk: str) -> int:
    """Send up to 40 chunks, then read: how many went out before the daemon closed."""
    sent = 0
    try:
        for _ in range(40):  # 4 MB offered against a 1 MiB budget
            await ws.send_message(chunk)
            sent += 1
        while True:
            await ws.get_message()
    except trio_websocket.ConnectionClosed:
        return sent


async def test_turns_never_completed_are_bounded_by_the_session_memory_budget(
    tmp_path: Path, nursery: trio.Nursery
):
    text = config_text(state_dir=str(tmp_path / "state"))
    text = text.replace(
        "[gateway.tls]", "[gateway.limits]\nsession_memory_bytes = 1048576\n[gateway.tls]", 1
    )
    path = tmp_path / "live.toml"
    path.write_text(text)
    daemon = Daemon(load_config(path), config_path=str(path), handle_signals=False)
    await nursery.start(daemon.run)
    context = await trio.to_thread.run_sync(
        lambda: ssl.create_default_context(cafile=daemon.ca_file)
    )
    chunk = json.dumps(
        {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "x" * 100_000}]}]}}
    )  # no turnComplete: the server holds it, so nothing confirms it
    with trio.fail_after(30):
        async with trio_websocket.open_websocket_url(
            f"{daemon.gateway_url}{LIVE}?key={KEY}", ssl_context=context
        ) as ws:
            await ws.send_message('{"setup": {"model": "models/x"}}')
            await ws.get_message()
            sent = await flood(ws, chunk)
            reason = ws.closed
    assert reason is not None
    assert reason.code == 4004
    assert "memory budget" in (reason.reason or "")
    assert sent < 40  # closed before everything was taken in
    daemon.request_shutdown()
