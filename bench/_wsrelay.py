"""The baseline: a plain Live relay written with ``websockets``, as Google's proxy samples do it.

``python -m bench._wsrelay --upstream ws://127.0.0.1:PORT [--port 0]`` prints
``wsrelay listening on ws://127.0.0.1:PORT`` once it serves.

Shape of the samples (docs/peers.md §4.1, §4.2), reproduced here from their
description: one asyncio process; per client, one upstream connection and two
forwarding tasks that ``json.loads`` and ``json.dumps`` every frame; the first
half to finish cancels the other (``asyncio.wait(FIRST_COMPLETED)``); a frame
that fails to forward is printed and skipped; the upstream close code is passed
on to the client. The one change: the samples read a first message with a
bearer token or a service URL before they dial, while our load speaks the Live
protocol directly, so this relay dials the upstream with the client's own path
and query (``?key=...``) at once. No auth, resumption, ``goAway`` handling or
backpressure, as in the samples.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

__all__ = ["READY", "main"]

READY = r"wsrelay listening on (ws://\S+)"


async def _forward(source: Any, target: Any) -> None:
    async for message in source:
        try:
            data = json.loads(message)
            await target.send(json.dumps(data))
        except ConnectionClosed:
            raise
        except Exception as exc:  # the samples print and go on
            print(f"relay error: {exc!r}", flush=True)


async def _handle(client: ServerConnection, upstream: str) -> None:
    path = client.request.path if client.request is not None else "/"
    try:
        async with connect(upstream + path, max_size=None) as server:
            halves = [
                asyncio.create_task(_forward(client, server)),
                asyncio.create_task(_forward(server, client)),
            ]
            _done, pending = await asyncio.wait(halves, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            if server.close_code is not None:
                await client.close(server.close_code, server.close_reason or "")
    except ConnectionClosed:
        pass
    except Exception as exc:
        print(f"relay upstream failed: {exc!r}", flush=True)
        await client.close(1011, "upstream connection failed")


async def _main(upstream: str, port: int, max_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set_result, None)
    async with serve(lambda ws: _handle(ws, upstream), "127.0.0.1", port, max_size=None) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"wsrelay listening on ws://127.0.0.1:{bound}", flush=True)
        try:
            await asyncio.wait_for(stop, timeout=max_seconds)
        except TimeoutError:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._wsrelay")
    parser.add_argument("--upstream", required=True, help="ws://host:port of the Live API")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    asyncio.run(_main(args.upstream.rstrip("/"), args.port, args.max_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
