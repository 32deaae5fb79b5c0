"""Dynamic children: add, look up, list, remove, full, failures."""

from __future__ import annotations

import pytest
import trio

from supervisors import (
    NO_BACKOFF,
    Backoff,
    ChildNotFound,
    ChildState,
    DuplicateChild,
    DynamicSupervisor,
    Restart,
    RestartIntensityExceeded,
    StartFailed,
    SupervisorFull,
    SupervisorNotRunning,
)


@pytest.fixture
async def sessions(nursery):
    sup = DynamicSupervisor("sessions", max_children=3, intensity=2, period=10, backoff=NO_BACKOFF)
    await nursery.start(sup.run)
    yield sup
    await sup.stop()


class TestAddAndRemove:
    async def test_start_child_returns_once_ready_and_children_are_listed_in_order(
        self, autojump_clock, toys, sessions
    ):
        first = await sessions.start_child(toys.spec("s1", toys.forever(init=2.0)))
        assert trio.current_time() == 2.0
        assert (first.id, first.state, first.incarnation) == ("s1", ChildState.RUNNING, 1)
        await sessions.start_child(toys.spec("s2"))
        assert [(c.id, c.state, c.incarnation, c.restarts) for c in sessions.which_children()] == [
            ("s1", ChildState.RUNNING, 1, 0),
            ("s2", ChildState.RUNNING, 1, 0),
        ]
        assert len(sessions) == 2
        s2 = sessions.lookup("s2")
        assert s2 is not None
        assert s2.started_at == 2.0
        assert sessions.lookup("nope") is None

    async def test_terminate_child_asks_then_removes_it(self, autojump_clock, toys, sessions):
        await sessions.start_child(toys.spec("s1", toys.forever(cleanup=1.5)))
        await sessions.start_child(toys.spec("s2"))
        await sessions.terminate_child("s1")
        assert trio.current_time() == 1.5
        assert toys.events("stopped") == [(1.5, "s1", 1)]
        assert [c.id for c in sessions.which_children()] == ["s2"]
        # The id is free again.
        await sessions.start_child(toys.spec("s1"))
        assert [c.id for c in sessions.which_children()] == ["s2", "s1"]

    async def test_terminate_child_cancels_a_child_that_ignores_the_request(
        self, autojump_clock, toys, sessions
    ):
        await sessions.start_child(toys.spec("deaf", toys.forever(graceful=False), shutdown=4.0))
        await sessions.terminate_child("deaf")
        assert toys.events("cancelled") == [(4.0, "deaf", 1)]

    async def test_terminating_an_unknown_child_raises(self, autojump_clock, sessions):
        with pytest.raises(ChildNotFound) as info:
            await sessions.terminate_child("ghost")
        assert (info.value.supervisor, info.value.child) == ("sessions", "ghost")

    async def test_duplicate_ids_are_refused(self, autojump_clock, toys, sessions):
        await sessions.start_child(toys.spec("s1"))
        with pytest.raises(DuplicateChild):
            await sessions.start_child(toys.spec("s1"))

    async def test_a_full_supervisor_refuses_with_a_clear_error(
        self, autojump_clock, toys, sessions, logs
    ):
        for n in range(3):
            await sessions.start_child(toys.spec(f"s{n}"))
        with pytest.raises(SupervisorFull) as info:
            await sessions.start_child(toys.spec("s3"))
        assert (info.value.max_children, info.value.child) == (3, "s3")
        assert "full" in str(info.value)
        assert "3" in str(info.value)
        rejected = [e for e in logs if e["event"] == "child.start_rejected"]
        assert rejected == [
            {
                "event": "child.start_rejected",
                "log_level": "warning",
                "supervisor": "sessions",
                "child": "s3",
                "reason": "full",
                "max_children": 3,
            }
        ]
        # A child that exits for good frees its slot.
        await sessions.terminate_child("s0")
        await sessions.start_child(toys.spec("s3"))

    async def test_a_temporary_child_that_exits_is_removed(self, autojump_clock, toys, sessions):
        await sessions.start_child(toys.spec("job", toys.crash(1.0), restart=Restart.TEMPORARY))
        await trio.sleep(0.5)
        assert sessions.lookup("job") is not None
        await trio.sleep(1)
        assert sessions.lookup("job") is None
        assert len(sessions) == 0

    async def test_a_child_failing_to_start_raises_and_frees_its_slot(
        self, autojump_clock, toys, sessions
    ):
        with pytest.raises(StartFailed) as info:
            await sessions.start_child(toys.spec("bad", toys.fail_start(init=1.0)))
        assert info.value.__cause__ is toys.errors[0]
        assert sessions.lookup("bad") is None
        assert sessions.state.value == "running"  # the others are unaffected

    async def test_start_child_needs_a_running_supervisor(self, autojump_clock, toys):
        sup = DynamicSupervisor("sessions", max_children=1)
        with pytest.raises(SupervisorNotRunning):
            await sup.start_child(toys.spec("s1"))


class TestRestartAndStop:
    async def test_a_crashed_permanent_child_is_restarted_and_counted(
        self, autojump_clock, toys, sessions
    ):
        await sessions.start_child(toys.spec("s1", toys.crash(3.0)))
        await trio.sleep(5)
        (s1,) = sessions.which_children()
        assert (s1.state, s1.incarnation, s1.restarts) == (ChildState.RUNNING, 2, 1)
        assert s1.last_exit == "Boom('crash')"
        assert toys.times("ready") == [0, 3]

    async def test_the_window_covers_all_children(self, autojump_clock, toys):
        sup = DynamicSupervisor("sessions", max_children=5, intensity=1, backoff=NO_BACKOFF)
        with pytest.RaisesGroup(pytest.RaisesExc(RestartIntensityExceeded, match="child 'b'")):
            async with trio.open_nursery() as nursery:
                await nursery.start(sup.run)
                await sup.start_child(toys.spec("a", toys.crash(1.0)))
                await sup.start_child(toys.spec("b", toys.crash(2.0)))
                await trio.sleep_forever()
        assert trio.current_time() == 2.0

    async def test_stop_asks_every_child_at_once(self, autojump_clock, toys):
        """Unlike a static supervisor, one slow child does not delay the others."""
        sup = DynamicSupervisor("sessions", max_children=5)
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            for n in ("s1", "s2", "s3"):
                await sup.start_child(toys.spec(n, toys.forever(cleanup=2.0)))
            await sup.stop()
            assert trio.current_time() == 2.0
        assert sorted(toys.events("stopped")) == [(2.0, "s1", 1), (2.0, "s2", 1), (2.0, "s3", 1)]

    async def test_a_terminated_child_during_its_backoff_never_restarts(self, autojump_clock, toys):
        sup = DynamicSupervisor(
            "sessions", max_children=5, intensity=5, backoff=Backoff(first=10, jitter=0)
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.start_child(toys.spec("s1", toys.crash(1.0)))
            await trio.sleep(2)
            snap = sup.lookup("s1")
            assert snap is not None
            assert (snap.state, snap.next_start_at) == (ChildState.RESTARTING, 11.0)
            await sup.terminate_child("s1")
            await trio.sleep(20)
            assert sup.lookup("s1") is None
            await sup.stop()
        assert toys.times("init") == [0]
