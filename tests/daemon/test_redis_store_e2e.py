"""`[store] backend = "redis"`: a daemon keeps its sessions in a real Redis, and another
daemon on the same Redis resumes them (the first step of a fleet)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import trio
from google.genai import types

from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon
from livesvc.emulator import Emulator, EmulatorConfig, run_emulator

from .e2e_support import UPSTREAM_KEY, Conversation, config_text, in_thread, run_sdk

pytestmark = pytest.mark.filterwarnings("ignore::Warning")

RESUMABLE = types.LiveConnectConfig(
    response_modalities=["TEXT"], session_resumption=types.SessionResumptionConfig()
)


@pytest.fixture
def upstream_key() -> Any:
    previous = os.environ.get("LIVESVC_E2E_UPSTREAM_KEY")
    os.environ["LIVESVC_E2E_UPSTREAM_KEY"] = UPSTREAM_KEY
    yield
    if previous is None:
        del os.environ["LIVESVC_E2E_UPSTREAM_KEY"]
    else:
        os.environ["LIVESVC_E2E_UPSTREAM_KEY"] = previous


async def test_a_session_in_redis_resumes_on_another_daemon(
    tmp_path: Path, nursery: trio.Nursery, redis_url: str, redis_prefix: str, upstream_key: None
):
    google: Emulator = await nursery.start(
        run_emulator, EmulatorConfig(api_keys=(UPSTREAM_KEY,), session_lifetime=None)
    )
    text = config_text(
        state_dir=str(tmp_path / "state"), upstream="gemini", upstream_url=google.http_base_url
    )
    text += (
        f'[store]\nbackend = "redis"\nredis_url = "{redis_url}"\nredis_prefix = "{redis_prefix}"\n'
    )
    path = tmp_path / "live.toml"
    path.write_text(text)

    async def daemon_on(script: Any, **kwargs: Any) -> Any:
        daemon = Daemon(load_config(path), config_path=str(path), handle_signals=False)
        async with trio.open_nursery() as inner:
            with trio.fail_after(30):
                await inner.start(daemon.run)
                result = await in_thread(
                    run_sdk, daemon.gateway_url, daemon.ca_file, script, **kwargs
                )
            daemon.request_shutdown()
        return result

    async def first(chat: Conversation) -> Any:
        one = await chat.say("one")
        two = await chat.say("two")
        return chat.session_id, chat.handle, one, two

    session_id, handle, one, two = await daemon_on(first, config=RESUMABLE)
    assert (one, two) == ("echo #1: one", "echo #2: two")
    assert handle is not None

    async def again(chat: Conversation) -> Any:
        return chat.session_id, await chat.say("three")

    resumed = types.LiveConnectConfig(
        response_modalities=["TEXT"],
        session_resumption=types.SessionResumptionConfig(handle=handle),
    )
    # A new daemon process-worth of state: nothing but Redis carries the session over.
    again_id, three = await daemon_on(again, config=resumed)
    assert again_id == session_id
    assert three == "echo #3: three"
    assert not (tmp_path / "state" / "livesvc.db").exists()  # nothing went to SQLite
