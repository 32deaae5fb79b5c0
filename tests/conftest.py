"""Fixtures shared by every test package: real servers started on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .real_servers import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``redis-server`` for the whole run (tests keep apart by key prefix)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
