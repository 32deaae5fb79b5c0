"""Tell systemd how the daemon is doing (``Type=notify``), without libsystemd.

The protocol is one datagram of ``KEY=VALUE`` lines to the unix socket named by
``$NOTIFY_SOCKET`` (a leading ``@`` means Linux's abstract namespace). The
daemon says ``READY=1`` once it listens, ``RELOADING=1`` then ``READY=1`` around
a SIGHUP reload, ``STOPPING=1`` when it starts draining, and ``WATCHDOG=1``
every half ``$WATCHDOG_USEC`` while its event loop runs. Outside systemd (no
``$NOTIFY_SOCKET``) every call does nothing.

Example::

    notifier = Notifier.from_environ()
    notifier.ready()                             # READY=1
    nursery.start_soon(notifier.feed_watchdog)   # WATCHDOG=1 at half WatchdogSec
"""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Mapping

import trio

from livesvc.logs import get_logger

__all__ = ["Notifier"]

log = get_logger(__name__)


class Notifier:
    """Sends sd_notify messages to ``address`` (a socket path, ``@abstract``, or None: off)."""

    def __init__(self, address: str | None = None, *, watchdog_usec: int | None = None) -> None:
        self.address = address or None
        self.watchdog_usec = watchdog_usec

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """The notifier systemd asks for in ``$NOTIFY_SOCKET`` and ``$WATCHDOG_USEC``."""
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        if address is not None and not address.startswith(("/", "@")):
            # e.g. "vsock:..." (a VM's manager): not a unix socket this module speaks to.
            log.warning("systemd.notify_socket_unsupported", kind=address.partition(":")[0])
            address = None
        watchdog_usec: int | None = None
        try:
            watchdog_usec = int(env.get("WATCHDOG_USEC", "")) or None
        except ValueError:
            watchdog_usec = None
        # The watchdog is meant for one process; WATCHDOG_PID names it when set.
        watchdog_pid = env.get("WATCHDOG_PID")
        if watchdog_pid and watchdog_pid != str(os.getpid()):
            watchdog_usec = None
        return cls(address, watchdog_usec=watchdog_usec)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between ``WATCHDOG=1`` messages: half the watchdog timeout, as systemd advises."""
        if self.address is None or self.watchdog_usec is None:
            return None
        return self.watchdog_usec / 2 / 1_000_000

    def send(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` lines in one datagram; True when it was sent.

        Never blocks (a full queue drops the message) and never raises: a manager
        that went away must not take the daemon down.
        """
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        message = "\n".join(assignments).encode()
        try:
            with socket.socket(
                socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
            ) as sock:
                sock.sendto(message, target)
        except OSError as err:
            log.warning(
                "systemd.notify_failed",
                what=assignments[0] if assignments else "",
                error=errno.errorcode.get(err.errno or 0, str(err.errno)),
            )
            return False
        return True

    def ready(self) -> bool:
        """``READY=1``: listening (also the end of a reload)."""
        return self.send("READY=1", "STATUS=serving")

    def reloading(self) -> bool:
        """``RELOADING=1`` with ``MONOTONIC_USEC`` (systemd >= 253 requires it for Type=notify-reload)."""
        now_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={now_usec}", "STATUS=reloading")

    def stopping(self) -> bool:
        """``STOPPING=1``: draining; systemd waits up to TimeoutStopSec."""
        return self.send("STOPPING=1", "STATUS=draining")

    async def feed_watchdog(self) -> None:
        """Send ``WATCHDOG=1`` now and every :attr:`watchdog_interval` until cancelled.

        It runs on the daemon's trio loop, so a loop that stops turning stops the
        messages and systemd restarts the service. Returns at once without a watchdog.
        """
        interval = self.watchdog_interval
        if interval is None:
            return
        while True:
            self.send("WATCHDOG=1")
            await trio.sleep(interval)
