"""The fleet tests' network: hosts reach each other over real links, and a cut is a real cut."""

from __future__ import annotations

import subprocess
import sys

from .netns import test_net

# A one-shot TCP echo server; prints READY once it listens.
ECHO = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], 7000)); s.listen(); print("READY", flush=True)
s.settimeout(20); c, _ = s.accept(); c.sendall(c.recv(64)); c.close()
"""
DIAL = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], 7000), timeout=float(sys.argv[2])) as c:
        c.sendall(b"ping"); print(c.recv(64).decode())
except OSError as err:
    print("FAILED", type(err).__name__)
"""


def start_echo(net, host: str) -> subprocess.Popen[bytes]:
    proc = net.popen(host, [sys.executable, "-c", ECHO, net.address(host)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"READY"
    return proc


def test_hosts_reach_each_other_and_the_test_reaches_them():
    with test_net(["a", "b"]) as net:
        echo = start_echo(net, "b")
        assert (
            net.run("a", [sys.executable, "-c", DIAL, net.address("b"), "5"]).stdout.strip()
            == "ping"
        )
        echo.wait(timeout=10)
        echo = start_echo(net, "a")
        dial = subprocess.run(
            [sys.executable, "-c", DIAL, net.address("a"), "5"],
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert dial.stdout.strip() == "ping"
        echo.wait(timeout=10)


def test_a_cut_drops_traffic_between_two_hosts_only():
    with test_net(["a", "b", "c"]) as net:
        net.cut("a", "b")
        echo = start_echo(net, "b")
        cut = net.run("a", [sys.executable, "-c", DIAL, net.address("b"), "1"])
        assert cut.stdout.strip().startswith("FAILED")
        assert (
            net.run("c", [sys.executable, "-c", DIAL, net.address("b"), "5"]).stdout.strip()
            == "ping"
        )
        echo.wait(timeout=10)
        net.mend("a", "b")
        echo = start_echo(net, "b")
        assert (
            net.run("a", [sys.executable, "-c", DIAL, net.address("b"), "5"]).stdout.strip()
            == "ping"
        )
        echo.wait(timeout=10)
