"""Fixtures shared by every test package: real servers started on free loopback ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .real_servers import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``redis-server`` for the whole run (tests keep apart by key prefix)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses (tests share the run's one Redis server)."""
    return f"test-{uuid.uuid4().hex}:"
