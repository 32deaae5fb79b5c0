"""Dial a Live WebSocket with the TLS handshake as its own, bounded step.

trio-websocket does the TLS handshake lazily, inside its reader task, and a
failure there is not reported: the caller waits for a WebSocket handshake
that never comes until its connect timeout fires (trio-websocket#199), so an
untrusted certificate looks like a 30-60 s hang. Here the TCP stream is
opened, the TLS handshake is done explicitly under :data:`TLS_HANDSHAKE_TIMEOUT`,
and only then does the WebSocket handshake run on the finished stream. A
certificate the client does not trust fails at once with a
:class:`TlsHandshakeError` that names the problem and how to pass a CA.

Example::

    async with trio.open_nursery() as nursery:
        ws = await connect_websocket_url(
            nursery, "wss://127.0.0.1:8443/ws", ssl_context=ssl.create_default_context(cafile="ca.pem")
        )

    async with open_websocket_url("wss://127.0.0.1:8443/ws", ssl_context=ctx) as ws:
        await ws.send_message("...")
"""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
import trio_websocket

from livesvc.auth import AuthError
from livesvc.session._errors import LiveSessionError

__all__ = [
    "TLS_HANDSHAKE_TIMEOUT",
    "TlsHandshakeError",
    "connect_websocket_url",
    "open_websocket_url",
]

TLS_HANDSHAKE_TIMEOUT = 10.0
"""Seconds the TLS handshake may take before the dial fails (retryable)."""

CA_HINT = (
    "pass the CA that signed it: ssl_context=ssl.create_default_context(cafile='ca.pem') "
    "(livesvc chat and the examples: --ca ca.pem)"
)


class TlsHandshakeError(AuthError, LiveSessionError):
    """The TLS handshake with the server failed.

    An untrusted or mismatched certificate is not retryable (``retryable`` is
    false: the session fails at once, as for a refused credential); a reset or
    a timeout during the handshake is. ``problem`` says what went wrong without
    the hint on how to pass a CA, which the message adds.
    """

    def __init__(self, problem: str, *, retryable: bool, hint: str | None = None) -> None:
        super().__init__(f"{problem}; {hint}" if hint else problem, retryable=retryable)
        self.problem = problem


def _split(url: str, ssl_context: ssl.SSLContext | None) -> tuple[str, int, str, str, bool]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError(f"not a WebSocket URL (ws:// or wss://): {parts.scheme}://...")
    if parts.scheme == "ws" and ssl_context is not None:
        raise ValueError("ssl_context is for wss:// URLs only")
    host = parts.hostname
    if not host:
        raise ValueError("the WebSocket URL has no host")
    tls = parts.scheme == "wss"
    port = parts.port or (443 if tls else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    named = f"[{host}]" if ":" in host else host
    host_header = named if port in (80, 443) else f"{named}:{port}"
    return host, port, resource, host_header, tls


async def _tls_handshake(
    stream: trio.SocketStream, host: str, port: int, context: ssl.SSLContext, seconds: float
) -> trio.SSLStream[trio.SocketStream]:
    tls = trio.SSLStream(stream, context, server_hostname=host, https_compatible=True)
    where = f"{host}:{port}"
    try:
        with trio.fail_after(seconds):
            await tls.do_handshake()
    except trio.TooSlowError:
        await trio.aclose_forcefully(stream)
        raise TlsHandshakeError(
            f"TLS handshake with {where} did not finish within {seconds:g}s", retryable=True
        ) from None
    except trio.BrokenResourceError as exc:
        await trio.aclose_forcefully(stream)
        cause = exc.__cause__
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or str(cause)
            raise TlsHandshakeError(
                f"the TLS certificate of {where} is not trusted: {detail} "
                f"(verify code {cause.verify_code})",
                retryable=False,
                hint=CA_HINT,
            ) from cause
        reason = getattr(cause, "reason", None) or str(cause or exc) or type(exc).__name__
        raise TlsHandshakeError(
            f"TLS handshake with {where} failed: {reason}", retryable=True
        ) from exc
    return tls


async def connect_websocket_url(
    nursery: trio.Nursery,
    url: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
    message_queue_size: int = 1,
    max_message_size: int = 2**20,
    tls_timeout: float = TLS_HANDSHAKE_TIMEOUT,
) -> trio_websocket.WebSocketConnection:
    """Open a client WebSocket to ``url``; for ``wss://`` the TLS handshake comes first.

    ``ssl_context`` defaults to ``ssl.create_default_context()`` for ``wss://``.
    The connection's reader runs in ``nursery``; the caller closes it.

    Raises:
        TlsHandshakeError: the TLS handshake failed (certificate, reset, timeout).
        OSError: the TCP connection failed.
        trio_websocket.HandshakeError: the server refused the WebSocket upgrade.
    """
    host, port, resource, host_header, tls = _split(url, ssl_context)
    stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]
    stream = await trio.open_tcp_stream(host, port)
    if tls:
        context = ssl_context or ssl.create_default_context()
        stream = await _tls_handshake(stream, host, port, context, tls_timeout)
    return await trio_websocket.wrap_client_stream(
        nursery,
        stream,
        host_header,
        resource,
        extra_headers=extra_headers,
        message_queue_size=message_queue_size,
        max_message_size=max_message_size,
    )


def _only_error(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        elif not isinstance(exc, trio.Cancelled):
            leaves.append(exc)

    walk(group)
    return leaves[0] if len(leaves) == 1 else None


@asynccontextmanager
async def open_websocket_url(
    url: str,
    *,
    ssl_context: ssl.SSLContext | None = None,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
    message_queue_size: int = 1,
    max_message_size: int = 2**20,
    connect_timeout: float = 60.0,
    disconnect_timeout: float = 60.0,
    tls_timeout: float = TLS_HANDSHAKE_TIMEOUT,
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """:func:`connect_websocket_url` as an ``async with`` block (closes the socket after it).

    Like ``trio_websocket.open_websocket_url``, an error from the block or the
    connection comes out as itself, not wrapped in an exception group.

    Raises:
        TlsHandshakeError: see :func:`connect_websocket_url`.
        trio_websocket.ConnectionTimeout: no connection within ``connect_timeout``.
    """
    try:
        async with trio.open_nursery() as nursery:
            try:
                with trio.fail_after(connect_timeout):
                    ws = await connect_websocket_url(
                        nursery,
                        url,
                        ssl_context=ssl_context,
                        extra_headers=extra_headers,
                        message_queue_size=message_queue_size,
                        max_message_size=max_message_size,
                        tls_timeout=tls_timeout,
                    )
            except trio.TooSlowError:
                raise trio_websocket.ConnectionTimeout from None
            try:
                yield ws
            finally:
                with trio.move_on_after(disconnect_timeout, shield=True):
                    await ws.aclose()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        only = _only_error(group)
        if only is None:
            raise
        # Re-raise the error itself, keeping its cause (the TLS failure) and
        # not chaining the group it came in as its context.
        context = only.__context__
        try:
            raise only
        finally:
            only.__context__ = context
            del only, context
