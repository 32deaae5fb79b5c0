"""Sub-commands ``livesvc serve``, ``livesvc check-config`` and ``livesvc hash-key``.

``serve --config FILE`` runs the daemon until SIGTERM/SIGINT (exit 0 after a
drain; 1 when the configuration is unusable; 2 on usage errors). With
``[service] workers = N`` (N > 1) it runs the master, which starts N workers as
``serve --config FILE --worker I`` (an internal option: a worker reads its role
from the master on stdin).

``check-config FILE`` validates a configuration without starting anything
(exit 0 when usable, 1 otherwise, every problem on stderr). ``hash-key``
turns a client key or admin token (read from stdin, never from argv, so it
stays out of shell history and ``ps``) into the ``sha256:`` form a config
stores; ``--generate`` makes a new random key.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
from typing import Any

from livesvc.config import Config, ConfigError, generate_key, hash_key, load_checked

__all__ = ["register"]


_SERVE_DESCRIPTION = """\
Run the daemon: the Live WebSocket gateway client apps connect to, the admin API
(/metrics, /readyz, sessions) and the supervised upstream sessions. It runs until
SIGTERM or SIGINT, then drains (running turns finish, clients get 1001 and can
resume) and exits 0; SIGHUP reloads the file. Exit 1: the configuration is unusable
(every problem is printed). Under systemd it reports READY/RELOADING/STOPPING and
feeds the watchdog (deploy/livesvc.service). See docs/daemon.md."""

_SERVE_EPILOG = """\
examples:
  livesvc serve --config config/livesvc.toml      # what `make run` starts (emulator upstream)
  GEMINI_API_KEY=... livesvc serve --config config/gemini-api.toml
  kill -HUP <pid>                                 # reload the file (systemctl reload livesvc)"""

_CHECK_DESCRIPTION = """\
Validate a configuration file without starting anything: types and ranges of every
key, unknown keys, references between sections, tool imports and secrets. Every
problem is printed at once, one a line, as FILE:LINE: KEY.PATH: what was expected
(and a suggestion, e.g. "did you mean `max_clients`?"). Exit 0 and a summary when
the file is usable (missing secrets are warnings here), 1 otherwise."""

_CHECK_EPILOG = """\
examples:
  livesvc check-config config/livesvc.toml
  livesvc check-config /etc/livesvc/livesvc.toml && systemctl reload livesvc

output for a file with mistakes (exit 1):
  live.toml:8: gateway.limits.max_clinets: unknown key (did you mean `max_clients`?)
  live.toml:11: upstream.backend: expected one of 'emulator', 'gemini', 'vertex', got 'gemni' (did you mean 'gemini'?)"""

_HASH_DESCRIPTION = """\
Print the sha256: form of a client key or admin token, to store in a config file
([[gateway.keys]] hash, [admin] token_hash). The key is read from stdin (or asked
for on a terminal), never from the command line, so it stays out of shell history
and `ps`. --generate makes a new random key and prints it, then its hash."""

_HASH_EPILOG = """\
examples:
  livesvc hash-key --generate              # line 1: the key for the app; line 2: its hash
  printf %s "$KEY" | livesvc hash-key      # the hash of a key you already have"""


def register(subparsers: Any) -> None:
    """Add ``serve``, ``check-config`` and ``hash-key`` to the ``livesvc`` command line."""
    serve = subparsers.add_parser(
        "serve",
        help="run the daemon: the Live gateway, admin API and sessions",
        description=_SERVE_DESCRIPTION,
        epilog=_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--config", required=True, metavar="FILE", help="TOML configuration file")
    serve.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    serve.set_defaults(run=_serve)
    check = subparsers.add_parser(
        "check-config",
        help="validate a configuration file without starting the daemon",
        description=_CHECK_DESCRIPTION,
        epilog=_CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("file", metavar="FILE", help="TOML configuration file")
    check.set_defaults(run=_check_config)

    hasher = subparsers.add_parser(
        "hash-key",
        help="print the sha256: form of a client key or admin token for the config",
        description=_HASH_DESCRIPTION,
        epilog=_HASH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    hasher.add_argument(
        "--generate", action="store_true", help="make a new random key; print it, then its hash"
    )
    hasher.set_defaults(run=_hash_key)


def _serve(args: argparse.Namespace) -> int:
    import trio

    from livesvc.daemon._daemon import Daemon
    from livesvc.daemon._logging import apply_logging

    try:
        config, _warnings = load_checked(args.config, strict_secrets=True)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    apply_logging(config.logging)
    if args.worker is not None:
        return _serve_worker(args, config)
    if config.service.workers > 1:
        return _serve_master(args, config)
    daemon = Daemon(config, config_path=args.config, configure_logs=True, tune_gc=True)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            if sys.stdout.isatty():
                _print_banner(daemon)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        return 130
    return daemon.exit_code  # fleet: 1 after the node fenced itself (docs/fleet.md)


def _serve_master(args: argparse.Namespace, config: Config) -> int:
    import trio

    from livesvc.daemon._master import Master

    master = Master(config, config_path=args.config, configure_logs=True)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(master.run)
            if sys.stdout.isatty():
                _print_banner(master)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # e.g. workers that keep crashing: the service manager restarts us
        print(f"livesvc serve: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return master.exit_code


def _serve_worker(args: argparse.Namespace, config: Config) -> int:
    import trio

    from livesvc.daemon._daemon import Daemon
    from livesvc.daemon._worker import announce, read_role

    role = read_role(sys.stdin)
    daemon = Daemon(config, config_path=args.config, configure_logs=True, worker=role, tune_gc=True)
    # Ctrl-C in a terminal reaches the whole process group; the master drains the
    # workers (with SIGTERM), so a worker ignores SIGINT (trio then leaves it alone).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(daemon.run)
            announce(daemon)

    try:
        trio.run(main)
    except KeyboardInterrupt:
        return 130
    return 0


def _print_banner(daemon: Any) -> None:
    base = (daemon.gateway_url or "").replace("wss://", "https://").replace("ws://", "http://")
    lines = [f"livesvc is serving: gateway {daemon.gateway_url}, admin {daemon.admin_url}"]
    if daemon.ca_file:
        lines.append(f"  TLS CA certificate: {daemon.ca_file}   (SSL_CERT_FILE={daemon.ca_file})")
    lines.append(f"  try it:  livesvc chat --url {base} --key <your key>")
    print("\n".join(lines), flush=True)


def _check_config(args: argparse.Namespace) -> int:
    try:
        config, warnings = load_checked(args.file, strict_secrets=False)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"{args.file}: ok")
    for line in describe(config):
        print(f"  {line}")
    for issue in warnings:
        print(f"warning: {issue.render(args.file)}", file=sys.stderr)
    return 0


def describe(config: Config) -> list[str]:
    """One line per part of the service, as ``check-config`` and ``serve`` print them."""
    gateway = config.gateway
    scheme = "ws" if gateway.tls.mode == "off" else "wss"
    admin = config.admin
    upstream = config.upstream
    where = (
        "embedded" if upstream.backend == "emulator" else (upstream.base_url or "default endpoint")
    )
    return [
        f"gateway   {scheme}://{_host(gateway.host)}:{gateway.port} (tls {gateway.tls.mode}), "
        f"{len(gateway.keys)} client key(s), profiles: {', '.join(sorted(config.profiles))}",
        f"admin     http://{_host(admin.host)}:{admin.port}"
        if admin.enabled
        else "admin     disabled",
        f"upstream  {upstream.backend} ({where})",
        f"store     {config.store.path}",
        f"workers   {config.service.workers}"
        + (" (a master and worker processes on one port)" if config.service.workers > 1 else ""),
    ]


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _hash_key(args: argparse.Namespace) -> int:
    if args.generate:
        key = generate_key()
        print(key)
        print(hash_key(key))
        return 0
    key = getpass.getpass("key: ") if sys.stdin.isatty() else sys.stdin.readline()
    key = key.strip()
    if not key:
        print("hash-key: expected a key on stdin", file=sys.stderr)
        return 1
    print(hash_key(key))
    return 0
