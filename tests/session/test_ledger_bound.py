"""The ledger's bound on a virtual clock: a server that acknowledges nothing cannot grow it forever."""

from __future__ import annotations

from typing import Any

import pytest
import structlog
import trio
from structlog.testing import capture_logs

from livesvc.session import (
    DeliveryFailed,
    LedgerFull,
    SessionConfigError,
    SessionStatus,
    open_session,
)
from livesvc.wire import ServerContent, ServerMessage

from .fakes import FakeConnection, FakeLive


def opts(live: FakeLive, **kw: Any) -> dict[str, Any]:
    return {
        "model": "gemini-live-2.5-flash-preview",
        "api_key": "k",
        "response_modalities": ["TEXT"],
        "dial": live.dial,
        "random_seed": 1,
        **kw,
    }


class Mute:
    """A server that reads everything and answers nothing until told to."""

    def __init__(self) -> None:
        self.answer = trio.Event()
        self.texts: list[str] = []

    async def __call__(self, conn: FakeConnection) -> None:
        await conn.accept_setup()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read, conn)
            await self.answer.wait()
            # Each of the two prompts ends with its own turnComplete; then a handle covers both.
            for _ in range(2):
                await conn.send(ServerMessage(server_content=ServerContent(turn_complete=True)))
            await conn.send_handle()

    async def _read(self, conn: FakeConnection) -> None:
        while True:
            message = await conn.receive()
            if message.client_content is not None:
                for turn in message.client_content.turns or ():
                    self.texts += [p.text or "" for p in turn.parts or ()]


async def test_a_send_past_the_bound_fails_to_its_caller_and_the_session_goes_on(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The third unacknowledged message is refused (LedgerFull, counted, logged); once the
    server acknowledges, sending works again on the same connection."""
    server = Mute()
    with (
        trio.fail_after(600),
        capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs,
    ):
        async with trio.open_nursery() as nursery:
            live = FakeLive(nursery, server)
            async with open_session(
                **opts(live, ledger_max_entries=2), session_id="bounded"
            ) as session:
                assert await session.send_text("one") == 1
                assert await session.send_text("two") == 2
                await trio.sleep(60)  # nothing is acknowledged, however long we wait
                with pytest.raises(LedgerFull) as refused:
                    await session.send_text("three")
                assert isinstance(refused.value, DeliveryFailed)
                assert (refused.value.entries, refused.value.max_entries) == (2, 2)
                assert session.status is SessionStatus.CONNECTED
                assert (session.stats["ledger_pending"], session.stats["ledger_refused"]) == (2, 1)
                server.answer.set()
                await session.wait_turns(2)
                await session.wait_settled()  # the handle covers both: the ledger is empty
                assert await session.send_text("three") == 3
                await trio.sleep(1)
            nursery.cancel_scope.cancel()
    assert server.texts == ["one", "two", "three"]
    assert len(live.dials) == 1  # the refusal cost no reconnect
    (line,) = [line for line in logs if line["event"] == "session.ledger_full"]
    assert (line["session_id"], line["entries"], line["max_entries"], line["refused"]) == (
        "bounded",
        2,
        2,
        1,
    )
    (closed,) = [line for line in logs if line["event"] == "session.closed"]
    assert closed["ledger_refused"] == 1


async def test_a_message_larger_than_the_byte_bound_is_refused(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Bytes are counted as encoded: a big prompt is refused, a small one goes."""
    server = Mute()
    async with trio.open_nursery() as nursery:
        live = FakeLive(nursery, server)
        async with open_session(**opts(live, ledger_max_bytes=1000)) as session:
            with pytest.raises(LedgerFull) as refused:
                await session.send_text("x" * 1000)
            assert (refused.value.bytes, refused.value.max_bytes) == (0, 1000)
            assert await session.send_text("small") == 1
            assert 0 < session.stats["ledger_bytes"] < 1000
            assert session.stats["ledger_refused"] == 1
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("field", ["ledger_max_entries", "ledger_max_bytes"])
async def test_a_bound_below_one_is_a_config_error(field: str) -> None:
    with pytest.raises(SessionConfigError) as info:
        async with open_session(model="gemini-live-2.5-flash-preview", api_key="k", **{field: 0}):
            pass
    assert info.value.field == field
