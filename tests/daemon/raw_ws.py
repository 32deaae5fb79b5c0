"""A WebSocket client by hand, byte by byte, for tests that break the protocol on purpose."""

from __future__ import annotations

import base64
import os
import ssl
import struct

import trio

from .e2e_support import KEY

LIVE = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
SETUP = b'{"setup": {"model": "models/gemini-live-2.5-flash-preview"}}'


def frame(
    payload: bytes, *, opcode: int = 0x1, fin: bool = True, masked: bool = True, rsv: int = 0
) -> bytes:
    """One client frame, as RFC 6455 section 5.2 lays it out."""
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def connect(
    gateway_url: str, ca_file: str, key: str | None = KEY
) -> trio.SSLStream[trio.SocketStream]:
    """TLS to the gateway and a WebSocket handshake (with ``key``); returns the stream."""
    host, port = gateway_url.removeprefix("wss://").split(":")
    context = await trio.to_thread.run_sync(lambda: ssl.create_default_context(cafile=ca_file))
    tcp = await trio.open_tcp_stream(host, int(port))
    stream = trio.SSLStream(tcp, context, server_hostname=host)
    nonce = base64.b64encode(os.urandom(16)).decode()
    query = f"?key={key}" if key else ""
    await stream.send_all(
        (
            f"GET {LIVE}{query} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += await stream.receive_some(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    return stream


async def everything(stream: trio.abc.Stream) -> bytes:
    got = b""
    try:
        while chunk := await stream.receive_some(65536):
            got += chunk
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    return got


def close_code(data: bytes) -> tuple[int, str] | None:
    """The close frame among the server's (unmasked) frames, if any."""
    i = 0
    while i + 2 <= len(data):
        opcode, length = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if length == 126:
            (length,) = struct.unpack("!H", data[i : i + 2])
            i += 2
        elif length == 127:
            (length,) = struct.unpack("!Q", data[i : i + 8])
            i += 8
        payload = data[i : i + length]
        i += length
        if opcode == 0x8:
            (code,) = struct.unpack("!H", payload[:2])
            return code, payload[2:].decode("utf-8", "replace")
    return None
