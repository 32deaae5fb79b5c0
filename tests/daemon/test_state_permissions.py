"""The daemon's state is private: the state folder 0700, the database and its journals 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon

from .e2e_support import Conversation, config_text, in_thread, run_sdk


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask, as many services run with: nothing private by accident."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


@pytest.mark.parametrize("existing", [False, True])
async def test_state_is_private_to_the_daemon_user(
    tmp_path: Path, open_umask: None, existing: bool
):
    state = tmp_path / "state"
    if existing:  # an operator made the folder by hand, world-readable
        state.mkdir(mode=0o755)
        state.chmod(0o755)
    path = tmp_path / "live.toml"
    path.write_text(config_text(state_dir=str(state)))
    daemon = Daemon(load_config(path), config_path=str(path), handle_signals=False)
    async with trio.open_nursery() as nursery:
        with trio.fail_after(30):
            await nursery.start(daemon.run)

            async def script(chat: Conversation) -> str:
                return await chat.say("hello")

            assert await in_thread(run_sdk, daemon.gateway_url, daemon.ca_file, script)
            files = {p.name: mode(p) for p in state.iterdir() if p.is_file()}
            tls = state / "tls"
            daemon.request_shutdown()
    assert mode(state) == "0o700"
    assert files["livesvc.db"] == "0o600"
    assert files.get("livesvc.db-wal", "0o600") == "0o600"
    assert files.get("livesvc.db-shm", "0o600") == "0o600"
    assert mode(tls) == "0o700"
    assert mode(tls / "server-key.pem") == "0o600"
