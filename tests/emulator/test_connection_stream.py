"""The stream under each WebSocket: replay, latency, hold and abort, on a virtual clock."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from livesvc._server import ConnectionStream


async def _receive_exactly(stream: trio.abc.ReceiveStream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await stream.receive_some()
        if not chunk:
            break
        data += chunk
    return data


async def test_prefix_is_replayed_before_the_transport(nursery):
    client, server = trio.testing.memory_stream_pair()
    stream = ConnectionStream.open(nursery, server, prefix=b"GET / HTTP/1.1\r\n")
    await client.send_all(b"rest")
    assert await stream.receive_some(4) == b"GET "
    assert await stream.receive_some() == b"/ HTTP/1.1\r\n"
    assert await stream.receive_some() == b"rest"


async def test_delay_is_latency_not_throughput(nursery, autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    stream = ConnectionStream.open(nursery, server)
    stream.set_delay(1.0)
    start = trio.current_time()
    await stream.send_all(b"first ")
    await stream.send_all(b"second")
    assert trio.current_time() == start  # queued, not written yet
    assert await _receive_exactly(client, 12) == b"first second"
    assert trio.current_time() - start == 1.0


async def test_lifting_the_delay_keeps_the_order(nursery, autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    stream = ConnectionStream.open(nursery, server)
    stream.set_delay(2.0)
    await stream.send_all(b"a")
    stream.set_delay(0)
    await stream.send_all(b"b")  # must not overtake "a"
    assert await _receive_exactly(client, 2) == b"ab"


async def test_hold_stops_reading_and_writing_until_release(nursery, autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    stream = ConnectionStream.open(nursery, server)
    stream.hold()
    await client.send_all(b"ping")
    received_at: list[float] = []

    async def reader() -> None:
        await stream.receive_some()
        received_at.append(trio.current_time())

    nursery.start_soon(reader)
    start = trio.current_time()
    await trio.sleep(3.0)
    stream.release()
    await trio.testing.wait_all_tasks_blocked()
    assert received_at == [start + 3.0]


async def test_abort_wakes_a_held_reader_and_closes_the_transport(nursery, autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    stream = ConnectionStream.open(nursery, server)
    stream.hold()
    outcome: list[str] = []

    async def reader() -> None:
        try:
            await stream.receive_some()
        except trio.ClosedResourceError:
            outcome.append("closed")

    nursery.start_soon(reader)
    await trio.testing.wait_all_tasks_blocked()
    await stream.abort()
    await trio.testing.wait_all_tasks_blocked()
    assert outcome == ["closed"]
    assert await client.receive_some() == b""
    with pytest.raises(trio.ClosedResourceError):
        await stream.send_all(b"late")


async def test_aclose_lets_delayed_data_out_first(nursery, autojump_clock):
    client, server = trio.testing.memory_stream_pair()
    stream = ConnectionStream.open(nursery, server)
    stream.set_delay(0.5)
    await stream.send_all(b"bye")
    await stream.aclose()
    assert await _receive_exactly(client, 3) == b"bye"
    assert await client.receive_some() == b""


def test_delay_must_be_a_finite_non_negative_number():
    stream = ConnectionStream(trio.testing.memory_stream_pair()[1])
    with pytest.raises(ValueError, match="delay"):
        stream.set_delay(-1)
    with pytest.raises(ValueError, match="delay"):
        stream.set_delay(float("inf"))
