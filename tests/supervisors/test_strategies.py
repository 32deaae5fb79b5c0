"""Which children each strategy restarts, and in which order."""

from __future__ import annotations

import pytest
import trio

from supervisors import NO_BACKOFF, Backoff, ChildState, Restart, Strategy, Supervisor


def three(toys, crashing: str = "b", **kwargs):
    """a, b, c with ``crashing`` crashing 1 s after its first start; 1 s cleanups."""
    return [
        toys.spec(
            n,
            *([toys.crash(1.0)] if n == crashing else []),
            default=toys.forever(cleanup=1.0),
            **kwargs,
        )
        for n in ("a", "b", "c")
    ]


async def run_until(sup: Supervisor, t: float) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(sup.run)
        await trio.sleep_until(t)
        nursery.cancel_scope.cancel()


class TestOneForOne:
    async def test_only_the_exited_child_restarts(self, autojump_clock, toys):
        sup = Supervisor("s", three(toys), strategy=Strategy.ONE_FOR_ONE, backoff=NO_BACKOFF)
        await run_until(sup, 10)
        assert toys.trace("init", "asked", "crash") == [
            ("a", 1, "init"),
            ("b", 1, "init"),
            ("c", 1, "init"),
            ("b", 1, "crash"),
            ("b", 2, "init"),
        ]
        assert toys.events("init", "b") == [(0.0, "b", 1), (1.0, "b", 2)]
        assert [(c.id, c.incarnation, c.restarts) for c in sup.which_children()] == [
            ("a", 1, 0),
            ("b", 2, 1),
            ("c", 1, 0),
        ]


class TestOneForAll:
    async def test_others_stop_in_reverse_order_then_all_restart_in_order(
        self, autojump_clock, toys
    ):
        sup = Supervisor("s", three(toys), strategy=Strategy.ONE_FOR_ALL, backoff=NO_BACKOFF)
        await run_until(sup, 10)
        assert toys.trace("init", "ready", "asked", "stopped", "crash")[3 * 2 :] == [
            ("b", 1, "crash"),
            ("c", 1, "asked"),
            ("c", 1, "stopped"),
            ("a", 1, "asked"),
            ("a", 1, "stopped"),
            ("a", 2, "init"),
            ("a", 2, "ready"),
            ("b", 2, "init"),
            ("b", 2, "ready"),
            ("c", 2, "init"),
            ("c", 2, "ready"),
        ]
        # c's cleanup takes 1 s, then a's: the group restarts at t=3.
        assert toys.events("ready")[3:] == [(3.0, "a", 2), (3.0, "b", 2), (3.0, "c", 2)]
        # Only the child that exited counts a restart of its own.
        assert [c.restarts for c in sup.which_children()] == [0, 1, 0]

    async def test_backoff_delay_applies_after_the_siblings_are_stopped(self, autojump_clock, toys):
        sup = Supervisor(
            "s",
            three(toys),
            strategy=Strategy.ONE_FOR_ALL,
            backoff=Backoff(first=2.0, jitter=0),
        )
        await run_until(sup, 10)
        assert toys.events("ready")[3:] == [(5.0, "a", 2), (5.0, "b", 2), (5.0, "c", 2)]

    async def test_temporary_siblings_are_stopped_and_not_restarted(self, autojump_clock, toys):
        sup = Supervisor(
            "s",
            [
                toys.spec("a", default=toys.forever(), restart=Restart.TEMPORARY),
                toys.spec("b", toys.crash(1.0)),
                toys.spec("c", default=toys.forever(), restart=Restart.TEMPORARY),
            ],
            strategy=Strategy.ONE_FOR_ALL,
            backoff=NO_BACKOFF,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(10)
            states = {c.id: c.state for c in sup.which_children()}
            assert states == {
                "a": ChildState.STOPPED,
                "b": ChildState.RUNNING,
                "c": ChildState.STOPPED,
            }
            await sup.stop()
        assert toys.events("init") == [(0.0, "a", 1), (0.0, "b", 1), (0.0, "c", 1), (1.0, "b", 2)]
        assert toys.events("stopped") == [(1.0, "c", 1), (1.0, "a", 1), (10.0, "b", 2)]

    async def test_a_finished_transient_child_is_restarted_with_the_group(
        self, autojump_clock, toys
    ):
        """As in OTP, the group restart covers every non-temporary child."""
        sup = Supervisor(
            "s",
            [
                toys.spec("job", toys.returns(0.5), restart=Restart.TRANSIENT),
                toys.spec("b", toys.crash(1.0)),
            ],
            strategy=Strategy.ONE_FOR_ALL,
            backoff=NO_BACKOFF,
        )
        await run_until(sup, 10)
        assert toys.events("init", "job") == [(0.0, "job", 1), (1.0, "job", 2)]


class TestRestForOne:
    @pytest.mark.parametrize(
        ("crashing", "restarted"),
        [("a", ["a", "b", "c"]), ("b", ["b", "c"]), ("c", ["c"])],
    )
    async def test_the_child_and_those_after_it_restart(
        self, autojump_clock, toys, crashing, restarted
    ):
        sup = Supervisor(
            "s", three(toys, crashing), strategy=Strategy.REST_FOR_ONE, backoff=NO_BACKOFF
        )
        await run_until(sup, 10)
        later = [n for n in ("c", "b") if n in restarted and n != crashing]
        assert [i for (_t, i, _n) in toys.events("asked") if _t < 10] == later
        assert [i for (_t, i, n) in toys.events("init") if n == 2] == restarted
        untouched = [n for n in ("a", "b", "c") if n not in restarted]
        assert [i for (_t, i, n) in toys.events("init") if n == 1 and i in untouched] == untouched
        assert all(c.incarnation == 1 for c in sup.which_children() if c.id in untouched)

    async def test_an_earlier_crash_during_a_pending_restart_supersedes_it(
        self, autojump_clock, toys
    ):
        """c waits out a 5 s backoff from t=1; a crashes at t=2: a, b, c restart once each."""
        sup = Supervisor(
            "s",
            [
                toys.spec("a", toys.crash(2.0)),
                toys.spec("b"),
                toys.spec("c", toys.crash(1.0), backoff=Backoff(first=5.0, jitter=0)),
            ],
            strategy=Strategy.REST_FOR_ONE,
            backoff=NO_BACKOFF,
            intensity=5,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(1.5)
            c = sup.lookup("c")
            assert c is not None
            assert (c.state, c.next_start_at) == (ChildState.RESTARTING, 6.0)
            await trio.sleep(10)
            nursery.cancel_scope.cancel()
        assert toys.events("init") == [
            (0.0, "a", 1),
            (0.0, "b", 1),
            (0.0, "c", 1),
            (2.0, "a", 2),
            (2.0, "b", 2),
            (2.0, "c", 2),
        ]
