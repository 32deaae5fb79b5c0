"""A scripted Live server over memory streams, for tests on trio's virtual clock.

No sockets: the session's ``dial`` is replaced by :meth:`FakeLive.dial`, which
pairs a trio-websocket client and server over ``memory_stream_pair()``. Each
connection runs a behaviour coroutine; the default one speaks just enough of
the protocol (setupComplete, a handle per turn, ``echo`` replies).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio
import trio.testing
import trio_websocket
import wsproto.utilities

from livesvc.wire import (
    ClientMessage,
    Content,
    Part,
    ServerContent,
    ServerMessage,
    SessionResumptionUpdate,
    SetupComplete,
    decode_client,
    encode_server,
)


class FakeConnection:
    """The server side of one dialled connection."""

    def __init__(self, live: FakeLive, number: int, ws: Any, client_stream: Any) -> None:
        self.live = live
        self.number = number
        self.ws = ws
        self._client_stream = client_stream
        self.setup: ClientMessage | None = None
        self.received: list[ClientMessage] = []

    async def send(self, message: ServerMessage) -> None:
        await self.ws.send_message(encode_server(message))

    async def receive(self) -> ClientMessage:
        message = decode_client(await self.ws.get_message())
        self.received.append(message)
        return message

    async def accept_setup(self) -> None:
        """Read the setup and answer setupComplete plus a first handle."""
        self.setup = await self.receive()
        await self.send(ServerMessage(setup_complete=SetupComplete(session_id="fake-session")))
        await self.send_handle()

    async def send_handle(self) -> None:
        self.live.handles += 1
        update = SessionResumptionUpdate(new_handle=f"h{self.live.handles}", resumable=True)
        await self.send(ServerMessage(session_resumption_update=update))

    async def close(self, code: int, reason: str) -> None:
        await self.ws.aclose(code, reason)

    def black_hole(self) -> None:
        """Bytes from the client stop arriving (and so do pongs to its pings)."""
        self._client_stream.send_stream.send_all_hook = None

    def hold(self) -> None:
        """Bytes from the client wait (a slow network) until :meth:`release`."""
        self._held_hook = self._client_stream.send_stream.send_all_hook
        self._client_stream.send_stream.send_all_hook = None

    async def release(self) -> None:
        """Deliver what the client sent while held, and go on delivering."""
        hook = self._held_hook
        self._client_stream.send_stream.send_all_hook = hook
        if hook is not None:
            await hook()

    async def echo_forever(self) -> None:
        """Answer every text turn with ``echo: T`` then turnComplete and a handle."""
        while True:
            message = await self.receive()
            text = None
            if message.client_content is not None and message.client_content.turn_complete:
                turns = message.client_content.turns or []
                parts = turns[-1].parts if turns else None
                text = parts[0].text if parts else ""
            elif message.realtime_input is not None and message.realtime_input.text is not None:
                text = message.realtime_input.text
            if text is None:
                continue
            await self.answer(f"echo: {text}")

    async def answer(self, text: str) -> None:
        """A model turn ``text``, then turnComplete and a new handle."""
        reply = Content(role="model", parts=[Part(text=text)])
        await self.send(ServerMessage(server_content=ServerContent(model_turn=reply)))
        await self.send(ServerMessage(server_content=ServerContent(turn_complete=True)))
        await self.send_handle()


Behaviour = Callable[[FakeConnection], Awaitable[None]]


async def echo_server(conn: FakeConnection) -> None:
    await conn.accept_setup()
    await conn.echo_forever()


class FakeLive:
    """Dials connections to a scripted server; records when each dial happened.

    Args:
        nursery: where server-side tasks run (the test's nursery).
        behaviours: one behaviour per connection, in order; the last repeats.
    """

    def __init__(self, nursery: trio.Nursery, *behaviours: Behaviour) -> None:
        self._nursery = nursery
        self._behaviours = list(behaviours) or [echo_server]
        self.dials: list[float] = []
        self.connections: list[FakeConnection] = []
        self.handles = 0

    async def dial(
        self, nursery: trio.Nursery, endpoint: Any, **_: Any
    ) -> trio_websocket.WebSocketConnection:
        self.dials.append(trio.current_time())
        number = len(self.dials)
        behaviour = self._behaviours[min(number, len(self._behaviours)) - 1]
        client_stream, server_stream = trio.testing.memory_stream_pair()
        self._nursery.start_soon(self._serve, number, behaviour, server_stream, client_stream)
        return await trio_websocket.wrap_client_stream(
            nursery,
            client_stream,
            "fake",
            "/ws",
            message_queue_size=64,  # type: ignore[arg-type]
        )

    async def _serve(
        self, number: int, behaviour: Behaviour, server_stream: Any, client_stream: Any
    ) -> None:
        try:
            async with trio.open_nursery() as nursery:
                request = await trio_websocket.wrap_server_stream(
                    nursery, server_stream, message_queue_size=64
                )
                ws = await request.accept()
                conn = FakeConnection(self, number, ws, client_stream)
                self.connections.append(conn)
                await behaviour(conn)
                nursery.cancel_scope.cancel()
        except* (
            trio_websocket.ConnectionClosed,
            trio.BrokenResourceError,
            trio.ClosedResourceError,
            wsproto.utilities.LocalProtocolError,  # a ping answered while closing
        ):
            pass  # the client went away
