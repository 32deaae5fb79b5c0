"""systemd: sd_notify from `livesvc serve` (READY, RELOADING, STOPPING, WATCHDOG) and the unit file."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

from livesvc.daemon._systemd import Notifier

from .e2e_support import DaemonProcess, config_text

REPO = Path(__file__).parents[2]


class Manager:
    """The systemd side: a unix datagram socket that records messages and their sender pid."""

    def __init__(self, sock: trio.socket.SocketType) -> None:
        self.sock = sock

    async def receive(self) -> tuple[list[str], int]:
        with trio.fail_after(30):
            data, ancillary, _flags, _address = await self.sock.recvmsg(
                4096, socket.CMSG_SPACE(struct.calcsize("iII"))
            )
        pid = -1
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[: struct.calcsize("iII")])[0]
        return data.decode().split("\n"), pid


async def open_manager(address: str) -> Manager:
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    await sock.bind("\0" + address[1:] if address.startswith("@") else address)
    return Manager(sock)


@pytest.mark.parametrize("workers", [1, 2])
async def test_serve_tells_systemd_ready_reloading_and_stopping(
    tmp_path: Path, nursery: trio.Nursery, workers: int
):
    # "@": Linux's abstract namespace, as systemd hands it to services.
    address = f"@livesvc-test-{secrets.token_hex(8)}"
    manager = await open_manager(address)
    path = tmp_path / "live.toml"
    text = config_text(state_dir=str(tmp_path / "state"))
    path.write_text(text.replace("[service]\n", f"[service]\nworkers = {workers}\n"))
    # One watchdog message at start, the next an hour later: the sequence stays exact.
    daemon = DaemonProcess(path, {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": str(7200 * 10**6)})
    with trio.fail_after(60):
        await daemon.start(nursery)
        assert daemon.process is not None
        main_pid = daemon.process.pid

        ready, pid = await manager.receive()
        assert ready == ["READY=1", "STATUS=serving"]
        # Only the main process speaks (NotifyAccess=main), never a worker.
        assert pid == main_pid
        assert (await manager.receive()) == (["WATCHDOG=1"], main_pid)

        daemon.signal(signal.SIGHUP)
        reloading, pid = await manager.receive()
        assert (reloading[0], reloading[2], pid) == ("RELOADING=1", "STATUS=reloading", main_pid)
        usec = int(reloading[1].removeprefix("MONOTONIC_USEC="))
        assert 0 < usec <= time_usec()
        assert (await manager.receive()) == (["READY=1", "STATUS=serving"], main_pid)

        daemon.signal(signal.SIGTERM)
        assert (await manager.receive()) == (["STOPPING=1", "STATUS=draining"], main_pid)
        assert await daemon.wait() == 0


def time_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


class RecordingNotifier(Notifier):
    """Records when each message would be sent (a memory fake: no socket under the mock clock)."""

    def __init__(self, **kwargs: int) -> None:
        super().__init__("@unused", **kwargs)
        self.sent: list[tuple[float, tuple[str, ...]]] = []

    def send(self, *assignments: str) -> bool:
        self.sent.append((trio.current_time(), assignments))
        return True


async def test_watchdog_is_fed_at_half_the_timeout(autojump_clock: trio.abc.Clock):
    notifier = RecordingNotifier(watchdog_usec=10_000_000)
    assert notifier.watchdog_interval == 5.0
    with trio.move_on_after(12):
        await notifier.feed_watchdog()
    assert notifier.sent == [
        (0.0, ("WATCHDOG=1",)),
        (5.0, ("WATCHDOG=1",)),
        (10.0, ("WATCHDOG=1",)),
    ]


def test_environment_is_read_as_systemd_sets_it():
    mine = str(os.getpid())
    notifier = Notifier.from_environ(
        {"NOTIFY_SOCKET": "@abc", "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": mine}
    )
    assert (notifier.enabled, notifier.watchdog_interval) == (True, 2.0)
    # The watchdog named for another process is not ours to feed.
    other = Notifier.from_environ(
        {"NOTIFY_SOCKET": "/run/n", "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}
    )
    assert other.watchdog_interval is None
    assert not Notifier.from_environ({}).enabled
    assert not Notifier.from_environ({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled


async def test_without_a_manager_nothing_is_sent_and_nothing_fails(tmp_path: Path):
    assert not Notifier().ready()
    with trio.fail_after(1):
        await Notifier(watchdog_usec=1_000_000).feed_watchdog()  # no socket: returns at once
    # A manager that went away: the daemon carries on.
    assert not Notifier(str(tmp_path / "gone.sock")).stopping()


def test_unit_file_passes_systemd_analyze_verify(tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package `systemd`; make system-deps)")
    # verify checks that ExecStart's program exists: point it at this checkout's.
    livesvc = Path(sys.executable).with_name("livesvc")
    assert livesvc.exists()
    unit = tmp_path / "livesvc.service"
    unit.write_text(
        (REPO / "deploy" / "livesvc.service")
        .read_text()
        .replace("/opt/livesvc/bin/livesvc", str(livesvc))
    )
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    # verify exits 0 on unknown keys and bad values too: any message is a finding.
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")
    text = unit.read_text()
    for line in ("Type=notify", "NotifyAccess=main", "ExecReload=/bin/kill -HUP $MAINPID"):
        assert line in text.splitlines()
