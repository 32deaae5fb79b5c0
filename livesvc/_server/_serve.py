"""One listener for the Live WebSocket and REST on the same origin.

The Live SDK uses one base URL for both (``wss://host/ws/...`` and
``https://host/v1beta/models``), so one port has to answer both. Each connection's
request head is read here, with size and time limits; a WebSocket upgrade is handed
to trio-websocket on a :class:`ConnectionStream` that replays the bytes already read,
anything else is answered as REST with h11 (keep-alive included).
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import h11
import trio
import trio_websocket

from livesvc._server._headers import Headers
from livesvc._server._http import HttpRequest, HttpResponse
from livesvc._server._paths import split_target
from livesvc._server._stream import ConnectionStream
from livesvc.logs import get_logger

__all__ = [
    "FrontDoor",
    "Limits",
    "RestHandler",
    "WebSocketHandler",
    "WebSocketUpgrade",
    "open_listeners",
    "serve",
]

log = get_logger(__name__)

_RECEIVE_BYTES = 64 * 1024
_SHED_WAIT = 1.0  # seconds a new connection waits for the slot of the one shed for it


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits per connection, so a slow or garbage client holds little.

    Attributes:
        head_bytes: largest request head (request line and headers).
        head_timeout: time for the TLS handshake and the first request head.
        body_bytes: largest REST request body.
        body_timeout: time to receive a REST body.
        keepalive_timeout: idle time allowed between two REST requests.
        max_connections: concurrent connections; further ones are closed at once.
        ws_max_message_bytes: largest WebSocket message a client may send (1009 above).
        ws_message_queue: WebSocket messages buffered before reading pauses.
        pre_setup_bytes: bytes a WebSocket peer may send before the application
            lifts the bound (``upgrade.stream.lift_read_limit()``, once its setup is
            accepted); 1009 past it. ``None``: no bound.
        close_timeout: time allowed for a WebSocket closing handshake.
    """

    head_bytes: int = 16 * 1024
    head_timeout: float = 10.0
    body_bytes: int = 1 << 20
    body_timeout: float = 10.0
    keepalive_timeout: float = 30.0
    max_connections: int = 1024
    ws_max_message_bytes: int = 16 << 20
    ws_message_queue: int = 8
    pre_setup_bytes: int | None = None
    close_timeout: float = 5.0


class WebSocketUpgrade:
    """A WebSocket handshake, handed to the application before it is answered.

    The handler calls :meth:`accept` (or :meth:`reject`). ``stream`` is the raw
    connection below the WebSocket, for faults (:meth:`ConnectionStream.abort`
    drops the connection without a close frame).
    """

    def __init__(
        self,
        *,
        path: str,
        query: dict[str, str],
        headers: Headers,
        remote: tuple[str, int] | None,
        stream: ConnectionStream,
        request: trio_websocket.WebSocketRequest,
    ) -> None:
        self.path = path
        self.query = query
        self.headers = headers
        self.remote = remote
        self.stream = stream
        self._request = request
        self.connection: trio_websocket.WebSocketConnection | None = None

    async def accept(self) -> trio_websocket.WebSocketConnection:
        """Complete the handshake and return the WebSocket connection."""
        self.connection = await self._request.accept()
        self.stream.websocket = self.connection  # its protocol closes get their frame
        return self.connection

    async def reject(self, status: int, message: str) -> None:
        """Refuse the handshake with an HTTP status and a Google-shaped JSON body."""
        response = HttpResponse.error(status, message)
        await self._request.reject(
            status,
            extra_headers=[(b"content-type", response.content_type.encode())],
            body=response.body,
        )


WebSocketHandler = Callable[[WebSocketUpgrade], Awaitable[None]]
RestHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]


async def serve(
    websocket_handler: WebSocketHandler,
    rest_handler: RestHandler,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    limits: Limits | None = None,
    server_name: str = "livesvc",
    reuse_port: bool = False,
    on_tls_failed: Callable[[], None] | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve WebSocket upgrades and REST requests on one TCP port until cancelled.

    Reports the bound port through ``task_status`` once it is listening.
    ``on_tls_failed`` is called for each TLS handshake that fails (a client that
    does not trust the certificate, or speaks plain HTTP to a TLS port).
    ``reuse_port`` binds with ``SO_REUSEPORT``, so several processes can listen
    on the same port and the kernel spreads connections between them.

    Example::

        router = Router()
        router.add("GET", "/{version}/models", list_models)
        port = await nursery.start(serve, on_websocket, router.dispatch)
    """
    front = FrontDoor(
        websocket_handler,
        rest_handler,
        ssl_context=ssl_context,
        limits=limits,
        server_name=server_name,
        on_tls_failed=on_tls_failed,
    )
    listeners = await open_listeners(host, port, reuse_port=reuse_port)
    bound = listeners[0].socket.getsockname()[1]
    log.info("server.listening", host=host, port=bound, tls=ssl_context is not None)
    task_status.started(bound)
    await trio.serve_listeners(front.handle, listeners)


async def open_listeners(
    host: str, port: int, *, reuse_port: bool = False
) -> list[trio.SocketListener]:
    """TCP listeners for every address of ``host`` (as :func:`trio.open_tcp_listeners`).

    With ``reuse_port``, each socket sets ``SO_REUSEPORT`` before binding, so
    other processes (workers of one daemon) can bind the same port. Port 0
    with several addresses binds each on its own ephemeral port, so give a
    port or a single address.

    Example::

        listeners = await open_listeners("127.0.0.1", 8443, reuse_port=True)
        await trio.serve_listeners(handler, listeners)
    """
    if not reuse_port:
        return await trio.open_tcp_listeners(port, host=host)
    infos = await trio.socket.getaddrinfo(
        host, port, type=trio.socket.SOCK_STREAM, flags=trio.socket.AI_PASSIVE
    )
    listeners: list[trio.SocketListener] = []
    try:
        for family, kind, proto, _, address in infos:
            sock = trio.socket.socket(family, kind, proto)
            try:
                sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_REUSEADDR, 1)
                sock.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_REUSEPORT, 1)
                if family == trio.socket.AF_INET6:
                    sock.setsockopt(trio.socket.IPPROTO_IPV6, trio.socket.IPV6_V6ONLY, 1)
                await sock.bind(address)
                sock.listen(trio.socket.SOMAXCONN)
            except BaseException:
                sock.close()
                raise
            listeners.append(trio.SocketListener(sock))
    except BaseException:
        for listener in listeners:
            listener.socket.close()
        raise
    return listeners


class _Closed(Exception):
    """The peer went away or broke the protocol; nothing more to answer."""


class FrontDoor:
    """Answers connections one by one; :func:`serve` runs it on a TCP listener.

    :meth:`handle` takes any :class:`trio.abc.Stream`, so tests can drive it over
    ``trio.testing.memory_stream_pair`` on a virtual clock.
    """

    def __init__(
        self,
        websocket_handler: WebSocketHandler,
        rest_handler: RestHandler,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: Limits | None = None,
        server_name: str = "livesvc",
        on_tls_failed: Callable[[], None] | None = None,
    ) -> None:
        limits = limits or Limits()
        self._on_tls_failed = on_tls_failed
        self._on_websocket = websocket_handler
        self._on_rest = rest_handler
        self._ssl_context = ssl_context
        self._limits = limits
        self._server_name = server_name.encode()
        self._slots = trio.CapacityLimiter(limits.max_connections)
        # Connections that have not become a WebSocket yet, oldest first: when every
        # slot is taken, the oldest of them is shed to make room, so idle or slow
        # peers cannot lock real clients out (the application then says 1013 itself).
        self._pending: dict[int, trio.CancelScope] = {}

    async def handle(self, tcp_stream: trio.abc.Stream) -> None:
        """Serve one connection to its end; never raises for the peer's faults."""
        if not await self._admit(tcp_stream):
            log.warning("server.connection_refused", reason="max_connections")
            await trio.aclose_forcefully(tcp_stream)
            return
        key = id(tcp_stream)
        scope = trio.CancelScope()
        self._pending[key] = scope
        remote = _peer(tcp_stream)
        stream: trio.abc.Stream = tcp_stream
        if self._ssl_context is not None:
            stream = trio.SSLStream(
                tcp_stream, self._ssl_context, server_side=True, https_compatible=True
            )
        try:
            with scope:
                await self._serve_connection(stream, remote, key)
        except _Closed:
            pass
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception as exc:  # one bad connection never takes the server down
            log.warning("server.connection_failed", error=type(exc).__name__, detail=str(exc))
        finally:
            self._pending.pop(key, None)
            self._slots.release_on_behalf_of(tcp_stream)
            await trio.aclose_forcefully(stream)

    async def _admit(self, tcp_stream: trio.abc.Stream) -> bool:
        """Take a connection slot, shedding the oldest not-yet-WebSocket connection if full."""
        try:
            self._slots.acquire_on_behalf_of_nowait(tcp_stream)
            return True
        except trio.WouldBlock:
            pass
        if not self._pending:
            return False
        oldest = next(iter(self._pending))
        self._pending.pop(oldest).cancel()
        log.info("server.connection_shed", reason="max_connections")
        with trio.move_on_after(_SHED_WAIT):
            await self._slots.acquire_on_behalf_of(tcp_stream)
            return True
        return False

    async def _serve_connection(
        self, stream: trio.abc.Stream, remote: tuple[str, int] | None, key: int
    ) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self._limits.head_bytes)
        raw = bytearray()
        with trio.move_on_after(self._limits.head_timeout) as head_scope:
            try:
                if isinstance(stream, trio.SSLStream):
                    await stream.do_handshake()
                request = await self._next_request(conn, stream, raw)
            except trio.BrokenResourceError as exc:
                # With TLS 1.3 a client's "I do not trust you" alert arrives after our
                # side of the handshake, on the first read: a TLS failure all the same.
                if isinstance(exc.__cause__, ssl.SSLError):
                    self._tls_failed(exc, remote)
                    raise _Closed from None
                raise
        if head_scope.cancelled_caught or request is None:
            return
        if _is_upgrade(request):
            self._pending.pop(key, None)  # a WebSocket now: the application bounds those
            await self._upgrade(stream, request, bytes(raw), remote, head_scope.deadline)
            return
        while request is not None:
            if _is_upgrade(request):
                # Only the first request of a connection may switch protocols.
                await self._send_raw_error(stream, 400, "Upgrade must be the first request.")
                return
            if not await self._answer(conn, stream, request, remote):
                return
            conn.start_next_cycle()
            request = None
            with trio.move_on_after(self._limits.keepalive_timeout):
                request = await self._next_request(conn, stream, None)

    def _tls_failed(self, exc: trio.BrokenResourceError, remote: tuple[str, int] | None) -> None:
        cause = exc.__cause__
        # The SSL library's short reason (e.g. TLSV1_ALERT_UNKNOWN_CA: the client
        # does not trust our certificate); never the bytes the peer sent.
        reason = getattr(cause, "reason", None) or type(cause or exc).__name__
        log.info("server.tls_failed", reason=str(reason), peer=remote[0] if remote else None)
        if self._on_tls_failed is not None:
            self._on_tls_failed()

    async def _next_request(
        self, conn: h11.Connection, stream: trio.abc.Stream, raw: bytearray | None
    ) -> h11.Request | None:
        """Read until a request head is complete; ``None`` when the peer closes."""
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint
                message = "Request head too large." if status == 431 else "Malformed HTTP request."
                await self._send_raw_error(stream, status, message)
                raise _Closed from None
            if isinstance(event, h11.Request):
                # h11 bounds only an incomplete head; one that arrived whole is checked here
                size = len(event.target) + sum(len(n) + len(v) + 4 for n, v in event.headers)
                if size > self._limits.head_bytes:
                    await self._send_raw_error(stream, 431, "Request head too large.")
                    raise _Closed
                return event
            if event is h11.NEED_DATA:
                data = bytes(await stream.receive_some(_RECEIVE_BYTES))
                if raw is not None:
                    raw += data
                conn.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                return None
            return None  # PAUSED or anything unexpected: stop reading this connection

    async def _upgrade(
        self,
        stream: trio.abc.Stream,
        request: h11.Request,
        raw: bytes,
        remote: tuple[str, int] | None,
        deadline: float,
    ) -> None:
        headers = Headers(request.headers)
        if headers.get("sec-websocket-key") is None or headers.get("sec-websocket-version") != "13":
            await self._send_raw_error(stream, 400, "Invalid WebSocket handshake.")
            return
        path, query = split_target(request.target.decode("latin-1"))
        async with trio.open_nursery() as nursery:
            connection_stream = ConnectionStream.open(
                nursery, stream, prefix=raw, read_limit=self._limits.pre_setup_bytes
            )
            with trio.move_on_at(deadline) as scope:
                ws_request = await trio_websocket.wrap_server_stream(
                    nursery,
                    connection_stream,
                    message_queue_size=self._limits.ws_message_queue,
                    max_message_size=self._limits.ws_max_message_bytes,
                )
            if scope.cancelled_caught:
                nursery.cancel_scope.cancel()
                return
            upgrade = WebSocketUpgrade(
                path=path,
                query=query,
                headers=headers,
                remote=remote,
                stream=connection_stream,
                request=ws_request,
            )
            try:
                await self._on_websocket(upgrade)
            finally:
                with trio.move_on_after(self._limits.close_timeout, shield=True):
                    if upgrade.connection is not None:
                        await upgrade.connection.aclose()
                    await connection_stream.aclose()
                nursery.cancel_scope.cancel()

    async def _answer(
        self,
        conn: h11.Connection,
        stream: trio.abc.Stream,
        request: h11.Request,
        remote: tuple[str, int] | None,
    ) -> bool:
        """Read the body, run the handler, send the response; False means close."""
        body = bytearray()
        with trio.move_on_after(self._limits.body_timeout) as body_scope:
            if conn.client_is_waiting_for_100_continue:
                await stream.send_all(
                    conn.send(h11.InformationalResponse(status_code=100, headers=[]))
                )
            while True:
                try:
                    event = conn.next_event()
                except h11.RemoteProtocolError:
                    await self._send_raw_error(stream, 400, "Malformed HTTP request body.")
                    return False
                if isinstance(event, h11.Data):
                    body += event.data
                    if len(body) > self._limits.body_bytes:
                        await self._send(
                            conn,
                            stream,
                            HttpResponse.error(413, "Request body too large."),
                            close=True,
                        )
                        return False
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif event is h11.NEED_DATA:
                    data = bytes(await stream.receive_some(_RECEIVE_BYTES))
                    conn.receive_data(data)
                else:
                    return False
        if body_scope.cancelled_caught:
            await self._send(
                conn, stream, HttpResponse.error(408, "Request body timed out."), close=True
            )
            return False
        path, query = split_target(request.target.decode("latin-1"))
        http_request = HttpRequest(
            method=request.method.decode("ascii", "replace").upper(),
            path=path,
            query=query,
            headers=Headers(request.headers),
            body=bytes(body),
            remote=remote,
        )
        try:
            response = await self._on_rest(http_request)
        except Exception as exc:
            log.error("server.rest_handler_failed", path=path, error=type(exc).__name__)
            response = HttpResponse.error(500, "Internal error encountered.")
        await self._send(conn, stream, response, close=False)
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE

    async def _send(
        self, conn: h11.Connection, stream: trio.abc.Stream, response: HttpResponse, *, close: bool
    ) -> None:
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", response.content_type.encode()),
            (b"content-length", str(len(response.body)).encode()),
            (b"server", self._server_name),
        ]
        headers += [(name.encode(), value.encode()) for name, value in response.headers]
        if close:
            headers.append((b"connection", b"close"))
        try:
            data = conn.send(
                h11.Response(
                    status_code=response.status, headers=headers, reason=_reason(response.status)
                )
            )
            data_body = conn.send(h11.Data(data=response.body)) if response.body else b""
            end = conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            raise _Closed from None
        await stream.send_all((data or b"") + (data_body or b"") + (end or b""))

    async def _send_raw_error(self, stream: trio.abc.Stream, status: int, message: str) -> None:
        response = HttpResponse.error(status, message)
        head = (
            f"HTTP/1.1 {status} {_reason(status)}\r\n"
            f"content-type: {response.content_type}\r\n"
            f"content-length: {len(response.body)}\r\n"
            "connection: close\r\n\r\n"
        ).encode()
        try:
            await stream.send_all(head + response.body)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


def _is_upgrade(request: h11.Request) -> bool:
    headers = Headers(request.headers)
    upgrade = (headers.get("upgrade") or "").lower()
    return request.method == b"GET" and "websocket" in upgrade


def _peer(stream: trio.abc.Stream) -> tuple[str, int] | None:
    sock = getattr(stream, "socket", None)
    if sock is None:
        return None
    try:
        address: Any = sock.getpeername()
    except OSError:
        return None
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None


def _reason(status: int) -> str:
    return _REASONS.get(status, "Error")


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    408: "Request Timeout",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
}
