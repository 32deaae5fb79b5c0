"""``reuse_port``: several listeners (worker processes) share one gateway port."""

import errno

import pytest
import trio

from livesvc._server import open_listeners


async def test_two_reuse_port_listeners_bind_one_port():
    with trio.fail_after(5):
        first = await open_listeners("127.0.0.1", 0, reuse_port=True)
        port = first[0].socket.getsockname()[1]
        second = await open_listeners("127.0.0.1", port, reuse_port=True)
        try:
            assert second[0].socket.getsockname()[1] == port
            # Both accept: the kernel hands each new connection to one of them.
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.aclose()
        finally:
            for listener in first + second:
                await listener.aclose()


async def test_without_reuse_port_the_port_is_taken():
    with trio.fail_after(5):
        first = await open_listeners("127.0.0.1", 0, reuse_port=True)
        port = first[0].socket.getsockname()[1]
        try:
            with pytest.raises(OSError) as taken:
                await open_listeners("127.0.0.1", port)
            assert taken.value.errno == errno.EADDRINUSE
        finally:
            await first[0].aclose()


def test_check_config_names_the_workers(tmp_path):
    from livesvc.config import parse_config
    from livesvc.daemon.cli import describe

    text = '[service]\nworkers = 3\n[admin]\ntoken_env = "T"\n[profiles.default]\nmodel = "m"\n'
    lines = describe(parse_config(text, source="f.toml", base_dir=tmp_path))
    assert lines[-1] == "workers   3 (a master and worker processes on one port)"
