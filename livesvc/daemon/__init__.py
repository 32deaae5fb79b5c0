"""``livesvc serve``: the supervised daemon (store, admin API, gateway, config watcher, sessions).

Example::

    from livesvc.config import load_config
    from livesvc.daemon import Daemon

    daemon = Daemon(load_config("config/livesvc.toml"), config_path="config/livesvc.toml")
    trio.run(daemon.run)      # until SIGTERM/SIGINT, then drain and exit

See ``docs/daemon.md``.
"""

from __future__ import annotations

from livesvc.daemon._daemon import Daemon as Daemon
from livesvc.daemon._daemon import UpstreamFactoryBuilder as UpstreamFactoryBuilder
from livesvc.daemon._reload import ConfigHolder as ConfigHolder
from livesvc.daemon._reload import ConfigWatcher as ConfigWatcher
from livesvc.daemon._upstream import SessionUpstream as SessionUpstream
from livesvc.daemon._upstream import library_upstream as library_upstream

__all__ = [
    "ConfigHolder",
    "ConfigWatcher",
    "Daemon",
    "SessionUpstream",
    "UpstreamFactoryBuilder",
    "library_upstream",
]
