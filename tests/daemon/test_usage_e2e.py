"""Usage metering and budgets through the gateway, with the stock SDK (issue 16).

The emulator's usage is deterministic (docs/emulator.md, "Usage metadata"): a
text turn T costs ceil(len(T)/4) prompt tokens, its reply "echo #N: T" one token
per started 4 characters; audio is 25 tokens per second. The figures asserted
here follow from that, and from the PCM sent (bytes / 32000 s at 16 kHz).
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from google.genai import errors, types

from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon

from .e2e_support import (
    ADMIN_TOKEN,
    Conversation,
    config_text,
    in_thread,
    run_sdk,
    sdk_on,
    speech,
    start_serve,
    stop_serve,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MODEL = "gemini-live-2.5-flash-preview"
TEXT_LABELS = {"key": "k0", "profile": "default", "model": MODEL}


async def open_daemon(tmp_path: Path, nursery: trio.Nursery, **config: Any) -> Daemon:
    path = tmp_path / "live.toml"
    path.write_text(config_text(state_dir=str(tmp_path / "state"), **config))
    daemon = Daemon(load_config(path), config_path=str(path), handle_signals=False)
    with trio.fail_after(20):
        await nursery.start(daemon.run)
    return daemon


@pytest.fixture
async def metered(tmp_path: Path) -> AsyncIterator[Daemon]:
    async with trio.open_nursery() as nursery:
        daemon = await open_daemon(tmp_path, nursery)
        yield daemon
        daemon.request_shutdown()


def sdk(daemon: Daemon, script: Any, **kwargs: Any) -> Any:
    assert daemon.gateway_url is not None
    assert daemon.ca_file is not None
    return in_thread(run_sdk, daemon.gateway_url, daemon.ca_file, script, **kwargs)


def metric(daemon: Daemon, name: str, **labels: str) -> float:
    return daemon.metrics.registry.get_sample_value(name, labels) or 0.0


async def usage(admin_url: str, **params: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=admin_url) as http:
        response = await http.get(
            "/v1/usage", params=params, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
        )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_text_session_is_metered_exactly(metered: Daemon):
    async def script(chat: Conversation):
        return [await chat.say("hello"), await chat.say("how are you")]

    with trio.fail_after(40):
        replies = await sdk(metered, script)
        assert metered.gateway is not None
        for session in metered.gateway.live_sessions():
            await session.ended.wait()  # its time is counted when it ends
        await metered.gateway.usage.flush()
        report = await usage(metered.admin_url or "", group_by="key,model")
    assert replies == ["echo #1: hello", "echo #2: how are you"]
    # Prompts: "hello" 2 + "how are you" 3; replies: 14 chars -> 4, 20 chars -> 5.
    tokens = "livesvc_usage_tokens_total"
    assert metric(metered, tokens, **TEXT_LABELS, direction="input", modality="TEXT") == 5
    assert metric(metered, tokens, **TEXT_LABELS, direction="output", modality="TEXT") == 9
    (group,) = report["groups"]
    assert (group["key"], group["model"]) == ("k0", MODEL)
    assert group["tokens"] == 14
    assert group["tokens_by"] == {"input.TEXT": 5, "output.TEXT": 9}
    assert (group["turns"], group["sessions"]) == (2, 1)
    assert group["session_seconds"] > 0


async def test_an_audio_session_counts_audio_seconds_and_tokens(metered: Daemon):
    config = types.LiveConnectConfig(
        response_modalities=["AUDIO"],
        output_audio_transcription=types.AudioTranscriptionConfig(),
    )

    async def script(chat: Conversation):
        chunks = speech(500, 800)  # 1.3 s of 16 kHz PCM
        for chunk in chunks:
            await chat.session.send_realtime_input(
                audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000")
            )
        messages = await chat.receive_turn()
        out = sum(
            len(p.inline_data.data)
            for m in messages
            if m.server_content and m.server_content.model_turn
            for p in m.server_content.model_turn.parts or ()
            if p.inline_data
        )
        return sum(len(c) for c in chunks), out

    with trio.fail_after(40):
        sent, received = await sdk(metered, script, config=config)
    audio = "livesvc_usage_audio_seconds_total"
    seconds_in = metric(metered, audio, key="k0", profile="default", direction="in")
    seconds_out = metric(metered, audio, key="k0", profile="default", direction="out")
    assert seconds_in == pytest.approx(sent / 32000)  # summed per chunk
    assert seconds_out == pytest.approx(received / 48000)
    # The emulator heard 500 ms of speech: 13 audio tokens in.
    tokens = "livesvc_usage_tokens_total"
    assert metric(metered, tokens, **TEXT_LABELS, direction="input", modality="AUDIO") == 13


async def test_tool_calls_are_counted(metered: Daemon):
    async def script(chat: Conversation):
        return await chat.say("current_time(timezone=UTC)")

    with trio.fail_after(40):
        await sdk(metered, script)
        assert metered.gateway is not None
        await metered.gateway.usage.flush()
        report = await usage(metered.admin_url or "", key="k0", group_by="key")
    (group,) = report["groups"]
    assert group["tool_calls"] == 1


async def test_a_spent_budget_refuses_the_next_session_and_closes_a_running_one_at_the_turn_end(
    tmp_path: Path, nursery: trio.Nursery
):
    daemon = await open_daemon(
        tmp_path,
        nursery,
        key_extra="budget = { tokens_per_day = 10 }\n",
        extra="[gateway.usage]\nbudget_grace_seconds = 0\n",
    )

    async def script(chat: Conversation):
        first = await chat.say("hello")  # 2 + 4 = 6 tokens: within the budget
        second = await chat.say("how are you")  # 3 + 5 more: 14, spent
        try:
            async for _ in chat.session.receive():
                pass
        except errors.APIError as closed:
            return [first, second], closed.code, str(closed)
        return [first, second], None, ""

    async def next_one(chat: Conversation):
        return await chat.say("anyone?")

    with trio.fail_after(60):
        replies, code, reason = await sdk(daemon, script)
        with pytest.raises(errors.APIError) as refused:
            await sdk(daemon, next_one)
    # The turn that spent it was delivered whole; then the session was closed.
    assert replies == ["echo #1: hello", "echo #2: how are you"]
    assert code == 4002
    assert "tokens_per_day (10)" in reason
    assert refused.value.code == 4002
    assert "Budget tokens_per_day (10) of key k0 is spent for today." in str(refused.value)
    budget = "livesvc_budget_exceeded_total"
    assert metric(daemon, budget, key="k0", budget="tokens_per_day", action="closed") == 1
    assert metric(daemon, budget, key="k0", budget="tokens_per_day", action="refused") == 1
    daemon.request_shutdown()


async def test_sessions_concurrent_refuses_the_second_session(
    tmp_path: Path, nursery: trio.Nursery
):
    daemon = await open_daemon(
        tmp_path, nursery, key_extra="budget = { sessions_concurrent = 1 }\n"
    )

    async def second(chat: Conversation):
        return await chat.say("me too")

    async def first(chat: Conversation):
        await chat.say("one")
        with pytest.raises(errors.APIError) as refused:
            trio.from_thread.run(sdk, daemon, second)
        return refused.value.code, str(refused.value)

    with trio.fail_after(60):
        code, reason = await sdk(daemon, first)
    assert code == 4002
    assert "sessions_concurrent (1)" in reason
    daemon.request_shutdown()


async def test_usage_survives_kill_9_and_a_reload_changes_the_budget(
    tmp_path: Path, nursery: trio.Nursery
):
    path = tmp_path / "live.toml"
    path.write_text(
        config_text(
            state_dir=str(tmp_path / "state"), extra="[gateway.usage]\nflush_seconds = 0.2\n"
        )
    )
    first = await start_serve(path, nursery)

    async def hello(chat: Conversation):
        return await chat.say("hello")

    with trio.fail_after(90):
        assert await sdk_on(first, hello) == "echo #1: hello"
        # The write-behind commits within flush_seconds of the session's end.
        await first.wait_for("gateway.session_closed")
        closed_at = next(
            i for i, e in enumerate(first.events) if e.get("event") == "gateway.session_closed"
        )
        await first.wait_for("usage.flushed", after=closed_at)
        first.kill()
        assert await first.wait() == -signal.SIGKILL
        # A budget the day's usage (6 tokens) already spent, applied by SIGHUP.
        second = await start_serve(path, nursery)
        report = await usage(second.admin_url, key="k0", group_by="key")
        path.write_text(
            config_text(
                state_dir=str(tmp_path / "state"),
                key_extra="budget = { tokens_per_day = 6 }\n",
                extra="[gateway.usage]\nflush_seconds = 0.2\n",
            )
        )
        second.signal(signal.SIGHUP)
        await second.wait_for("config.reloaded")
        with pytest.raises(errors.APIError) as refused:
            await sdk_on(second, hello)
        assert await stop_serve(second) == 0
    (group,) = report["groups"]
    assert group["tokens"] == 6
    assert refused.value.code == 4002
