"""deploy/haproxy.cfg, run by a real HAProxy: new sessions spread, resumes go to their node.

The nodes here are small HTTP servers that answer with their name and a
switchable /readyz, so the test checks the routing rules alone; the fleet's
end-to-end tests run the same file in front of real ``livesvc serve`` nodes.
"""

from __future__ import annotations

import http.client
import http.server
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..real_servers import free_port

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "haproxy.cfg"
NODES = ("a", "b", "c")


class Node:
    """An HTTP server that names itself, with a /readyz the test can turn to 503."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = True
        node = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/readyz":
                    status, body = (200, b"ready") if node.ready else (503, b"draining")
                else:
                    status, body = 200, node.name.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[int, dict[str, Node]]]:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.fail("haproxy is not installed: run `make test`, which installs it")
    nodes = {name: Node(name) for name in NODES}
    listen = free_port()
    env = dict(os.environ, LIVESVC_LISTEN=f"127.0.0.1:{listen}")
    for name, node in nodes.items():
        suffix = name.upper()
        # Gateway and admin share the stub's one port here.
        env[f"LIVESVC_NODE_{suffix}"] = f"127.0.0.1:{node.port}"
        env[f"LIVESVC_ADMIN_HOST_{suffix}"] = "127.0.0.1"
        env[f"LIVESVC_ADMIN_PORT_{suffix}"] = str(node.port)
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    proc = subprocess.Popen(
        [binary, "-db", "-f", str(CONFIG)], env=env, stderr=subprocess.PIPE, cwd=tmp_path
    )
    try:
        _until(lambda: _get(listen) in NODES, "HAProxy did not start")
        yield listen, nodes
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for node in nodes.values():
            node.server.shutdown()


def _get(port: int, headers: dict[str, str] | None = None) -> str:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/", headers=headers or {})
        answer = conn.getresponse().read().decode()
        conn.close()
        return answer
    except OSError:
        return ""


def _until(condition, message: str, bound: float = 15.0) -> None:
    """Wait for a condition the test cannot be told about (HAProxy's checks), bounded."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


def resume_header(node: str) -> dict[str, str]:
    return {"X-Livesvc-Resume": f"lsh.node-{node}.c2VjcmV0"}


def test_new_sessions_are_spread_over_every_node(fleet):
    listen, _ = fleet
    assert {_get(listen) for _ in range(9)} == set(NODES)


def test_a_resume_goes_to_the_node_its_handle_names(fleet):
    listen, _ = fleet
    for node in NODES:
        assert {_get(listen, resume_header(node)) for _ in range(4)} == {node}


def test_an_unknown_node_or_a_plain_handle_is_balanced_like_a_new_session(fleet):
    listen, _ = fleet
    assert {_get(listen, {"X-Livesvc-Resume": "lsh.node-zz.x"}) for _ in range(9)} == set(NODES)
    assert {_get(listen, {"X-Livesvc-Resume": "lsh_plain"}) for _ in range(9)} == set(NODES)


def test_a_draining_node_gets_neither_new_sessions_nor_resumes(fleet):
    listen, nodes = fleet
    nodes["b"].ready = False
    _until(lambda: _get(listen, resume_header("b")) != "b", "HAProxy kept routing to node b")
    assert "b" not in {_get(listen) for _ in range(9)}
    assert _get(listen, resume_header("b")) in {"a", "c"}
