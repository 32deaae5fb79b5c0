from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from livesvc.store import Store, StoreServer, open_store_channel


@pytest.fixture
async def store(tmp_path: Path, nursery: trio.Nursery) -> AsyncIterator[Store]:
    send, receive = open_store_channel()
    await nursery.start(StoreServer(receive, path=str(tmp_path / "live.db")).run)
    yield Store(send)
    nursery.cancel_scope.cancel()
