"""``livesvc chat`` against the in-process daemon: answers stream, and a dropped connection resumes."""

from __future__ import annotations

import ssl

import pytest
import trio

from livesvc.chat import ChatClient, ChatError
from livesvc.daemon._daemon import Daemon

from .e2e_support import KEY


async def chat_client(daemon: Daemon, key: str = KEY) -> ChatClient:
    context = await trio.to_thread.run_sync(
        lambda: ssl.create_default_context(cafile=daemon.ca_file)
    )
    return ChatClient(
        daemon.gateway_url or "", key, ssl_context=context, retry_delays=(0.05,), resume_wait=0.5
    )


async def test_chat_streams_answers(daemon: Daemon):
    client = await chat_client(daemon)
    send, lines = trio.open_memory_channel[str](0)
    out: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: client.converse(lines, on_text=out.append))
        with trio.fail_after(20):
            async with send:
                await send.send("hello")
                await send.send("again")
    assert "".join(out) == "echo #1: hello\necho #2: again\n"


async def test_chat_resumes_after_a_dropped_connection(daemon: Daemon):
    client = await chat_client(daemon)
    send, lines = trio.open_memory_channel[str](0)
    out: list[str] = []
    notices: list[str] = []
    answered = trio.Event()

    def on_text(text: str) -> None:
        out.append(text)
        if "".join(out).endswith("two\n"):
            answered.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: client.converse(lines, on_text=on_text, on_notice=notices.append)
        )
        with trio.fail_after(20):
            await send.send("one")
            await send.send("two")
            await answered.wait()
            session = daemon.gateway.live_session(client.session_id or "")
            assert session is not None
            assert session.link is not None
            session.link.request_close(1011, "simulated drop")
            await send.send("three")
            await send.send("/quit")
    assert "".join(out) == "echo #1: one\necho #2: two\necho #3: three\n"
    assert client.connections == 2
    assert any("connection closed (1011)" in n for n in notices)


async def test_chat_refused_key_is_an_error(daemon: Daemon):
    client = await chat_client(daemon, key="wrong")
    _send, lines = trio.open_memory_channel[str](0)
    with trio.fail_after(20), pytest.raises(ChatError, match=r"refused \(1008\)"):
        await client.converse(lines, on_text=lambda _: None)
