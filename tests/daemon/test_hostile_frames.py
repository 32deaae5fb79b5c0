"""Hostile frames on a real daemon: each closes its own client with a clear code, nobody else's."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
import trio
import trio_websocket

from livesvc.config import load_config
from livesvc.daemon._daemon import Daemon

from .e2e_support import KEY, config_text

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


async def everything(stream: trio.abc.Stream) -> bytes:
    """What the peer sends before it closes (a reset counts as a close)."""
    got = b""
    try:
        while chunk := await stream.receive_some(1024):
            got += chunk
    except trio.BrokenResourceError:
        pass
    return got


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


async def test_failed_tls_handshakes_are_counted(daemon: Daemon):
    """A client that does not trust the certificate, and one speaking plain TCP to the TLS
    port: each is a tls_failed connection in the metrics, and the gateway still serves."""
    assert daemon.gateway_url is not None
    host, port = daemon.gateway_url.removeprefix("wss://").rsplit(":", 1)

    def untrusting_client() -> str:
        """A stdlib TLS client with only the system CAs (it sends its alert, as browsers do)."""
        context = ssl.create_default_context()
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            try:
                with context.wrap_socket(raw, server_hostname=host):
                    return "trusted"
            except ssl.SSLCertVerificationError as err:
                return err.verify_message

    with trio.fail_after(30):
        assert "local issuer" in await trio.to_thread.run_sync(untrusting_client)
        plain = await trio.open_tcp_stream(host, int(port))
        await plain.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await everything(plain) == b""  # no answer to plain HTTP on the TLS port
        await plain.aclose()
        code, _ = await close_of(daemon, nested(300, "toolResponse"))  # still serving

        def failed() -> float:
            value = daemon.metrics.registry.get_sample_value(
                "livesvc_client_connections_total", {"result": "tls_failed"}
            )
            return value or 0.0

        # The server sees each failure when the kernel hands it the peer's bytes; a
        # counter has no change notification, so wait for it (bounded by fail_after).
        while failed() < 2:  # noqa: ASYNC110
            await trio.sleep(0.01)
    assert failed() == 2
    assert code == 1007


async def test_idle_connections_are_shed_and_real_clients_get_1013_at_capacity(
    tmp_path: Path, nursery: trio.Nursery
):
    """Idle TCP peers fill every slot; real clients still get in (the oldest idle one is
    shed), and past max_clients they get the documented 1013, not a TCP reset."""
    text = config_text(state_dir=str(tmp_path / "state")).replace(
        "[gateway.tls]",
        "[gateway.limits]\nmax_clients = 2\nmax_pending_connections = 2\n[gateway.tls]",
        1,
    )
    path = tmp_path / "live.toml"
    path.write_text(text)
    small = Daemon(load_config(path), config_path=str(path), handle_signals=False)
    await nursery.start(small.run)
    assert small.gateway_url is not None
    host, port = small.gateway_url.removeprefix("wss://").rsplit(":", 1)
    context = await trio.to_thread.run_sync(
        lambda: ssl.create_default_context(cafile=small.ca_file)
    )
    url = f"{small.gateway_url}{LIVE}?key={KEY}"
    with trio.fail_after(30):
        idle = [await trio.open_tcp_stream(host, int(port)) for _ in range(4)]
        live = []
        for _ in range(2):
            ws = await trio_websocket.connect_websocket_url(nursery, url, ssl_context=context)
            await ws.send_message('{"setup": {"model": "models/x"}}')
            assert b"setupComplete" in await ws.get_message()
            live.append(ws)
        third = await trio_websocket.connect_websocket_url(nursery, url, ssl_context=context)
        await third.send_message('{"setup": {"model": "models/x"}}')
        await read_forever_or_close(third)
        for ws in live:
            await ws.aclose()
        for stream in idle:
            await stream.aclose()
    assert third.closed is not None
    assert third.closed.code == 1013
    small.request_shutdown()


async def read_forever_or_close(ws: trio_websocket.WebSocketConnection) -> None:
    try:
        while True:
            await ws.get_message()
    except trio_websocket.ConnectionClosed:
        return
