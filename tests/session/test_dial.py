"""An untrusted TLS certificate fails the dial in the TLS handshake, not after a timeout.

A real TLS server on 127.0.0.1 (trustme self-signed CA). Before this dial,
trio-websocket swallowed the TLS failure in its reader task and the caller
waited for its connect timeout (trio-websocket#199): 30-60 s of silence.

The untrusted cases run on a virtual clock that stands still unless every
task has been idle for a while: the error must arrive with virtual time still
at its start, i.e. from the TLS step itself, with no timeout involved.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
import trio.testing
import trio_websocket
import trustme

from livesvc.chat import ChatClient, ChatError
from livesvc.emulator import open_emulator, write_self_signed
from livesvc.session import SessionFailed, open_session
from livesvc.session._dial import (
    TlsHandshakeError,
    connect_websocket_url,
    open_websocket_url,
)

from .conftest import emulator_config, options


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def frozen_clock(mock_clock: trio.testing.MockClock) -> trio.testing.MockClock:
    """Virtual time moves only after 2 real seconds with every task idle (a hang guard)."""
    mock_clock.autojump_threshold = 2.0
    return mock_clock


async def echo(request: trio_websocket.WebSocketRequest) -> None:
    ws = await request.accept()
    try:
        while True:
            await ws.send_message(await ws.get_message())
    except trio_websocket.ConnectionClosed:
        pass


@pytest.fixture
async def tls_echo(ca: trustme.CA) -> AsyncIterator[str]:
    """A wss:// echo server on loopback whose certificate only ``ca`` vouches for."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            trio_websocket.serve_websocket, echo, "127.0.0.1", 0, server_ctx
        )
        yield f"wss://127.0.0.1:{server.port}/ws"
        nursery.cancel_scope.cancel()


def assert_untrusted(err: TlsHandshakeError) -> None:
    assert err.retryable is False
    assert isinstance(err.__cause__, ssl.SSLCertVerificationError)
    assert "TLS certificate of 127.0.0.1:" in str(err)
    assert "is not trusted: unable to get local issuer certificate" in str(err)
    assert "ssl_context=ssl.create_default_context(cafile=" in str(err)
    assert "--ca" in str(err)


async def test_untrusted_certificate_fails_in_the_tls_handshake(
    frozen_clock: trio.testing.MockClock, tls_echo: str
) -> None:
    """The client's default trust store lacks the CA: TlsHandshakeError at once."""
    start = trio.current_time()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            with pytest.raises(TlsHandshakeError) as info:
                await connect_websocket_url(nursery, tls_echo)
    assert trio.current_time() == start  # no timeout fired: the TLS step itself failed
    assert_untrusted(info.value)


async def test_trusted_certificate_connects_and_talks(ca: trustme.CA, tls_echo: str) -> None:
    """With ssl_context trusting the CA, the same server answers over the WebSocket."""
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    with trio.fail_after(10):
        async with open_websocket_url(tls_echo, ssl_context=client_ctx) as ws:
            await ws.send_message("ping")
            assert await ws.get_message() == "ping"


async def test_a_tls_handshake_that_never_finishes_times_out_retryably(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A server that accepts TCP and says nothing: the TLS step gives up at its own deadline."""

    async def silent(stream: trio.SocketStream) -> None:
        async with stream:
            await trio.sleep_forever()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.serve_listeners, silent, listeners)
        with pytest.raises(TlsHandshakeError) as info:
            await connect_websocket_url(nursery, f"wss://127.0.0.1:{port}/", tls_timeout=7)
        nursery.cancel_scope.cancel()
    assert trio.current_time() - start == 7
    assert info.value.retryable is True
    assert "did not finish within 7s" in str(info.value)


async def test_open_session_fails_at_once_on_an_untrusted_certificate(
    frozen_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """open_session against a TLS emulator it does not trust: SessionFailed naming the problem."""
    tls = await trio.to_thread.run_sync(write_self_signed, tmp_path)
    start = trio.current_time()
    async with open_emulator(emulator_config(tls=tls)) as emu:
        assert emu.url.startswith("wss://")
        with trio.fail_after(60), pytest.raises(SessionFailed) as info:
            async with open_session(**options(emu)):
                pass
    assert trio.current_time() == start
    assert info.value.reason is not None
    assert "is not trusted" in info.value.reason
    assert "ssl_context=" in info.value.reason


async def test_open_session_with_the_ca_works(tmp_path: Path) -> None:
    """The documented fix: ssl_context trusting the emulator's ca.pem."""
    tls = await trio.to_thread.run_sync(write_self_signed, tmp_path)
    assert tls.ca_file is not None
    context = await trio.to_thread.run_sync(lambda: ssl.create_default_context(cafile=tls.ca_file))
    async with open_emulator(emulator_config(tls=tls)) as emu:
        with trio.fail_after(10):
            async with open_session(**options(emu, ssl_context=context)) as session:
                await session.send_text("hi")
                state = await session.wait_turn_complete()
    assert state.turn_complete


async def test_chat_says_to_pass_a_ca_without_retrying(
    frozen_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    """livesvc chat: ChatError naming --ca, with no retry notices and no time spent."""
    tls = await trio.to_thread.run_sync(write_self_signed, tmp_path)
    notices: list[str] = []
    start = trio.current_time()
    async with open_emulator(emulator_config(tls=tls)) as emu:
        client = ChatClient(emu.url, "test-key", ssl_context=ssl.create_default_context())
        send, lines = trio.open_memory_channel[str](0)
        with trio.fail_after(60), pytest.raises(ChatError) as info:
            async with send:
                await client.converse(lines, on_text=lambda _: None, on_notice=notices.append)
    assert trio.current_time() == start
    assert notices == []
    assert "is not trusted" in str(info.value)
    assert "--ca FILE" in str(info.value)


async def test_a_certificate_for_another_host_is_named_as_such(
    frozen_clock: trio.testing.MockClock, ca: trustme.CA
) -> None:
    """A trusted CA but a certificate for another name: the mismatch is the message."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("example.test").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    start = trio.current_time()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                trio_websocket.serve_websocket, echo, "127.0.0.1", 0, server_ctx
            )
            with pytest.raises(TlsHandshakeError) as info:
                await connect_websocket_url(
                    nursery, f"wss://127.0.0.1:{server.port}/", ssl_context=client_ctx
                )
            nursery.cancel_scope.cancel()
    assert trio.current_time() == start
    assert info.value.retryable is False
    assert "IP address mismatch" in str(info.value)
