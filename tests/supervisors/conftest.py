"""Toy children for the supervisors tests, driven by a per-incarnation script.

Test modules are imported with ``--import-mode=importlib`` and cannot import each
other, so the toys are handed out through fixtures (``toys``, ``Toys``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
import trio

from supervisors import ChildContext, ChildSpec, Shutdown


class Boom(Exception):
    """The error toy children crash with."""


@dataclass(frozen=True)
class Step:
    """What one incarnation of a toy child does.

    kind: ``forever`` (runs until stopped), ``crash`` (raises ``exc()`` after
    ``after`` s), ``return`` (returns after ``after`` s), ``shutdown`` (raises
    Shutdown after ``after`` s) or ``fail_start`` (raises ``exc()`` before ready).
    init: seconds spent initialising before ``task_status.started()``.
    graceful: a ``forever`` child honours the stop request (else only cancel stops it).
    cleanup: seconds a graceful child spends shutting down after the request.
    """

    kind: str
    after: float = 0.0
    init: float = 0.0
    graceful: bool = True
    cleanup: float = 0.0
    exc: Callable[[], BaseException] | None = None

    def error(self) -> BaseException:
        return self.exc() if self.exc is not None else Boom(f"{self.kind}")


def forever(*, init: float = 0.0, graceful: bool = True, cleanup: float = 0.0) -> Step:
    return Step("forever", init=init, graceful=graceful, cleanup=cleanup)


def crash(after: float = 0.0, *, exc: Callable[[], BaseException] | None = None) -> Step:
    return Step("crash", after=after, exc=exc)


def returns(after: float = 0.0) -> Step:
    return Step("return", after=after)


def shutdown(after: float = 0.0) -> Step:
    return Step("shutdown", after=after)


def fail_start(init: float = 0.0, *, exc: Callable[[], BaseException] | None = None) -> Step:
    return Step("fail_start", init=init, exc=exc)


class Toys:
    """Builds scripted children and journals what they do, with trio times."""

    Boom = Boom
    forever = staticmethod(forever)
    crash = staticmethod(crash)
    returns = staticmethod(returns)
    shutdown = staticmethod(shutdown)
    fail_start = staticmethod(fail_start)

    def __init__(self) -> None:
        self.journal: list[tuple[float, str, int, str]] = []
        self.errors: list[BaseException] = []

    def record(self, ctx: ChildContext, what: str) -> None:
        self.journal.append((trio.current_time(), ctx.id, ctx.incarnation, what))

    def start(self, steps: Sequence[Step], default: Step) -> Any:
        async def run(
            ctx: ChildContext, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
        ) -> None:
            step = steps[ctx.incarnation - 1] if ctx.incarnation <= len(steps) else default
            self.record(ctx, "init")
            try:
                if step.init:
                    await trio.sleep(step.init)
                if step.kind == "fail_start":
                    self.record(ctx, "fail_start")
                    err = step.error()
                    self.errors.append(err)
                    raise err
                task_status.started()
                self.record(ctx, "ready")
                structlog.get_logger("toy").info("toy.ready")
                if step.kind == "forever":
                    if step.graceful:
                        with ctx.cancel_on_stop():
                            await trio.sleep_forever()
                        self.record(ctx, "asked")
                        if step.cleanup:
                            await trio.sleep(step.cleanup)
                        self.record(ctx, "stopped")
                        return
                    await trio.sleep_forever()
                await trio.sleep(step.after)
                if step.kind == "return":
                    self.record(ctx, "return")
                    return
                if step.kind == "shutdown":
                    self.record(ctx, "shutdown")
                    raise Shutdown("done")
                self.record(ctx, "crash")
                err = step.error()
                self.errors.append(err)
                raise err
            except trio.Cancelled:
                self.record(ctx, "cancelled")
                raise

        return run

    def spec(self, id: str, *steps: Step, default: Step | None = None, **kwargs: Any) -> ChildSpec:
        """A child that follows ``steps`` (one per incarnation), then ``default``."""
        return ChildSpec(id=id, start=self.start(steps, default or forever()), **kwargs)

    def events(self, what: str, id: str | None = None) -> list[tuple[float, str, int]]:
        return [(t, i, n) for (t, i, n, w) in self.journal if w == what and (id is None or i == id)]

    def times(self, what: str, id: str | None = None) -> list[float]:
        return [t for (t, _i, _n, w) in self.journal if w == what and (id is None or _i == id)]

    def trace(self, *whats: str) -> list[tuple[str, int, str]]:
        """(id, incarnation, what) in the order they happened, for the given kinds."""
        return [(i, n, w) for (_t, i, n, w) in self.journal if not whats or w in whats]


@pytest.fixture
def toys() -> Toys:
    return Toys()


@pytest.fixture(name="Toys")
def _toys_class() -> type[Toys]:
    return Toys


@pytest.fixture
def logs() -> Any:
    """Captured structlog events (with contextvars merged)."""
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as captured:
        yield captured


@pytest.fixture(autouse=True)
def _clear_contextvars() -> Any:
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()
