"""The admin API: probes, Prometheus metrics, sessions, and token minting.

It talks to the daemon only through :class:`DaemonControl`, so it is tested
with a fake of that interface. Served by hypercorn on trio, on loopback by
default, and guarded by the admin token (stored as a hash in the config)::

    url = await nursery.start(functools.partial(serve_admin, daemon, token_hash=h, port=8081))
"""

from __future__ import annotations

from livesvc.admin._app import AdminApp as AdminApp
from livesvc.admin._control import DaemonControl as DaemonControl
from livesvc.admin._control import Readiness as Readiness
from livesvc.admin._control import SessionView as SessionView
from livesvc.admin._serve import serve_admin as serve_admin

__all__ = ["AdminApp", "DaemonControl", "Readiness", "SessionView", "serve_admin"]
