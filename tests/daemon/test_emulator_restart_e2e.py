"""``make run`` restarted keeps its conversations (issue 12, item 2).

The daemon on its default embedded emulator: the emulator keeps its sessions in
SQLite under state_dir, so after kill -9 (or SIGTERM) and a new start on the
same state_dir, a client that resumes with its handle continues the
conversation: the next turn is ``echo #3``, not ``echo #1``.
"""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from google.genai import types

from livesvc.emulator._persist import FILE_NAME

from .e2e_support import (
    RESUMABLE,
    Conversation,
    config_text,
    sdk_on,
    start_serve,
    stop_serve,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def two_turns_and_a_handle(chat: Conversation) -> tuple[list[str], str | None]:
    replies = [await chat.say("one"), await chat.say("two")]
    # The handle that covers turn two comes after its turnComplete (and after
    # the daemon's store commit): read on until it is there.
    async for message in chat.session.receive():
        update = message.session_resumption_update
        if update is not None and update.resumable and update.new_handle:
            return replies, update.new_handle
    return replies, None


async def resume_and_ask(handle: str, daemon, question: str) -> str:
    resume = types.LiveConnectConfig(
        response_modalities=["TEXT"],
        session_resumption=types.SessionResumptionConfig(handle=handle),
    )

    async def after(chat: Conversation) -> str:
        return await chat.say(question)

    return await sdk_on(daemon, after, config=resume)


@pytest.mark.parametrize("stop", ["kill -9", "SIGTERM"])
async def test_a_restarted_daemon_resumes_the_embedded_conversation(
    stop: str, tmp_path: Path, nursery: trio.Nursery
):
    path = tmp_path / "live.toml"
    state = tmp_path / "state"
    path.write_text(config_text(state_dir=str(state)))
    first = await start_serve(path, nursery)
    with trio.fail_after(90):
        replies, handle = await sdk_on(first, two_turns_and_a_handle, config=RESUMABLE)
        assert handle is not None
        if stop == "kill -9":
            first.kill()
            assert await first.wait() == -signal.SIGKILL
        else:
            assert await stop_serve(first) == 0
        second = await start_serve(path, nursery)
        answer = await resume_and_ask(handle, second, "still there?")
        assert await stop_serve(second) == 0
    assert replies == ["echo #1: one", "echo #2: two"]
    # The emulator's counter goes on: the conversation came back from its file.
    assert answer == "echo #3: still there?"
    restored = [e for e in second.events if e.get("event") == "emulator.sessions_restored"]
    assert restored[0]["sessions"] >= 1
    mode = stat.S_IMODE((state / FILE_NAME).stat().st_mode)
    assert mode == 0o600


async def test_the_standalone_emulator_keeps_sessions_with_state_dir(tmp_path: Path):
    """``livesvc emulator --state-dir``: a resumed session after a kill -9 keeps its context."""
    from livesvc.session import extract_text, open_session

    async def start(port: int) -> trio.Process:
        process = await trio.lowlevel.open_process(
            [
                sys.executable,
                "-m",
                "livesvc",
                "emulator",
                "--port",
                str(port),
                "--state-dir",
                str(tmp_path / "emu"),
                "--reply-interval",
                "0.005",
                "--log-level",
                "warning",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        seen = b""
        while b"listening on" not in seen:
            chunk = await process.stdout.receive_some(4096)
            assert chunk, "the emulator exited before listening"
            seen += chunk
        return process

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    texts: list[str] = []

    async def ask(session, text: str) -> None:
        await session.send_text(text)
        await session.wait_turn_complete()

    options = {
        "model": "gemini-live-2.5-flash-preview",
        "api_key": "any",
        "base_url": base,
        "response_modalities": ["TEXT"],
        "context_loss": "fail",  # a lost context must fail this test, not hide
        "on_message": lambda m: texts.append(extract_text(m) or ""),
    }
    with trio.fail_after(60):
        process = await start(port)
        try:
            async with open_session(**options) as session:
                await ask(session, "a")
                await ask(session, "b")
                await session.wait_settled()  # a handle covers turn b
                handle = session.session_handle
            process.kill()
            await process.wait()
            process = await start(port)
            async with open_session(**options, resume_handle=handle) as session:
                await ask(session, "c")
        finally:
            process.kill()
    assert "".join(texts) == "echo #1: aecho #2: becho #3: c"


def damage_the_table(path: Path) -> None:
    """Overwrite the handles table's root page: the header still reads, the rows do not."""
    import sqlite3

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


async def test_a_damaged_emulator_file_is_moved_aside_and_the_daemon_serves(
    tmp_path: Path, nursery: trio.Nursery
):
    from livesvc.emulator._persist import HandleRow, SessionFile, digest

    state = tmp_path / "state"
    store = await SessionFile.open(state)
    for n in range(300):  # several pages of rows
        await store.save(
            HandleRow(
                digest=digest(f"h{n}"),
                session_id=f"emu-{n}",
                model="gemini-live-2.5-flash-preview",
                backend="gemini",
                turns=n,
                expires_at=9e12,
            ),
            now=0.0,
        )
    await store.close()
    await trio.to_thread.run_sync(damage_the_table, state / FILE_NAME)
    path = tmp_path / "live.toml"
    path.write_text(config_text(state_dir=str(state)))

    async def hello(chat: Conversation) -> str:
        return await chat.say("hello")

    with trio.fail_after(60):
        daemon = await start_serve(path, nursery)
        reply = await sdk_on(daemon, hello)
        assert await stop_serve(daemon) == 0
    assert reply == "echo #1: hello"
    errors = [e for e in daemon.events if e.get("level") == "error"]
    assert [e["event"] for e in errors] == ["emulator.state_unreadable"]
    assert len(list(state.glob(f"{FILE_NAME}.unreadable-*"))) == 1
