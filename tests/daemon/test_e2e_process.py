"""End to end with ``livesvc serve`` as a real process: kill -9 and resume, SIGHUP, SIGTERM drain.

The upstream is an emulator in this test process (as Google would be: it
outlives the daemon), reached with an API key from an environment variable.
"""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import pytest
import trio
from google.genai import errors, types

from livesvc.emulator import Emulator, EmulatorConfig, run_emulator

from .e2e_support import (
    NEW_KEY,
    RESUMABLE,
    UPSTREAM_KEY,
    Conversation,
    config_text,
    sdk_on,
    start_serve,
    stop_serve,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def start_upstream(nursery: trio.Nursery, **overrides) -> Emulator:
    settings = {"api_keys": (UPSTREAM_KEY,), "reply_interval": 0.005, "session_lifetime": None}
    settings.update(overrides)
    return await nursery.start(run_emulator, EmulatorConfig(**settings))


def write_config(path: Path, upstream: Emulator, **kwargs) -> None:
    path.write_text(
        config_text(
            state_dir=str(path.parent / "state"),
            upstream="gemini",
            upstream_url=upstream.http_base_url,
            **kwargs,
        )
    )


async def test_kill_9_then_resume_from_the_store(tmp_path: Path, nursery: trio.Nursery):
    upstream = await start_upstream(nursery)
    path = tmp_path / "live.toml"
    write_config(path, upstream)
    first = await start_serve(path, nursery)

    async def before(chat: Conversation):
        reply = await chat.say("remember 42")
        turns = 1
        if chat.handle is None:
            # The first daemon handle follows the store's commit, which may come
            # after turn 1 ended: one more turn, and its handle is there.
            await chat.say("and again")
            turns = 2
        return chat.session_id, reply, chat.handle, turns

    with trio.fail_after(60):
        session_id, reply, handle, turns = await sdk_on(first, before, config=RESUMABLE)
        assert (reply, handle is not None) == ("echo #1: remember 42", True)
        first.kill()
        assert await first.wait() == -signal.SIGKILL

        second = await start_serve(path, nursery)
        resume = types.LiveConnectConfig(
            response_modalities=["TEXT"],
            session_resumption=types.SessionResumptionConfig(handle=handle),
        )

        async def after(chat: Conversation):
            return chat.session_id, await chat.say("what was it?")

        again_id, answer = await sdk_on(second, after, config=resume)
        assert await stop_serve(second) == 0
    assert again_id == session_id
    # The emulator counts on: the upstream conversation came back.
    assert answer == f"echo #{turns + 1}: what was it?"
    restored = [e for e in second.events if e.get("event") == "session.started"]
    assert restored[0]["restored"] is True


async def test_sighup_applies_a_good_file_and_keeps_the_config_on_a_bad_one(
    tmp_path: Path, nursery: trio.Nursery
):
    upstream = await start_upstream(nursery)
    path = tmp_path / "live.toml"
    write_config(path, upstream)
    daemon = await start_serve(path, nursery)

    async def hello(chat: Conversation):
        return await chat.say("hi")

    with trio.fail_after(60):
        with pytest.raises(errors.APIError) as refused:
            await sdk_on(daemon, hello, key=NEW_KEY)
        assert refused.value.code == 1008

        write_config(path, upstream, extra_keys=(NEW_KEY,))
        mark = len(daemon.events)
        daemon.signal(signal.SIGHUP)
        reloaded = await daemon.wait_for("config.reloaded", after=mark)
        assert reloaded["keys"] == 2
        assert await sdk_on(daemon, hello, key=NEW_KEY) == "echo #1: hi"

        # Four mistakes at once: the log names all of them (and the missing model), in file order.
        broken = (
            path.read_text()
            .replace("[gateway]", "[gateway]\nprot = 1", 1)
            .replace('level = "info"', 'level = "loud"')
            .replace("timeout_seconds = 5", 'timeout_seconds = "5"')
            .replace('model = "gemini-live', 'modle = "gemini-live')
        )
        path.write_text(broken)
        lines = broken.splitlines()

        def line(start: str) -> int:
            return next(n for n, text in enumerate(lines, 1) if text.startswith(start))

        mark = len(daemon.events)
        daemon.signal(signal.SIGHUP)
        rejected = await daemon.wait_for("config.reload_rejected", after=mark)
        assert rejected["errors"] == [
            f"{path}:{line('level =')}: logging.level: expected one of 'debug', "
            "'info', 'warning', 'error', got 'loud'",
            f"{path}:{line('prot =')}: gateway.prot: unknown key (did you mean `port`?)",
            f"{path}:{line('[profiles.default]')}: profiles.default.model: required key is missing",
            f"{path}:{line('modle =')}: profiles.default.modle: unknown key (did you mean `model`?)",
            f"{path}:{line('timeout_seconds =')}: profiles.default.tools[0].timeout_seconds: "
            "expected float, got str (write the number without quotes: 5)",
        ]
        assert rejected["level"] == "error"
        # The old config (with the new key) stays.
        assert await sdk_on(daemon, hello, key=NEW_KEY) == "echo #1: hi"
        assert await stop_serve(daemon) == 0


async def test_sigterm_drains_the_running_turn_then_exits_0(tmp_path: Path, nursery: trio.Nursery):
    upstream = await start_upstream(nursery, reply_interval=0.25, text_chunk_chars=4)
    path = tmp_path / "live.toml"
    write_config(path, upstream)
    daemon = await start_serve(path, nursery)

    async def script(chat: Conversation):
        await chat.session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="a slow answer please")])
        )
        texts, signalled = [], False
        async for message in chat.session.receive():
            content = message.server_content
            if content and content.model_turn and not signalled:
                daemon.signal(signal.SIGTERM)  # mid-turn
                signalled = True
            if content and content.model_turn:
                texts += [p.text for p in content.model_turn.parts or () if p.text]
        try:
            async for _ in chat.session.receive():
                pass
        except errors.APIError as closed:
            return "".join(texts), closed.code, str(closed)
        return "".join(texts), None, ""

    with trio.fail_after(60):
        text, code, message = await sdk_on(daemon, script, config=RESUMABLE)
        assert await daemon.wait() == 0
    assert text == "echo #1: a slow answer please"  # the whole turn, after SIGTERM
    assert code == 1001
    assert "resume" in message
    db = tmp_path / "state" / "livesvc.db"
    rows = await trio.to_thread.run_sync(
        lambda: (
            sqlite3.connect(db).execute("SELECT status, upstream_handle FROM sessions").fetchall()
        )
    )
    assert len(rows) == 1
    assert rows[0][0] == "detached"  # resumable after the restart
    # The served process froze its start-up heap for the collector (livesvc._gc).
    (tuned,) = [e for e in daemon.events if e.get("event") == "daemon.gc_tuned"]
    assert tuned["frozen_objects"] > 10_000
    assert rows[0][1] is not None
    drained = [e for e in daemon.events if e.get("event") == "gateway.session_closed"]
    assert drained[0]["reason"] == "drained"
