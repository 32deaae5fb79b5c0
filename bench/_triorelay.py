"""The floor of our stack: a bare Live relay on trio + trio-websocket, nothing else.

``python -m bench._triorelay --upstream ws://127.0.0.1:PORT [--port 0]`` prints
``triorelay listening on ws://127.0.0.1:PORT`` once it serves.

It has what every relay on our stack pays for and none of what livesvc adds:
per client, one upstream connection and two forwarding tasks that pass each
message on as it is (no JSON parsing, no auth, no ledger, no resumption, no
mailboxes); trio-websocket's own reader task per socket and wsproto's framing
stay. Measured beside ``gateway``, the gap between the two is what livesvc's
own code costs per message; measured beside ``websockets``, what the stack costs.
"""

from __future__ import annotations

import argparse
import signal
import sys

import trio
import trio_websocket

__all__ = ["READY", "main"]

READY = r"triorelay listening on (ws://\S+)"


async def _forward(
    source: trio_websocket.WebSocketConnection, target: trio_websocket.WebSocketConnection
) -> None:
    while True:
        await target.send_message(await source.get_message())


async def _handle(request: trio_websocket.WebSocketRequest, upstream: str) -> None:
    client = await request.accept()
    try:
        async with trio_websocket.open_websocket_url(
            upstream + request.path, max_message_size=2**26
        ) as server:
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_forward, client, server)
                    nursery.start_soon(_forward, server, client)
            except* trio_websocket.ConnectionClosed:
                pass
            if server.closed is not None and server.closed.code is not None:
                with trio.move_on_after(1, shield=True):
                    await client.aclose(server.closed.code, server.closed.reason or "")
    except* (OSError, trio_websocket.HandshakeError):
        with trio.move_on_after(1, shield=True):
            await client.aclose(1011, "upstream connection failed")


async def _main(upstream: str, port: int, max_seconds: float) -> None:
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            trio_websocket.serve_websocket,
            lambda request: _handle(request, upstream),
            "127.0.0.1",
            port,
            None,
        )
        bound = server.port
        print(f"triorelay listening on ws://127.0.0.1:{bound}", flush=True)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            with trio.move_on_after(max_seconds):
                async for _ in signals:
                    break
        nursery.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._triorelay")
    parser.add_argument("--upstream", required=True, help="ws://host:port of the Live API")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    trio.run(_main, args.upstream.rstrip("/"), args.port, args.max_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
