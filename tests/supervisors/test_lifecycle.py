"""Ordered start, reverse-order stop, grace then cancel, and start failures."""

from __future__ import annotations

import math

import pytest
import trio

from supervisors import (
    NO_BACKOFF,
    AutoShutdown,
    ChildSpec,
    ChildState,
    Restart,
    RestartIntensityExceeded,
    StartFailed,
    Supervisor,
    SupervisorState,
)


class TestOrderedStart:
    async def test_children_start_one_after_another_and_run_returns_when_all_are_ready(
        self, autojump_clock, toys
    ):
        """Each child's init starts only once the previous child is ready."""
        sup = Supervisor("s", [toys.spec(n, toys.forever(init=1.0)) for n in ("a", "b", "c")])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            assert trio.current_time() == 3.0
            assert toys.events("init") == [(0.0, "a", 1), (1.0, "b", 1), (2.0, "c", 1)]
            assert toys.events("ready") == [(1.0, "a", 1), (2.0, "b", 1), (3.0, "c", 1)]
            assert sup.state is SupervisorState.RUNNING
            await sup.stop()

    async def test_init_failure_is_raised_from_start_after_stopping_started_children_in_reverse(
        self, autojump_clock, toys
    ):
        """OTP start_link: a child's init failure fails the supervisor's own start."""
        sup = Supervisor(
            "s",
            [
                toys.spec("a", toys.forever(cleanup=1.0)),
                toys.spec("b", toys.forever(cleanup=1.0)),
                toys.spec("c", toys.fail_start(init=0.5)),
                toys.spec("d"),
            ],
        )
        async with trio.open_nursery() as nursery:
            with pytest.raises(StartFailed) as info:
                await nursery.start(sup.run)
        assert info.value.supervisor == "s"
        assert info.value.child == "c"
        assert info.value.__cause__ is toys.errors[0]
        # b stopped before a, one grace-free cleanup second each; d never started.
        assert toys.events("stopped") == [(1.5, "b", 1), (2.5, "a", 1)]
        assert toys.events("init", "d") == []
        assert sup.state is SupervisorState.STOPPED

    async def test_exception_group_raised_during_init_is_the_cause_unchanged(
        self, autojump_clock, toys
    ):
        """A group raised before ready is chained as a whole, never unwrapped.

        (trio's ``nursery.start`` re-derives the group, so compare its leaves.)
        """
        leaves = (OSError("a"), ValueError("b"))
        sup = Supervisor(
            "s", [toys.spec("a", toys.fail_start(exc=lambda: ExceptionGroup("init", leaves)))]
        )
        with pytest.raises(StartFailed) as info:
            await sup.run()
        cause = info.value.__cause__
        assert isinstance(cause, ExceptionGroup)
        assert cause.message == "init"
        assert cause.exceptions == leaves

    async def test_child_returning_before_ready_is_a_start_failure(self, autojump_clock):
        async def lazy(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
            return

        sup = Supervisor("s", [ChildSpec(id="lazy", start=lazy)])
        with pytest.raises(StartFailed) as info:
            await sup.run()
        assert isinstance(info.value.__cause__, RuntimeError)
        assert "task_status.started()" in str(info.value.__cause__)


class TestOrderedStop:
    async def test_stop_asks_children_in_reverse_order_one_at_a_time(self, autojump_clock, toys):
        sup = Supervisor("s", [toys.spec(n, toys.forever(cleanup=1.0)) for n in ("a", "b", "c")])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(10)
            await sup.stop()
            assert trio.current_time() == 13.0
        assert toys.events("asked") == [(10.0, "c", 1), (11.0, "b", 1), (12.0, "a", 1)]
        assert toys.events("stopped") == [(11.0, "c", 1), (12.0, "b", 1), (13.0, "a", 1)]
        assert toys.events("cancelled") == []
        assert [c.state for c in sup.which_children()] == [ChildState.STOPPED] * 3

    async def test_child_ignoring_the_request_is_cancelled_when_its_grace_ends(
        self, autojump_clock, toys
    ):
        sup = Supervisor(
            "s",
            [
                toys.spec("deaf", toys.forever(graceful=False), shutdown=2.5),
                toys.spec("slow", toys.forever(cleanup=10.0), shutdown=1.0),
            ],
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.stop()
        assert toys.events("asked") == [(0.0, "slow", 1)]
        assert toys.events("cancelled") == [(1.0, "slow", 1), (3.5, "deaf", 1)]
        assert toys.events("stopped") == []

    async def test_brutal_kill_cancels_at_once_without_asking(self, autojump_clock, toys):
        sup = Supervisor("s", [toys.spec("a", toys.forever(cleanup=1.0), shutdown=None)])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(4)
            await sup.stop()
        assert toys.events("asked") == []
        assert toys.events("cancelled") == [(4.0, "a", 1)]

    async def test_infinite_grace_waits_for_the_whole_cleanup(self, autojump_clock, toys):
        sup = Supervisor("s", [toys.spec("a", toys.forever(cleanup=3600.0), shutdown=math.inf)])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.stop()
        assert toys.events("stopped") == [(3600.0, "a", 1)]

    async def test_running_context_stops_gracefully_on_exit(self, autojump_clock, toys):
        sup = Supervisor("s", [toys.spec(n, toys.forever(cleanup=1.0)) for n in ("a", "b")])
        async with sup.running() as running:
            assert running is sup
            assert [c.state for c in sup.which_children()] == [ChildState.RUNNING] * 2
        assert toys.events("stopped") == [(1.0, "b", 1), (2.0, "a", 1)]
        assert sup.state is SupervisorState.STOPPED

    async def test_running_context_delivers_errors_as_groups(self, autojump_clock, toys):
        escalating = Supervisor("s", [toys.spec("a", toys.crash(2.0))], intensity=0)
        with pytest.RaisesGroup(RestartIntensityExceeded):
            async with escalating.running():
                await trio.sleep_forever()
        assert trio.current_time() == 2.0
        failing = Supervisor("t", [toys.spec("b", toys.fail_start())])
        with pytest.RaisesGroup(StartFailed):
            async with failing.running():
                pytest.fail("the block must not run when a child fails to start")

    async def test_stop_is_a_no_op_unless_running(self, autojump_clock, toys):
        sup = Supervisor("s", [toys.spec("a")])
        await sup.stop()
        assert sup.state is SupervisorState.IDLE

    async def test_cancellation_from_outside_is_never_swallowed(self, autojump_clock, toys):
        """Cancel is immediate and unordered (trio semantics), and it propagates."""
        sup = Supervisor("s", [toys.spec(n) for n in ("a", "b")], intensity=10)
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(sup.run)
                await trio.sleep(2)
                scope.cancel()
                await trio.sleep_forever()
        assert scope.cancelled_caught
        assert sorted(toys.events("cancelled")) == [(2.0, "a", 1), (2.0, "b", 1)]
        assert toys.events("init") == [(0.0, "a", 1), (0.0, "b", 1)]  # nothing restarted
        assert sup.state is SupervisorState.STOPPED

    async def test_keyboard_interrupt_from_a_child_propagates(self, autojump_clock, toys):
        sup = Supervisor(
            "s",
            [toys.spec("a", toys.crash(1.0, exc=KeyboardInterrupt)), toys.spec("b")],
            intensity=10,
        )
        with pytest.RaisesGroup(KeyboardInterrupt, flatten_subgroups=True):
            await sup.run()
        assert toys.events("init") == [(0.0, "a", 1), (0.0, "b", 1)]

    async def test_a_supervisor_cannot_run_twice_at_once_but_can_run_again(
        self, autojump_clock, toys
    ):
        sup = Supervisor("s", [toys.spec("a", default=toys.forever())])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            with pytest.raises(RuntimeError, match="already running"):
                await sup.run()
            await sup.stop()
            await nursery.start(sup.run)
            # A fresh run starts from a fresh record of the child (toy incarnation
            # numbers come from the context, which restarts at 1).
            assert sup.which_children()[0].incarnation == 1
            await sup.stop()
        assert toys.events("ready") == [(0.0, "a", 1), (0.0, "a", 1)]


class TestCleanExits:
    async def test_transient_child_raising_shutdown_is_not_restarted(self, autojump_clock, toys):
        sup = Supervisor(
            "s", [toys.spec("a", toys.shutdown(1.0), restart=Restart.TRANSIENT)], intensity=5
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(10)
            (child,) = sup.which_children()
            assert child.state is ChildState.STOPPED
            assert child.last_exit == "shutdown: done"
            await sup.stop()
        assert toys.events("init") == [(0.0, "a", 1)]

    async def test_significant_child_ends_its_supervisor_with_auto_shutdown(
        self, autojump_clock, toys
    ):
        sup = Supervisor(
            "s",
            [
                toys.spec("worker", toys.forever(cleanup=1.0)),
                toys.spec("job", toys.returns(5.0), restart=Restart.TRANSIENT, significant=True),
            ],
            auto_shutdown=AutoShutdown.ANY_SIGNIFICANT,
            backoff=NO_BACKOFF,
        )
        await sup.run()  # returns normally: no escalation
        assert trio.current_time() == 6.0
        assert toys.events("stopped") == [(6.0, "worker", 1)]

    async def test_all_significant_waits_for_every_significant_child(self, autojump_clock, toys):
        sup = Supervisor(
            "s",
            [
                toys.spec("a", toys.returns(2.0), restart=Restart.TEMPORARY, significant=True),
                toys.spec("b", toys.returns(5.0), restart=Restart.TEMPORARY, significant=True),
                toys.spec("c"),
            ],
            auto_shutdown=AutoShutdown.ALL_SIGNIFICANT,
        )
        await sup.run()
        assert trio.current_time() == 5.0
        assert toys.events("stopped") == [(5.0, "c", 1)]

    def test_a_permanent_child_cannot_be_significant(self):
        async def noop(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
            task_status.started()

        with pytest.raises(ValueError, match="significant"):
            ChildSpec(id="a", start=noop, significant=True)
