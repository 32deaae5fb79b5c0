"""Hostile frames on a real daemon: each closes its own client with a clear code, nobody else's."""

from __future__ import annotations

import ssl

import pytest
import trio
import trio_websocket

from livesvc.daemon._daemon import Daemon

from .e2e_support import KEY

LIVE = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"


def nested(depth: int, where: str) -> str:
    inner = '{"a":' * depth + "1" + "}" * depth
    if where == "toolResponse":
        return (
            '{"toolResponse":{"functionResponses":[{"id":"x","name":"f","response":'
            + inner
            + "}]}}"
        )
    return (
        '{"clientContent":{"turns":[{"role":"user","parts":[{"functionCall":'
        '{"name":"f","args":' + inner + '}}]}],"turnComplete":true}}'
    )


async def read_forever(ws: trio_websocket.WebSocketConnection) -> None:
    while True:
        await ws.get_message()


async def close_of(daemon: Daemon, frame: str) -> tuple[int, str]:
    context = await trio.to_thread.run_sync(
        lambda: ssl.create_default_context(cafile=daemon.ca_file)
    )
    url = f"{daemon.gateway_url}{LIVE}?key={KEY}"
    async with trio_websocket.open_websocket_url(url, ssl_context=context) as ws:
        await ws.send_message('{"setup": {"model": "models/x"}}')
        await ws.get_message()
        await ws.send_message(frame)
        with pytest.raises(trio_websocket.ConnectionClosed) as closed:
            await read_forever(ws)
    reason = closed.value.reason
    assert reason is not None
    return reason.code, reason.reason or ""


@pytest.mark.parametrize("where", ["toolResponse", "clientContent"])
@pytest.mark.parametrize("depth", [300, 985])
async def test_a_deeply_nested_frame_is_closed_with_1007(daemon: Daemon, depth: int, where: str):
    """985 levels once closed the client with 1000 "" (a RecursionError past the decoder)."""
    with trio.fail_after(30):
        code, reason = await close_of(daemon, nested(depth, where))
    assert code == 1007
    assert reason.startswith("Invalid JSON payload received.")
    if depth == 300:  # decodable, refused by the nesting bound
        assert "nested more than 128 levels" in reason
