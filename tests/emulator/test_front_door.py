"""The front door: REST and WebSocket on one port, limits, faults below the WebSocket."""

from __future__ import annotations

import ssl

import httpx
import pytest
import trio
import trio.testing
import trio_websocket
import trustme

from livesvc._server import (
    FrontDoor,
    HttpError,
    HttpRequest,
    HttpResponse,
    Limits,
    Router,
    WebSocketUpgrade,
    serve,
)


async def _list_models(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json(
        {"version": request.params["version"], "pageSize": request.query.get("pageSize")}
    )


async def _echo_body(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json({"got": request.json()})


async def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("handler bug")


async def _forbidden(request: HttpRequest) -> HttpResponse:
    raise HttpError(403, "nope")


def _router() -> Router:
    router = Router()
    router.add("GET", "/{version}/models", _list_models)
    router.add("POST", "/echo", _echo_body)
    router.add("GET", "/boom", _boom)
    router.add("GET", "/forbidden", _forbidden)
    return router


async def _ws_echo(upgrade: WebSocketUpgrade) -> None:
    ws = await upgrade.accept()
    await ws.send_message(f"path={upgrade.path} key={upgrade.query.get('key')}".encode())
    while True:
        message = await ws.get_message()
        if message == "drop":
            await upgrade.stream.abort()
            return
        await ws.send_message(message)


@pytest.fixture
async def port(nursery):
    return await nursery.start(serve, _ws_echo, _router().dispatch)


async def test_rest_routes_collapse_duplicate_slashes_and_keep_alive(port):
    with trio.fail_after(10):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            # an absolute URL: httpx would read a relative "//v1beta" as a host
            first = await client.get(
                f"http://127.0.0.1:{port}//v1beta//models", params={"pageSize": "3"}
            )
            second = await client.post("/echo", json={"a": [1, 2]})
    assert first.status_code == 200
    assert first.json() == {"version": "v1beta", "pageSize": "3"}
    assert second.json() == {"got": {"a": [1, 2]}}


async def test_rest_errors_are_shaped_like_googles(port):
    with trio.fail_after(10):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            missing = await client.get("/nowhere")
            wrong_method = await client.delete("/echo")
            bug = await client.get("/boom")
            forbidden = await client.get("/forbidden")
            bad_json = await client.post("/echo", content=b"{not json")
    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == "NOT_FOUND"
    assert wrong_method.status_code == 405
    assert bug.status_code == 500
    assert bug.json() == {
        "error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}
    }
    assert forbidden.json()["error"] == {
        "code": 403,
        "message": "nope",
        "status": "PERMISSION_DENIED",
    }
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["status"] == "INVALID_ARGUMENT"


async def test_websocket_upgrade_sees_collapsed_path_and_query(port):
    with trio.fail_after(10):
        async with trio_websocket.open_websocket(
            "127.0.0.1", port, "//ws//x.Bidi?key=abc", use_ssl=False
        ) as ws:
            greeting = await ws.get_message()
            await ws.send_message(b"hello")
            echoed = await ws.get_message()
    assert greeting == b"path=/ws/x.Bidi key=abc"
    assert echoed == b"hello"


async def test_abort_drops_the_connection_without_a_close_frame(port):
    with trio.fail_after(10):
        async with trio_websocket.open_websocket("127.0.0.1", port, "/ws", use_ssl=False) as ws:
            await ws.get_message()
            await ws.send_message("drop")
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
    assert closed.value.reason.code == 1006


async def test_garbage_request_gets_400_and_server_survives(port):
    with trio.fail_after(10):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"\x00\x01garbage\r\n\r\n")
        reply = await stream.receive_some(4096)
        await stream.aclose()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            ok = await client.get("/v1/models")
    assert reply.startswith(b"HTTP/1.1 400")
    assert ok.status_code == 200


async def test_upgrade_without_websocket_key_is_refused(port):
    with trio.fail_after(10):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(
            b"GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"
        )
        reply = await stream.receive_some(4096)
        await stream.aclose()
    assert reply.startswith(b"HTTP/1.1 400")


async def test_tls_serves_rest_and_websocket(nursery, tmp_path):
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    port = await nursery.start(
        lambda task_status: serve(
            _ws_echo, _router().dispatch, ssl_context=server_ctx, task_status=task_status
        )
    )
    with trio.fail_after(10):
        async with httpx.AsyncClient(
            base_url=f"https://127.0.0.1:{port}", verify=client_ctx
        ) as client:
            response = await client.get("/v1alpha/models")
        async with trio_websocket.open_websocket(
            "127.0.0.1", port, "/ws/t", use_ssl=client_ctx
        ) as ws:
            greeting = await ws.get_message()
    assert response.json()["version"] == "v1alpha"
    assert greeting == b"path=/ws/t key=None"


class TestLimitsOnVirtualClock:
    """A slow or oversized client is cut off by the limits, in virtual time."""

    async def test_slow_head_is_dropped_at_the_head_timeout(self, autojump_clock):
        front = FrontDoor(_ws_echo, _router().dispatch, limits=Limits(head_timeout=3.0))
        client, server = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle, server)
            await client.send_all(b"GET /v1/models HTTP/1.1\r\n")  # never finishes the head
            start = trio.current_time()
            assert await client.receive_some() == b""
            assert trio.current_time() - start == 3.0

    async def test_oversized_head_is_refused(self, autojump_clock):
        front = FrontDoor(_ws_echo, _router().dispatch, limits=Limits(head_bytes=1024))
        client, server = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle, server)
            await client.send_all(
                b"GET / HTTP/1.1\r\nhost: x\r\nx-long: " + b"a" * 4096 + b"\r\n\r\n"
            )
            reply = await client.receive_some()
        assert reply.startswith(b"HTTP/1.1 431")

    async def test_slowly_growing_head_is_refused(self, autojump_clock):
        front = FrontDoor(_ws_echo, _router().dispatch, limits=Limits(head_bytes=1024))
        client, server = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle, server)
            await client.send_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
            await client.send_all((b"x-long: " + b"a" * 200 + b"\r\n") * 10)
            reply = await client.receive_some()
        assert reply.startswith(b"HTTP/1.1 431")

    async def test_oversized_body_is_refused(self, autojump_clock):
        front = FrontDoor(_ws_echo, _router().dispatch, limits=Limits(body_bytes=10))
        client, server = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle, server)
            await client.send_all(
                b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 20\r\n\r\n" + b"{" * 20
            )
            reply = await client.receive_some()
        assert reply.startswith(b"HTTP/1.1 413")

    async def test_idle_keepalive_connection_is_closed(self, autojump_clock):
        front = FrontDoor(_ws_echo, _router().dispatch, limits=Limits(keepalive_timeout=7.0))
        client, server = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle, server)
            await client.send_all(b"GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n")
            reply = await client.receive_some()
            start = trio.current_time()
            assert await client.receive_some() == b""
            assert trio.current_time() - start == 7.0
        assert reply.startswith(b"HTTP/1.1 200")

    async def test_connections_over_the_limit_are_closed(self, autojump_clock):
        front = FrontDoor(_ws_echo, _router().dispatch, limits=Limits(max_connections=1))
        first_client, first_server = trio.testing.memory_stream_pair()
        second_client, second_server = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(front.handle, first_server)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(front.handle, second_server)
            assert await second_client.receive_some() == b""
            await first_client.aclose()
