"""RFC 6455 violations on a real daemon, byte by byte: a close frame with the right code.

Frames are built by hand on a raw TLS socket (no WebSocket library in between),
so the test sees exactly what the daemon writes back.
"""

from __future__ import annotations

import pytest
import trio

from livesvc.daemon._daemon import Daemon

from .e2e_support import Conversation, in_thread, run_sdk
from .raw_ws import SETUP, close_code, connect, everything, frame


async def violate(
    daemon: Daemon, bad: bytes, *, after_setup: bool = True
) -> tuple[int, str] | None:
    assert daemon.gateway_url is not None
    assert daemon.ca_file is not None
    stream = await connect(daemon.gateway_url, daemon.ca_file)
    if after_setup:
        await stream.send_all(frame(SETUP))
        with trio.fail_after(10):
            assert b"setupComplete" in await stream.receive_some(65536)
    await stream.send_all(bad)
    with trio.fail_after(10):
        return close_code(await everything(stream))


async def chat_ok(daemon: Daemon) -> str:
    async def script(chat: Conversation) -> str:
        return await chat.say("still here")

    assert daemon.gateway_url is not None
    assert daemon.ca_file is not None
    return await in_thread(run_sdk, daemon.gateway_url, daemon.ca_file, script)


@pytest.mark.parametrize(
    ("name", "bad", "code"),
    [
        ("invalid UTF-8 in a text frame", frame(b'{"x": "\xff\xfe"}'), 1007),
        (
            "invalid UTF-8 split over fragments",
            frame(b'{"x": "\xe2', fin=False) + frame(b'\x28"}', opcode=0x0),
            1007,
        ),
        ("a reserved data opcode", frame(b"{}", opcode=0x3), 1002),
        ("a reserved control opcode", frame(b"", opcode=0xB), 1002),
        ("a reserved bit set", frame(b"{}", rsv=0b100), 1002),
        ("an unmasked client frame", frame(b"{}", masked=False), 1002),
        ("a continuation with nothing to continue", frame(b"{}", opcode=0x0), 1002),
    ],
)
async def test_a_protocol_violation_gets_its_close_frame(
    daemon: Daemon, name: str, bad: bytes, code: int
):
    closed = await violate(daemon, bad)
    assert closed is not None, f"{name}: the connection ended without a close frame"
    assert closed[0] == code, name
    # Nobody else noticed.
    with trio.fail_after(30):
        assert await chat_ok(daemon) == "echo #1: still here"
