"""The emulator's session file: handles survive a reopen, expire, and a broken file is moved aside."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import trio
from emulator_testkit import TEXT_MODEL, fast_config, live_client, model_text
from structlog.testing import capture_logs

from livesvc.emulator import open_emulator
from livesvc.emulator._catalogue import DEFAULT_CATALOGUE, Catalogue
from livesvc.emulator._persist import FILE_NAME, HANDLES_PER_SESSION, HandleRow, SessionFile, digest
from livesvc.emulator._registry import SessionRegistry
from livesvc.wire import GenerationConfig, SessionResumptionConfig


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


def damage_the_table(path: Path) -> None:
    """Overwrite the handles table's root page: the header still reads, the rows do not."""
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        [root] = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'handles'"
        ).fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start + 8 : start + page_size - 8] = b"\xee" * (page_size - 16)
    path.write_bytes(bytes(data))


async def test_a_damaged_page_is_moved_aside_and_the_emulator_starts(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = await SessionFile.open(state)
    for n in range(300):  # several pages of rows
        await store.save(row(f"h{n}", turns=n, expires_at=9e12, session_id=f"emu-{n}"), now=0.0)
    await store.close()
    await trio.to_thread.run_sync(damage_the_table, state / FILE_NAME)

    with capture_logs() as logs:
        async with open_emulator(fast_config(state_dir=str(state))) as emu:
            assert emu.sessions() == []
    [error] = [e for e in logs if e["log_level"] == "error"]
    assert error["event"] == "emulator.state_unreadable"
    assert len(list(state.glob(f"{FILE_NAME}.unreadable-*"))) == 1


async def test_an_unusable_state_dir_is_logged_and_sessions_live_in_memory(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = fast_config(state_dir=str(blocker / "state"))
    with capture_logs() as logs:
        async with open_emulator(config) as emu, live_client(emu.live_url() + "?key=k") as client:
            await client.setup(
                TEXT_MODEL,
                generation_config=GenerationConfig(response_modalities=["TEXT"]),
                session_resumption=SessionResumptionConfig(),
            )
            await client.say("still here")
            assert model_text(await client.turn()) == "echo #1: still here"
    [error] = [e for e in logs if e["log_level"] == "error"]
    assert (error["event"], error["state_dir"]) == (
        "emulator.state_unavailable",
        str(blocker / "state"),
    )


async def test_a_failed_write_is_logged_and_the_session_goes_on(tmp_path: Path) -> None:
    config = fast_config(state_dir=str(tmp_path / "state"))
    with capture_logs() as logs:
        async with open_emulator(config) as emu, live_client(emu.live_url() + "?key=k") as client:
            await client.setup(
                TEXT_MODEL,
                generation_config=GenerationConfig(response_modalities=["TEXT"]),
                session_resumption=SessionResumptionConfig(),
            )
            file = emu._core.session_file
            assert file is not None
            await trio.to_thread.run_sync(file._conn.close)  # every write fails from now on
            replies = []
            for text in ("one", "two"):
                await client.say(text)
                replies.append(model_text(await client.turn()))
            update = (await client.until(lambda f: f.session_resumption_update is not None))[
                -1
            ].session_resumption_update
    assert replies == ["echo #1: one", "echo #2: two"]
    assert update is not None
    assert update.new_handle
    failed = [e for e in logs if e["event"] == "emulator.state_write_failed"]
    assert len(failed) == 2  # turns one and two (the setup's handle was written)
    assert failed[0]["log_level"] == "error"


async def test_the_file_keeps_a_sessions_newest_handles_as_memory_does(tmp_path: Path) -> None:
    store = await SessionFile.open(tmp_path / "state")
    for n in range(HANDLES_PER_SESSION + 6):
        await store.save(row(f"h{n}", turns=n, expires_at=10_000.0 + n), now=0.0)
    await store.save(row("other", turns=1, expires_at=10_000.0, session_id="emu-2"), now=0.0)
    await store.close()
    again = await SessionFile.open(tmp_path / "state")
    rows = await again.load(now=0.0)
    await again.close()
    kept = sorted(r.turns for r in rows if r.session_id == "emu-1")
    assert kept == list(range(6, HANDLES_PER_SESSION + 6))
    assert [r.session_id for r in rows].count("emu-2") == 1
