"""Child processes of a benchmark: own process group, output to a file, always reaped.

Every server and load generator a suite starts runs in its own session (so its
process group id is its pid and signals reach its workers too), writes stdout and
stderr to a log file in the suite's temporary directory, and is stopped in a
``finally`` (SIGTERM to the group, then SIGKILL after a grace) even on Ctrl-C.
CPU time and memory are read from ``/proc`` for the whole group.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import trio

from bench._harness import Options, write_results

T = TypeVar("T")

__all__ = [
    "Child",
    "ChildFailed",
    "GroupStats",
    "group_pids",
    "group_stats",
    "python_module",
    "run_guarded",
    "scratch_dir",
    "spawn",
    "wait_port",
]

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


class ChildFailed(RuntimeError):
    """A child process exited early or never became ready; the message has its log tail."""


@dataclass(frozen=True, kw_only=True)
class GroupStats:
    """CPU and memory of one process group at one moment."""

    processes: int
    cpu_seconds: float  # user + system, live processes of the group
    rss_bytes: int
    pss_bytes: int  # proportional set size: shared pages split between processes


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name may hold spaces and parentheses: split after the last ")"
    return text[text.rindex(")") + 2 :].split()


def group_pids(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid``."""
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def group_stats(pgid: int, *, with_pss: bool = False) -> GroupStats:
    """CPU seconds and memory of every live process in the group (blocking: reads /proc)."""
    cpu_ticks = 0
    rss_kib = 0
    pss_kib = 0
    pids = group_pids(pgid)
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is None:
            continue
        cpu_ticks += int(fields[11]) + int(fields[12])  # utime, stime
        rss_kib += int(fields[21]) * _PAGE_KIB
        if with_pss:
            pss_kib += _pss_kib(pid)
    return GroupStats(
        processes=len(pids),
        cpu_seconds=cpu_ticks / _CLOCK_TICKS,
        rss_bytes=rss_kib * 1024,
        pss_bytes=pss_kib * 1024,
    )


def python_module(module: str, *args: str) -> list[str]:
    """The command line that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


class Child:
    """A started child process (see :func:`spawn`)."""

    def __init__(self, name: str, process: trio.Process, log_path: Path) -> None:
        self.name = name
        self.process = process
        self.log_path = log_path
        self.pgid = process.pid
        self.ready: re.Match[str] | None = None  # the readiness line, once seen

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    async def wait_for(self, pattern: str, seconds: float) -> re.Match[str]:
        """Wait until the log has a line matching ``pattern``; the match."""
        compiled = re.compile(pattern, re.MULTILINE)
        with trio.move_on_after(seconds):
            while True:
                found = compiled.search(self.log_path.read_text(errors="replace"))
                if found is not None:
                    return found
                if self.process.poll() is not None:
                    raise ChildFailed(
                        f"{self.name} exited with {self.process.returncode} before it was"
                        f" ready:\n{self.log_tail()}"
                    )
                await trio.sleep(0.02)
        raise ChildFailed(f"{self.name} not ready after {seconds:.0f} s:\n{self.log_tail()}")

    def stats(self, *, with_pss: bool = False) -> GroupStats:
        return group_stats(self.pgid, with_pss=with_pss)

    def running(self) -> bool:
        return self.process.poll() is None

    async def stop(self, grace: float = 3.0) -> None:
        """SIGTERM the whole group; SIGKILL whatever is left after ``grace`` seconds."""
        with trio.move_on_after(grace + 2.0, shield=True):
            _signal_group(self.pgid, signal.SIGTERM)
            with trio.move_on_after(grace):
                await self.process.wait()
            if group_pids(self.pgid):
                _signal_group(self.pgid, signal.SIGKILL)
            await self.process.wait()


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


@asynccontextmanager
async def spawn(
    name: str,
    argv: Sequence[str],
    *,
    workdir: Path,
    ready: str | None = None,
    ready_timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> AsyncIterator[Child]:
    """Start ``argv`` in its own process group; stop the group when the block exits.

    ``ready`` is a regex the child prints once it serves (its match is at
    ``child.ready``); the block starts only then.

    Example::

        async with spawn("relay", python_module("bench._wsrelay", "--upstream", url),
                         workdir=tmp, ready=r"listening on (\\S+)") as relay:
            print(relay.ready[1], relay.stats().cpu_seconds)
    """
    log_path = workdir / f"{name}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    log_file = await trio.to_thread.run_sync(open, log_path, "wb")
    with log_file:
        process = await trio.lowlevel.open_process(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=full_env,
            cwd=str(cwd) if cwd else None,
        )
    child = Child(name, process, log_path)
    try:
        if ready is not None:
            child.ready = await child.wait_for(ready, ready_timeout)
        yield child
    finally:
        await child.stop()


async def wait_port(child: Child, port: int, within: float = 20.0) -> None:
    """Wait until ``port`` on 127.0.0.1 accepts a connection (``child`` must stay up)."""
    with trio.move_on_after(within):
        while True:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                if not child.running():
                    raise ChildFailed(f"{child.name} exited:\n{child.log_tail()}") from None
                await trio.sleep(0.05)
                continue
            await stream.aclose()
            return
    raise ChildFailed(
        f"{child.name} does not listen on {port} after {within} s:\n{child.log_tail()}"
    )


def run_guarded(main: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``trio.run(main, *args)``, with SIGTERM and SIGHUP turned into a clean stop.

    By default SIGTERM kills a Python process without running ``finally`` blocks,
    which would leave the servers a suite started running; here it cancels
    ``main`` (so every child is stopped) and then raises ``KeyboardInterrupt``.
    """
    received: list[int] = []

    async def guarded() -> T:
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGHUP) as signals:
            async with trio.open_nursery() as nursery:

                async def watch() -> None:
                    async for signum in signals:
                        received.append(signum)
                        nursery.cancel_scope.cancel()
                        return

                nursery.start_soon(watch)
                value = await main(*args)
                nursery.cancel_scope.cancel()
        if received:
            raise KeyboardInterrupt(f"signal {received[0]}")
        return value

    return trio.run(guarded)


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory for a suite's configs and logs.

    Removed afterwards, unless ``LIVESVC_BENCH_KEEP=1`` (then its path is printed,
    to read the servers' logs).
    """
    if os.environ.get("LIVESVC_BENCH_KEEP") == "1":
        path = Path(tempfile.mkdtemp(prefix=prefix))
        print(f"keeping {path}", flush=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def run_and_report(
    name: str,
    measure: Callable[[Any, Path], Awaitable[dict[str, Any]]],
    params: Any,
    print_result: Callable[[dict[str, Any]], None],
    options: Options,
) -> dict[str, Any]:
    """Run ``measure(params, scratch)`` under :func:`run_guarded` in a scratch directory,
    print the result, and write it as ``<name>-*.json`` when ``options.write``."""
    with scratch_dir(f"livesvc-bench-{name}-") as tmp:
        result = run_guarded(measure, params, tmp)
    print_result(result)
    if options.write:
        print(f"results: {write_results(name, result, options)}")
    return result
