"""Fixtures for the emulator tests; helpers live in ``emulator_testkit``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import trio

# Test modules import the shared helpers as a plain module (--import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

from emulator_testkit import MemoryEmulator, fast_config

from livesvc.emulator import TlsFiles, write_self_signed


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return write_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def memory_emulator(nursery: trio.Nursery):
    """Build an emulator served over memory streams (for virtual-clock tests)."""

    def build(**overrides: Any) -> MemoryEmulator:
        return MemoryEmulator(fast_config(**overrides), nursery)

    return build
