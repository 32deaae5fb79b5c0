"""Exits, stops and terminations that land while something else is in flight."""

from __future__ import annotations

import pytest
import trio
import trio.lowlevel

from supervisors import (
    NO_BACKOFF,
    Backoff,
    ChildState,
    DynamicSupervisor,
    RestartIntensityExceeded,
    StartFailed,
    Strategy,
    Supervisor,
)


class TestDuringRestarts:
    async def test_a_crash_while_the_group_is_still_starting_restarts_it_cleanly(
        self, autojump_clock, toys
    ):
        """one_for_all: a2 crashes while b2 initialises; b2 is aborted, the group restarts."""
        sup = Supervisor(
            "s",
            [
                toys.spec("a", toys.forever(), toys.crash(0.5), default=toys.forever()),
                toys.spec("b", toys.forever(), default=toys.forever(init=2.0)),
                toys.spec("c", toys.crash(1.0)),
            ],
            strategy=Strategy.ONE_FOR_ALL,
            backoff=NO_BACKOFF,
            intensity=5,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(10)
            assert [(c.id, c.state, c.incarnation) for c in sup.which_children()] == [
                ("a", ChildState.RUNNING, 3),
                ("b", ChildState.RUNNING, 3),
                ("c", ChildState.RUNNING, 2),
            ]
            await sup.stop()
        assert toys.events("init") == [
            (0.0, "a", 1),
            (0.0, "b", 1),
            (0.0, "c", 1),
            (1.0, "a", 2),
            (1.0, "b", 2),
            (1.5, "a", 3),
            (1.5, "b", 3),
            (3.5, "c", 2),
        ]
        assert toys.events("cancelled", "b") == [(1.5, "b", 2)]

    async def test_stop_aborts_a_restart_that_is_initialising(self, autojump_clock, toys):
        sup = Supervisor(
            "s",
            [
                toys.spec("a", toys.forever(cleanup=1.0)),
                toys.spec("b", toys.crash(1.0), default=toys.forever(init=5.0)),
            ],
            backoff=NO_BACKOFF,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(2)
            assert sup.lookup("b").state is ChildState.STARTING
            await sup.stop()
            assert trio.current_time() == 3.0
        assert toys.events("cancelled") == [(2.0, "b", 2)]
        assert toys.events("stopped") == [(3.0, "a", 1)]

    async def test_stop_cancels_a_restart_waiting_out_its_backoff(self, autojump_clock, toys):
        sup = Supervisor(
            "s", [toys.spec("a", toys.crash(1.0))], backoff=Backoff(first=100, jitter=0)
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(2)
            await sup.stop()
            assert trio.current_time() == 2.0
            await trio.sleep(200)
        assert toys.times("init") == [0]

    async def test_escalation_cancels_pending_restarts(self, autojump_clock, toys):
        sup = Supervisor(
            "s",
            [
                toys.spec("slow", toys.crash(1.0), backoff=Backoff(first=50, jitter=0)),
                toys.spec("fast", toys.crash(2.0)),
            ],
            intensity=1,
            backoff=NO_BACKOFF,
        )
        with pytest.raises(RestartIntensityExceeded) as info:
            await sup.run()
        assert info.value.child == "fast"
        assert trio.current_time() == 2.0
        assert toys.times("init", "slow") == [0]

    async def test_a_child_crashing_right_after_ready_without_a_checkpoint(self, autojump_clock):
        from supervisors import ChildSpec

        starts = []

        async def hasty(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
            starts.append(trio.current_time())
            task_status.started()
            raise ValueError("no checkpoint between ready and crash")

        sup = Supervisor("s", [ChildSpec(id="h", start=hasty)], intensity=2, backoff=NO_BACKOFF)
        with pytest.raises(RestartIntensityExceeded):
            await sup.run()
        assert starts == [0, 0, 0]


class TestDynamicRaces:
    async def test_terminating_a_child_that_is_still_starting(self, autojump_clock, toys):
        sup = DynamicSupervisor("sessions", max_children=2)
        outcome: list[BaseException] = []

        async def start_it():
            try:
                await sup.start_child(toys.spec("s1", toys.forever(init=5.0)))
            except StartFailed as exc:
                outcome.append(exc)

        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            nursery.start_soon(start_it)
            await trio.sleep(1)
            assert sup.lookup("s1").state is ChildState.STARTING
            await sup.terminate_child("s1")
            assert trio.current_time() == 1.0
            await trio.lowlevel.checkpoint()
            assert sup.lookup("s1") is None
            await sup.stop()
        (failure,) = outcome
        assert failure.child == "s1"
        assert "before it was ready" in str(failure.__cause__)

    async def test_two_concurrent_terminations_of_one_child(self, autojump_clock, toys):
        sup = DynamicSupervisor("sessions", max_children=2)
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.start_child(toys.spec("s1", toys.forever(cleanup=2.0)))
            async with trio.open_nursery() as both:
                both.start_soon(sup.terminate_child, "s1")
                both.start_soon(sup.terminate_child, "s1")
            assert trio.current_time() == 2.0
            assert sup.lookup("s1") is None
            await sup.stop()
        assert toys.events("asked") == [(0.0, "s1", 1)]

    async def test_a_start_child_cancelled_by_its_caller_frees_the_slot(self, autojump_clock, toys):
        sup = DynamicSupervisor("sessions", max_children=1)
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            with trio.move_on_after(1):
                await sup.start_child(toys.spec("s1", toys.forever(init=5.0)))
            assert sup.lookup("s1") is None
            await sup.start_child(toys.spec("s2"))
            await sup.stop()
        assert toys.events("cancelled") == [(1.0, "s1", 1)]


class TestNestedStop:
    async def test_a_parent_stop_drains_the_child_supervisor_in_order_first(
        self, autojump_clock, toys
    ):
        inner = Supervisor("inner", [toys.spec(n, toys.forever(cleanup=1.0)) for n in ("y", "z")])
        outer = Supervisor("outer", [toys.spec("x", toys.forever(cleanup=1.0)), inner.child_spec()])
        async with trio.open_nursery() as nursery:
            await nursery.start(outer.run)
            await outer.stop()
        assert toys.events("stopped") == [(1.0, "z", 1), (2.0, "y", 1), (3.0, "x", 1)]

    async def test_an_error_during_graceful_cleanup_is_logged_not_restarted(
        self, autojump_clock, logs
    ):
        from supervisors import ChildSpec

        async def clumsy(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
            task_status.started()
            with ctx.cancel_on_stop():
                await trio.sleep_forever()
            raise OSError("flush failed")

        sup = Supervisor("s", [ChildSpec(id="c", start=clumsy)])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.stop()
        exits = [e for e in logs if e["event"] == "child.exited"]
        assert [(e["outcome"], e["reason"]) for e in exits] == [
            ("error", "OSError('flush failed')")
        ]
        assert [e for e in logs if e["event"] == "child.restarting"] == []
