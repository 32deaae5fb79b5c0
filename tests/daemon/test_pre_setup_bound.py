"""Before its setup is accepted a client holds almost nothing (issue 12, item 3).

On ``livesvc serve`` as a real process: clients with and without a credential
start a multi-MiB frame (or a flood of tiny fragments) and never finish it.
Each is closed with 1009 once it has sent ``pre_setup_bytes`` (64 KiB), the
daemon's memory stays near its baseline, and a normal client is served alongside.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import trio

from .e2e_support import Conversation, DaemonProcess, config_text, sdk_on, start_serve, stop_serve
from .raw_ws import close_code, connect, everything, frame

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MiB = 1 << 20


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def big_frame_start(total: int, sent: int) -> bytes:
    """The head of a masked text frame of ``total`` bytes and ``sent`` bytes of it."""
    head = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", total) + bytes(4)  # a zero mask
    return head + b"a" * sent


async def held_back(
    daemon: DaemonProcess, payload: bytes, *, key: str | None
) -> tuple[int, str] | None:
    stream = await connect(daemon.gateway_url, daemon.ca_file, key=key)
    try:
        await stream.send_all(payload)
    except trio.BrokenResourceError:
        pass  # the daemon stopped reading and closed: what we want to see
    with trio.fail_after(20):
        return close_code(await everything(stream))


async def chat(process: DaemonProcess, text: str) -> str:
    async def script(c: Conversation) -> str:
        return await c.say(text)

    return await sdk_on(process, script)


async def test_unfinished_frames_and_fragment_floods_are_cut_at_the_bound(
    tmp_path: Path, nursery: trio.Nursery
):
    path = tmp_path / "live.toml"
    path.write_text(config_text(state_dir=str(tmp_path / "state")))
    daemon = await start_serve(path, nursery)
    assert daemon.process is not None
    pid = daemon.process.pid
    with trio.fail_after(120):
        assert await chat(daemon, "warm up") == "echo #1: warm up"
        baseline = rss_bytes(pid)
        # 20 with a valid key and 20 with none: each starts an 8 MiB frame, sends 2 MiB.
        closes: list[tuple[int, str] | None] = []

        async def one(key: str | None) -> None:
            closes.append(await held_back(daemon, big_frame_start(8 * MiB, 2 * MiB), key=key))

        async with trio.open_nursery() as clients:
            for i in range(40):
                clients.start_soon(one, "e2e-client-key" if i % 2 else None)
        peak = rss_bytes(pid)
        # 20,000 one-byte fragments before any setup.
        flood = frame(b"a", fin=False) + b"".join(
            frame(b"a", opcode=0, fin=False) for _ in range(19_999)
        )
        flooded = await held_back(daemon, flood, key="e2e-client-key")
        assert await chat(daemon, "still fine") == "echo #1: still fine"
        after = rss_bytes(pid)
        assert await stop_serve(daemon) == 0
    assert [c[0] if c else None for c in closes] == [1009] * 40
    assert all("before the setup" in c[1] for c in closes if c)
    assert flooded is not None
    assert flooded[0] == 1009
    # 40 clients that began 8 MiB frames cost a few MiB in all, not 40 x 8 MiB.
    assert peak - baseline < 30 * MiB, (baseline, peak)
    assert after - baseline < 30 * MiB, (baseline, after)
    limited = [e for e in daemon.events if e.get("event") == "gateway.pre_setup_limit"]
    assert len(limited) == 41
