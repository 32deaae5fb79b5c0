import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
import trio

from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon

from .e2e_support import config_text


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Tests that configure logging must not leave it pointing at their stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    path = tmp_path / "live.toml"
    path.write_text(config_text(state_dir=str(tmp_path / "state")))
    daemon = Daemon(load_config(path), config_path=str(path), handle_signals=False)
    async with trio.open_nursery() as nursery:
        with trio.fail_after(20):
            await nursery.start(daemon.run)
        yield daemon
        daemon.request_shutdown()  # a graceful stop, as SIGTERM does
