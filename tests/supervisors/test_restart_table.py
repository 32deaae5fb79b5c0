"""The restart decision table, as properties over restart type x exit kind.

The oracle below is OTP's table written out by hand; the properties run real
supervisors (each example in its own ``trio.run`` on an autojumping MockClock).
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervisors import (
    NO_BACKOFF,
    ChildSpec,
    Outcome,
    Restart,
    Shutdown,
    Strategy,
    Supervisor,
    classify_exit,
    should_restart,
)

# exit kind -> restarted? per restart type (OTP: permanent always, transient only
# on abnormal exit, temporary never; cancellation is never a reason to restart).
ORACLE = {
    ("normal", Restart.PERMANENT): True,
    ("normal", Restart.TRANSIENT): False,
    ("normal", Restart.TEMPORARY): False,
    ("shutdown", Restart.PERMANENT): True,
    ("shutdown", Restart.TRANSIENT): False,
    ("shutdown", Restart.TEMPORARY): False,
    ("error", Restart.PERMANENT): True,
    ("error", Restart.TRANSIENT): True,
    ("error", Restart.TEMPORARY): False,
    ("cancelled", Restart.PERMANENT): False,
    ("cancelled", Restart.TRANSIENT): False,
    ("cancelled", Restart.TEMPORARY): False,
}

ERROR_TYPES = (ValueError, OSError, RuntimeError, KeyError, ConnectionResetError)

errors = st.builds(lambda t, m: t(m), st.sampled_from(ERROR_TYPES), st.text(max_size=5))
shutdowns = st.builds(Shutdown, st.text(max_size=5))


def groups_of(leaves: st.SearchStrategy[Exception]) -> st.SearchStrategy[ExceptionGroup]:
    """Nested exception groups over ``leaves``."""
    return st.recursive(
        st.lists(leaves, min_size=1, max_size=3).map(lambda xs: ExceptionGroup("g", xs)),
        lambda inner: st.lists(st.one_of(leaves, inner), min_size=1, max_size=3).map(
            lambda xs: ExceptionGroup("g", xs)
        ),
        max_leaves=6,
    )


def leaves_of(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in leaves_of(sub)]
    return [exc]


# (kind the oracle knows, how the child ends). "group" exits are judged by their
# leaves: nothing but Shutdown is a clean shutdown, anything else is an error.
exits = st.one_of(
    st.just(("normal", None)),
    shutdowns.map(lambda e: ("shutdown", e)),
    errors.map(lambda e: ("error", e)),
    groups_of(st.one_of(errors, shutdowns)).map(
        lambda g: (
            "shutdown" if all(isinstance(x, Shutdown) for x in leaves_of(g)) else "error",
            g,
        )
    ),
    st.just(("cancelled", None)),
)


class TestClassification:
    @given(groups_of(st.one_of(errors, shutdowns)))
    def test_a_group_is_a_shutdown_only_if_every_leaf_is(self, group):
        clean = all(isinstance(x, Shutdown) for x in leaves_of(group))
        assert classify_exit(group) is (Outcome.SHUTDOWN if clean else Outcome.ERROR)

    def test_plain_outcomes(self):
        assert classify_exit(None) is Outcome.NORMAL
        assert classify_exit(Shutdown()) is Outcome.SHUTDOWN
        assert classify_exit(ValueError()) is Outcome.ERROR

    def test_cancellation_is_killed_and_interrupts_have_no_outcome(self):
        async def cancelled() -> BaseException:
            with trio.CancelScope() as scope:
                scope.cancel()
                try:
                    await trio.sleep(1)
                except trio.Cancelled as exc:
                    caught = exc
                    raise
            return caught

        exc = trio.run(cancelled)
        assert classify_exit(exc) is Outcome.KILLED
        assert classify_exit(BaseExceptionGroup("g", [exc])) is Outcome.KILLED
        with pytest.raises(TypeError):
            classify_exit(KeyboardInterrupt())

    @pytest.mark.parametrize("restart", list(Restart))
    @pytest.mark.parametrize("outcome", list(Outcome))
    def test_the_function_matches_the_oracle(self, restart, outcome):
        kind = {"normal": "normal", "shutdown": "shutdown", "error": "error", "killed": "cancelled"}
        assert should_restart(restart, outcome) is ORACLE[(kind[outcome.value], restart)]


def run_one(restart: Restart, kind: str, exc: BaseException | None) -> tuple[list[float], bool]:
    """Run a child that ends its first incarnation at t=1 as described.

    Returns the times its incarnations started and whether the enclosing scope
    caught a cancellation (that is, whether cancellation propagated).
    """
    starts: list[float] = []

    async def child(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        starts.append(trio.current_time())
        task_status.started()
        if ctx.incarnation > 1:
            await trio.sleep_forever()
        await trio.sleep(1)
        if exc is not None:
            raise exc

    async def main() -> bool:
        sup = Supervisor(
            "s",
            [ChildSpec(id="c", start=child, restart=restart)],
            intensity=5,
            backoff=NO_BACKOFF,
        )
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(sup.run)
                if kind == "cancelled":
                    await trio.sleep(1)
                    scope.cancel()
                await trio.sleep(10)
                await sup.stop()
        return scope.cancelled_caught

    cancelled = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return starts, cancelled


class TestSupervisorFollowsTheTable:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(restart=st.sampled_from(list(Restart)), exit=exits)
    def test_restarted_exactly_when_the_table_says(self, restart, exit):
        kind, exc = exit
        starts, cancelled = run_one(restart, kind, exc)
        if ORACLE[(kind, restart)]:
            assert starts == [0, 1]
        else:
            assert starts == [0]
        assert cancelled is (kind == "cancelled")

    @pytest.mark.parametrize("restart", list(Restart))
    async def test_a_sibling_terminated_by_one_for_all_restarts_unless_temporary(
        self, autojump_clock, toys, restart
    ):
        """Killed by its own supervisor for a group restart: OTP's temporary rule."""
        sup = Supervisor(
            "s",
            [toys.spec("x", restart=restart), toys.spec("crasher", toys.crash(1.0))],
            strategy=Strategy.ONE_FOR_ALL,
            backoff=NO_BACKOFF,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(5)
            await sup.stop()
        expected = [0] if restart is Restart.TEMPORARY else [0, 1]
        assert toys.times("init", "x") == expected
