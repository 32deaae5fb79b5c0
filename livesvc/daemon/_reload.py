"""SIGHUP: reload and validate the config file; a bad file keeps the old config.

New sessions get the new config; running sessions keep the one they started
with. Listening addresses, TLS, the store path and the state directory are
fixed for the life of the process: a change to them is logged as needing a
restart, and the rest of the new file still applies.
"""

from __future__ import annotations

import functools
import signal
from collections.abc import Callable

import msgspec
import trio

from livesvc.config import Config, ConfigError, load_checked
from livesvc.daemon._systemd import Notifier
from livesvc.logs import get_logger
from livesvc.metrics import DaemonMetrics

__all__ = ["ConfigHolder", "ConfigWatcher", "RESTART_ONLY"]

log = get_logger(__name__)

# Parts of the config that only a restart can change (they are bound at start-up).
RESTART_ONLY: tuple[tuple[str, ...], ...] = (
    ("service", "state_dir"),
    ("service", "workers"),
    ("gateway", "host"),
    ("gateway", "port"),
    ("gateway", "tls"),
    ("admin", "enabled"),
    ("admin", "host"),
    ("admin", "port"),
    ("upstream", "backend"),
    ("upstream", "emulator"),
    ("store",),
)


class ConfigHolder:
    """The config new sessions start with; swapped whole, never mutated (structs are frozen).

    ``generation`` counts successful loads, so a session can record which config it got.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self.generation = 1
        self._listeners: list[Callable[[Config, Config], None]] = []

    @property
    def current(self) -> Config:
        return self._config

    def on_change(self, listener: Callable[[Config, Config], None]) -> None:
        """Call ``listener(old, new)`` after each successful reload (synchronously)."""
        self._listeners.append(listener)

    def replace(self, config: Config) -> None:
        old, self._config = self._config, config
        self.generation += 1
        for listener in self._listeners:
            listener(old, config)


def _get(config: Config, path: tuple[str, ...]) -> object:
    value: object = config
    for part in path:
        value = getattr(value, part)
    return value


def _pin_restart_only(old: Config, new: Config) -> tuple[Config, list[str]]:
    """``new`` with the restart-only parts taken from ``old``, and the names of those that differed."""
    changed = [".".join(p) for p in RESTART_ONLY if _get(old, p) != _get(new, p)]
    pinned = new
    for path in RESTART_ONLY:
        if len(path) == 1:
            pinned = msgspec.structs.replace(pinned, **{path[0]: _get(old, path)})
        else:
            section = getattr(pinned, path[0])
            section = msgspec.structs.replace(section, **{path[1]: _get(old, path)})
            pinned = msgspec.structs.replace(pinned, **{path[0]: section})
    return pinned, changed


class ConfigWatcher:
    """The config watcher actor: on SIGHUP, reload the file and publish it if it is valid.

    Example::

        watcher = ConfigWatcher(path, holder, metrics)
        await nursery.start(watcher.run)     # now `kill -HUP <pid>` reloads
    """

    def __init__(
        self,
        path: str,
        holder: ConfigHolder,
        metrics: DaemonMetrics,
        *,
        timeout: float = 10.0,
        load: Callable[[str], Config] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self._path = path
        self._notifier = notifier or Notifier()  # systemd: RELOADING=1 ... READY=1
        self._holder = holder
        self._metrics = metrics
        self._timeout = timeout
        self._load = load or (lambda p: load_checked(p, strict_secrets=True)[0])

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with trio.open_signal_receiver(signal.SIGHUP) as signals:
            task_status.started()
            async for _ in signals:
                await self.reload()

    async def reload(self) -> bool:
        """Load the file now; True when the new config was applied."""
        self._notifier.reloading()
        applied = await self._reload()
        self._notifier.ready()  # applied or refused, the service is serving again
        return applied

    async def _reload(self) -> bool:
        log.info("config.reloading", file=self._path)
        try:
            with trio.fail_after(self._timeout):
                # Imports of tool modules may run arbitrary code: abandon it on timeout.
                new = await trio.to_thread.run_sync(
                    functools.partial(self._load, self._path), abandon_on_cancel=True
                )
        except ConfigError as err:
            self._metrics.config_reloads.labels(result="rejected").inc()
            log.error(
                "config.reload_rejected",
                file=self._path,
                errors=[issue.render(err.source) for issue in err.issues],
                kept_generation=self._holder.generation,
            )
            return False
        except trio.TooSlowError:
            self._metrics.config_reloads.labels(result="rejected").inc()
            log.error("config.reload_rejected", file=self._path, errors=["timed out"])
            return False
        pinned, restart_needed = _pin_restart_only(self._holder.current, new)
        if restart_needed:
            log.warning("config.restart_required", file=self._path, keys=restart_needed)
        self._holder.replace(pinned)
        self._metrics.config_reloads.labels(result="applied").inc()
        log.info(
            "config.reloaded",
            file=self._path,
            generation=self._holder.generation,
            profiles=sorted(pinned.profiles),
            keys=len(pinned.gateway.keys),
        )
        return True
