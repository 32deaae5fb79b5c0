"""Runs the benchmark suites: ``python -m bench [--only NAME ...] [--quick] [--list]``.

A suite is any public module of the ``bench`` package defining ``SUITE``; adding
``bench/relay.py`` with ``SUITE = Suite(name="relay", ...)`` makes ``--only relay`` work.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

import bench
from bench._harness import Options, Suite


def discover() -> dict[str, Suite]:
    suites: dict[str, Suite] = {}
    for module in pkgutil.iter_modules(bench.__path__):
        if module.name.startswith("_"):
            continue
        suite = getattr(importlib.import_module(f"bench.{module.name}"), "SUITE", None)
        if isinstance(suite, Suite):
            suites[suite.name] = suite
    return dict(sorted(suites.items()))


def main(argv: list[str] | None = None) -> int:
    suites = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(suites),
        metavar="NAME",
        help=f"run only this suite (repeatable); one of: {', '.join(suites)}",
    )
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    parser.add_argument(
        "--quick", action="store_true", help="few short repeats (smoke test, noisy)"
    )
    parser.add_argument("--repeats", type=int, help="samples per contender (default 15)")
    parser.add_argument(
        "--results-dir", type=Path, help="where to write JSON (default bench/results)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if args.list:
        for suite in suites.values():
            print(f"{suite.name:12} {suite.description}")
        return 0
    options = Options(
        repeats=args.repeats or (3 if args.quick else 15),
        batch_seconds=0.002 if args.quick else 0.02,
        write=not args.no_write,
        **({"results_dir": args.results_dir} if args.results_dir else {}),
    )
    for name in args.only or list(suites):
        print(f"== {name}: {suites[name].description}")
        started = time.monotonic()
        suites[name].run(options)
        print(f"({time.monotonic() - started:.1f} s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
