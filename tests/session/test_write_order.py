"""Senders write straight to the socket when nothing is queued: the wire order stays the call order."""

from __future__ import annotations

from typing import Any

import trio

from livesvc.session import KeepalivePolicy, open_session
from livesvc.wire import Blob, ClientContent, Content, Part, RealtimeInput

from .fakes import FakeConnection, FakeLive


def _tag(message: Any) -> str:
    if message.client_content is not None:
        return message.client_content.turns[0].parts[0].text
    return bytes(message.realtime_input.audio.data).decode()


async def test_concurrent_senders_reach_the_server_in_call_order() -> None:
    received: list[str] = []
    done = trio.Event()
    total = 8 * 40

    async def record(conn: FakeConnection) -> None:
        await conn.accept_setup()
        while len(received) < total:
            received.append(_tag(await conn.receive()))
        done.set()
        await trio.sleep_forever()

    called: list[str] = []

    async def sender(session: Any, who: int) -> None:
        for i in range(40):
            tag = f"{who}-{i}"
            if i % 3 == 0:  # a ledgered message among realtime audio
                message: Any = ClientContent(
                    turns=[Content(role="user", parts=[Part(text=tag)])], turn_complete=False
                )
            else:
                message = RealtimeInput(audio=Blob(data=tag.encode(), mime_type="audio/pcm"))
            called.append(tag)
            await session.send(message, wait=False)
            if i % 7 == who % 7:
                await trio.lowlevel.checkpoint()  # let others in between

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            live = FakeLive(nursery, record)
            async with open_session(
                model="gemini-live-2.5-flash-preview",
                api_key="k",
                response_modalities=["TEXT"],
                keepalive=KeepalivePolicy(interval=60.0, timeout=60.0),
                dial=live.dial,
                random_seed=1,
            ) as session:
                async with trio.open_nursery() as senders:
                    for who in range(8):
                        senders.start_soon(sender, session, who)
                await done.wait()
                # Some went straight to the socket, some through the writer: both paths ran.
                assert session.stats["ledger_last_seq"] == 8 * 14
            nursery.cancel_scope.cancel()
    assert received == called
