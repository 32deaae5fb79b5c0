"""The emulator's session file: handles survive a reopen, expire, and a broken file is moved aside."""

from __future__ import annotations

import stat
from pathlib import Path

import trio
from structlog.testing import capture_logs

from livesvc.emulator._catalogue import DEFAULT_CATALOGUE, Catalogue
from livesvc.emulator._persist import FILE_NAME, HandleRow, SessionFile, digest
from livesvc.emulator._registry import SessionRegistry


def row(handle: str, *, turns: int, expires_at: float, session_id: str = "emu-1") -> HandleRow:
    return HandleRow(
        digest=digest(handle),
        session_id=session_id,
        model="gemini-live-2.5-flash-preview",
        backend="gemini",
        turns=turns,
        expires_at=expires_at,
    )


async def test_handles_survive_a_reopen_and_expired_ones_are_gone(tmp_path: Path) -> None:
    store = await SessionFile.open(tmp_path / "state")
    await store.save(row("h1", turns=1, expires_at=1_000.0), now=500.0)
    await store.save(row("h2", turns=2, expires_at=9_000.0), now=500.0)
    await store.close()
    again = await SessionFile.open(tmp_path / "state")
    rows = await again.load(now=5_000.0)
    await again.close()
    assert rows == [row("h2", turns=2, expires_at=9_000.0)]
    assert stat.S_IMODE((tmp_path / "state" / FILE_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


async def test_a_restored_session_resolves_with_its_newest_context(autojump_clock) -> None:
    catalogue = Catalogue(DEFAULT_CATALOGUE)
    registry = SessionRegistry(handle_lifetime=7200.0)
    await trio.sleep(100)  # trio time 100 is wall time 5_000
    restored = registry.restore(
        [row("old", turns=1, expires_at=6_000.0), row("new", turns=2, expires_at=7_000.0)],
        catalogue.named,
        wall_now=5_000.0,
    )
    assert restored == 1
    found = registry.resolve("new")
    assert found is not None
    record, session = found
    assert (record.turns, session.turns, session.id) == (2, 2, "emu-1")
    assert registry.resolve("unknown") is None
    await trio.sleep(1_000)  # "old" expired at trio time 1_100
    assert registry.resolve("old") is None
    assert registry.resolve("new") is not None


async def test_an_unreadable_file_is_moved_aside_not_fatal(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / FILE_NAME).write_bytes(b"this is not a database" * 100)
    with capture_logs() as logs:
        store = await SessionFile.open(state)
    assert await store.load(now=0.0) == []
    await store.close()
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["emulator.state_unreadable"]
    assert len(list(state.glob(f"{FILE_NAME}.unreadable-*"))) == 1
