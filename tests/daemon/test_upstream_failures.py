"""When the daemon's own upstream fails: clients learn it clearly, and nothing of the daemon's
credential problem leaks to them (real daemon, real sockets, the emulator as Google)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import trio
from google.genai import errors

from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon
from livesvc.emulator import Emulator, EmulatorConfig, run_emulator

from .e2e_support import Conversation, config_text, in_thread, run_sdk

pytestmark = pytest.mark.filterwarnings("ignore::Warning")


@pytest.fixture
def upstream_key() -> Any:
    previous = os.environ.get("LIVESVC_E2E_UPSTREAM_KEY")
    os.environ["LIVESVC_E2E_UPSTREAM_KEY"] = "the-daemons-own-key"
    yield "the-daemons-own-key"
    if previous is None:
        del os.environ["LIVESVC_E2E_UPSTREAM_KEY"]
    else:
        os.environ["LIVESVC_E2E_UPSTREAM_KEY"] = previous


async def start(tmp_path: Path, nursery: trio.Nursery, upstream_url: str, extra: str = "") -> Daemon:
    text = config_text(state_dir=str(tmp_path / "state"), upstream="gemini", upstream_url=upstream_url)
    path = tmp_path / "live.toml"
    path.write_text(text.replace("[upstream]\n", f"[upstream]\n{extra}", 1))
    daemon = Daemon(load_config(path), config_path=str(path), handle_signals=False)
    with trio.fail_after(20):
        await nursery.start(daemon.run)
    return daemon


async def hello(chat: Conversation) -> str:
    return await chat.say("hello")


async def test_a_refused_daemon_key_is_a_generic_error_for_clients(
    tmp_path: Path, nursery: trio.Nursery, upstream_key: str
):
    google: Emulator = await nursery.start(
        run_emulator, EmulatorConfig(api_keys=("some-other-key",))
    )
    daemon = await start(tmp_path, nursery, google.http_base_url)
    with trio.fail_after(60), pytest.raises(errors.APIError) as refused:
        await in_thread(run_sdk, daemon.gateway_url, daemon.ca_file, hello)
    assert refused.value.code == 1011
    assert "upstream authentication failed" in str(refused.value)
    assert "API key" not in str(refused.value)
    failures = daemon.metrics.registry.get_sample_value("livesvc_upstream_auth_failures_total")
    assert failures == 1
    daemon.request_shutdown()


async def test_an_unreachable_upstream_is_reported_within_the_connect_bound(
    tmp_path: Path, nursery: trio.Nursery, upstream_key: str
):
    closed_port = "http://127.0.0.1:9"  # discard: nothing listens here
    daemon = await start(tmp_path, nursery, closed_port, "connect_timeout_seconds = 3\n")
    with trio.fail_after(60), pytest.raises(errors.APIError) as refused:
        await in_thread(run_sdk, daemon.gateway_url, daemon.ca_file, hello)
    assert refused.value.code == 1011
    assert "upstream is unreachable" in str(refused.value)
    daemon.request_shutdown()
