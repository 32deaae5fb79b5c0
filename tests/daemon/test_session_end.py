"""A session nobody can resume ends when its client closes; a resumable one waits for it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from google.genai import types

from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon

from .e2e_support import ADMIN_TOKEN, Conversation, config_text, in_thread, run_sdk

pytestmark = pytest.mark.filterwarnings("ignore::Warning")

RESUMABLE = types.LiveConnectConfig(
    response_modalities=["TEXT"], session_resumption=types.SessionResumptionConfig()
)


async def say_hello(chat: Conversation) -> tuple[str | None, str]:
    return chat.session_id, await chat.say("hello")


async def test_closed_sessions_without_resumption_free_their_key_at_once(
    tmp_path: Path, nursery: trio.Nursery
):
    """Three connect/close cycles under a limit of 3 sessions per key, then a fourth and a
    fifth session open at once (each used to hold its slot for the 60 s grace period)."""
    text = config_text(state_dir=str(tmp_path / "state"), grace=60.0)
    text = text.replace("[gateway.tls]", "[gateway.limits]\nsessions_per_key = 3\n[gateway.tls]", 1)
    path = tmp_path / "live.toml"
    path.write_text(text)
    daemon = Daemon(load_config(path), config_path=str(path), handle_signals=False)
    await nursery.start(daemon.run)
    with trio.fail_after(60):
        replies = [
            (await in_thread(run_sdk, daemon.gateway_url, daemon.ca_file, say_hello))[1]
            for _ in range(5)
        ]
        resumable_id, _ = await in_thread(
            run_sdk, daemon.gateway_url, daemon.ca_file, say_hello, config=RESUMABLE
        )
        async with httpx.AsyncClient(base_url=daemon.admin_url or "") as http:
            while True:  # the detach is processed after the client's close returns
                listing = await http.get(
                    "/v1/sessions", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
                )
                live = {s["session_id"]: s["status"] for s in listing.json()["sessions"]}
                if live.get(resumable_id) == "detached":
                    break
                await trio.sleep(0.01)
    assert replies == ["echo #1: hello"] * 5
    # Only the session that asked for resumption waits for its client.
    assert [sid for sid, status in live.items() if status == "detached"] == [resumable_id]
    ended = daemon.metrics.registry.get_sample_value(
        "livesvc_sessions_closed_total", {"reason": "client_closed"}
    )
    assert ended == 5
    daemon.request_shutdown()
