"""Test hosts in network namespaces: real links that a test can cut.

A :class:`TestNet` is a bridge in the root namespace (address ``.1``) and one
namespace per host, each joined to the bridge by a veth pair. Processes started
with :meth:`TestNet.popen` run inside a host; the test itself (root namespace)
reaches every host at its address. :meth:`TestNet.cut` blackholes the route from
one host to another (both directions), so for example a node loses Redis while
its clients still reach it; :meth:`TestNet.isolate` takes a host's link down.

Everything is named ``lsv<run>...`` and removed on exit; namespaces left by a
killed run are removed by the next one (:func:`sweep_stale`). Needs root and
``ip`` (iproute2), as CI has.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest

__all__ = ["TestNet", "require_netns", "sweep_stale", "test_net"]

_SUBNET_IDS = itertools.count(1)
_PREFIX = "lsv"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=10)


def require_netns() -> None:
    """Fail (not skip) with the reason when this machine cannot make namespaces."""
    if shutil.which("ip") is None:
        pytest.fail("iproute2's `ip` is missing: the Makefile's system-deps installs it")
    if os.geteuid() != 0:
        pytest.fail("fleet tests make network namespaces and need root (CI runs as root)")


def sweep_stale() -> None:
    """Remove namespaces and bridges of earlier runs whose process is gone."""
    listing = _ip("netns", "list", check=False).stdout.split()
    for name in listing:
        if name.startswith(_PREFIX) and "-" in name:
            pid = name[len(_PREFIX) :].split("-", 1)[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                _ip("netns", "del", name, check=False)
    for line in _ip("-o", "link", "show", "type", "bridge", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        pid = name[len(_PREFIX) :].split("b", 1)[0]
        if name.startswith(_PREFIX) and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            _ip("link", "del", name, check=False)


class TestNet:
    """A bridge and its hosts (see the module docstring)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, subnet: int) -> None:
        self._run = f"{_PREFIX}{os.getpid()}"
        self._subnet = subnet
        self.bridge = f"{self._run}b{subnet}"
        self.gateway = f"10.251.{subnet}.1"
        self._hosts: dict[str, tuple[str, str, str]] = {}  # host -> (netns, veth outside, address)

    def address(self, host: str) -> str:
        return self._hosts[host][2]

    def netns(self, host: str) -> str:
        return self._hosts[host][0]

    def _up(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def add_host(self, host: str) -> str:
        """Create a host (namespace + veth to the bridge); returns its address."""
        index = len(self._hosts) + 10
        netns = f"{self._run}-{self._subnet}-{host}"
        outside = f"{self._run[-6:]}{self._subnet}v{index}"
        inside = f"{outside}i"
        address = f"10.251.{self._subnet}.{index}"
        _ip("netns", "add", netns)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", netns)
        _ip("link", "set", outside, "master", self.bridge)
        _ip("link", "set", outside, "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        _ip("-n", netns, "addr", "add", f"{address}/24", "dev", inside)
        _ip("-n", netns, "link", "set", inside, "up")
        _ip("-n", netns, "route", "add", "default", "via", self.gateway)
        self._hosts[host] = (netns, outside, address)
        return address

    def popen(self, host: str, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside ``host``'s namespace."""
        return subprocess.Popen(["ip", "netns", "exec", self.netns(host), *argv], **kwargs)  # type: ignore[call-overload, no-any-return]

    def run(
        self, host: str, argv: Sequence[str], timeout: float = 10
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.netns(host), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def cut(self, host: str, other: str) -> None:
        """Drop all traffic between two hosts (a blackhole route on each side)."""
        _ip("-n", self.netns(host), "route", "add", "blackhole", f"{self.address(other)}/32")
        _ip("-n", self.netns(other), "route", "add", "blackhole", f"{self.address(host)}/32")

    def mend(self, host: str, other: str) -> None:
        """Undo :meth:`cut`."""
        _ip("-n", self.netns(host), "route", "del", "blackhole", f"{self.address(other)}/32")
        _ip("-n", self.netns(other), "route", "del", "blackhole", f"{self.address(host)}/32")

    def isolate(self, host: str) -> None:
        """Take the host's link down: nobody reaches it, it reaches nobody."""
        _ip("link", "set", self._hosts[host][1], "down")

    def rejoin(self, host: str) -> None:
        _ip("link", "set", self._hosts[host][1], "up")

    def _down(self) -> None:
        for netns, outside, _ in self._hosts.values():
            _ip("link", "del", outside, check=False)
            _ip("netns", "del", netns, check=False)
        _ip("link", "del", self.bridge, check=False)


@contextmanager
def test_net(hosts: Sequence[str]) -> Iterator[TestNet]:
    """A :class:`TestNet` with ``hosts``, removed on exit."""
    require_netns()
    sweep_stale()
    net = TestNet(next(_SUBNET_IDS) + (os.getpid() % 200))
    try:
        net._up()
        for host in hosts:
            net.add_host(host)
        yield net
    finally:
        net._down()


test_net.__test__ = False  # type: ignore[attr-defined]
