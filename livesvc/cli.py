"""The ``livesvc`` command line: one entry point, one sub-command per job.

Each sub-command lives next to the code it runs, in a module that exposes
``register(subparsers)``; that function adds its parser and sets ``run``,
a callable ``(argparse.Namespace) -> int`` (the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from livesvc import __version__

# Modules that provide sub-commands, in the order `--help` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "livesvc.daemon.cli",
    "livesvc.emulator.cli",
    "livesvc.chat",
    "livesvc.sessions_view",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livesvc",
        description="Gemini Live sessions, gateway and emulator.",
        epilog=(
            "examples:\n"
            "  livesvc serve --config config/livesvc.toml     # the daemon (`make run`)\n"
            "  livesvc check-config config/livesvc.toml\n"
            "  livesvc chat --key dev-key\n"
            "  livesvc COMMAND --help                         # each command's options and examples"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"livesvc {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A sub-command whose package is not written yet is simply absent.
            if exc.name is not None and name.startswith(exc.name):
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    return int(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
