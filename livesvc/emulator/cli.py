"""``livesvc emulator``: run the local Live API until Ctrl-C.

Example::

    livesvc emulator --tls-self-signed .livesvc/tls --api-key test-key \\
        --session-lifetime 60 --go-away-notice 5 --fault drop:turn=3
"""

from __future__ import annotations

import argparse
import signal
import sys

import trio

from livesvc.emulator._config import EmulatorConfig, TlsFiles
from livesvc.emulator._emulator import run_emulator
from livesvc.emulator._faults import FaultRule, parse_fault
from livesvc.emulator._tls import write_self_signed
from livesvc.logs import configure_logging

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``emulator`` sub-command."""
    parser = subparsers.add_parser(
        "emulator",
        help="run a local, wire-faithful Gemini Live API (for tests and offline work)",
        description=(
            "Serve the Gemini Live API (WebSocket and REST on one port) with a deterministic\n"
            "model: replies, resumption handles, goAway before each connection's lifetime\n"
            "ends, and scripted faults. Prints the URL once ready; runs until Ctrl-C.\n"
            "Point the google-genai SDK at it with base_url. See docs/emulator.md."
        ),
        epilog=(
            "examples:\n"
            "  livesvc emulator --tls-self-signed .livesvc/tls      # what `make emulator` runs\n"
            "  livesvc emulator --port 9443 --api-key test-key \\\n"
            "      --session-lifetime 60 --go-away-notice 5 --fault drop:turn=3"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--tls-cert", metavar="FILE", help="server certificate chain (PEM)")
    tls.add_argument(
        "--tls-self-signed",
        metavar="DIR",
        help="write (or reuse) a CA and a certificate for 127.0.0.1/localhost in DIR",
    )
    parser.add_argument("--tls-key", metavar="FILE", help="server private key (with --tls-cert)")
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="accept this API key (repeatable); without any, every non-empty key passes",
    )
    parser.add_argument(
        "--session-lifetime",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="close each connection after this long (default 600, like Google)",
    )
    parser.add_argument(
        "--go-away-notice",
        type=float,
        default=50.0,
        metavar="SECONDS",
        help="send goAway this long before that close (default 50)",
    )
    parser.add_argument(
        "--handle-lifetime",
        type=float,
        default=7200.0,
        metavar="SECONDS",
        help="how long a resumption handle stays valid (default 7200)",
    )
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        help="keep resumable sessions in SQLite in DIR, so a restart (even kill -9) "
        "resumes them (default: in memory only)",
    )
    parser.add_argument(
        "--reply-interval",
        type=float,
        default=0.02,
        metavar="SECONDS",
        help="pause before each chunk of a reply (default 0.02)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        type=_fault,
        help="start-up fault KIND[:key=value,...], e.g. drop:after=30 (repeatable)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.set_defaults(run=run)


def _fault(spec: str) -> FaultRule:
    try:
        return parse_fault(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{spec!r}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Run the emulator until SIGINT/SIGTERM; 0 on a clean stop."""
    if bool(args.tls_cert) != bool(args.tls_key):
        print("livesvc emulator: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    configure_logging(args.log_level)
    tls: TlsFiles | None = None
    if args.tls_cert:
        tls = TlsFiles(cert_file=args.tls_cert, key_file=args.tls_key)
    elif args.tls_self_signed:
        tls = write_self_signed(args.tls_self_signed)
    try:
        config = EmulatorConfig(
            host=args.host,
            port=args.port,
            tls=tls,
            api_keys=tuple(args.api_key),
            session_lifetime=args.session_lifetime if args.session_lifetime > 0 else None,
            go_away_notice=args.go_away_notice,
            handle_lifetime=args.handle_lifetime,
            reply_interval=args.reply_interval,
            faults=tuple(args.fault),
            state_dir=args.state_dir,
        )
    except ValueError as exc:
        print(f"livesvc emulator: {exc}", file=sys.stderr)
        return 2
    try:
        trio.run(_serve_until_signalled, config)
    except OSError as exc:
        print(f"livesvc emulator: cannot listen: {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve_until_signalled(config: EmulatorConfig) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            emulator = await nursery.start(run_emulator, config)
            print(f"livesvc emulator listening on {emulator.url}", flush=True)
            print(f"  SDK base_url: {emulator.http_base_url}", flush=True)
            if emulator.ca_file:
                print(f"  trust this CA: {emulator.ca_file}", flush=True)
            async for _ in signals:
                break
            nursery.cancel_scope.cancel()
