"""The restart window: intensity and period per supervisor, then escalation."""

from __future__ import annotations

import pytest
import trio

from supervisors import NO_BACKOFF, RestartIntensityExceeded, Supervisor
from supervisors._window import RestartWindow


class TestWindow:
    def test_counts_restarts_within_the_period(self):
        w = RestartWindow(intensity=2, period=10)
        assert [w.allow(t) for t in (0, 1, 2)] == [True, True, False]

    def test_a_restart_exactly_period_old_no_longer_counts(self):
        w = RestartWindow(intensity=1, period=5)
        assert w.allow(0)
        assert w.allow(5)
        assert not w.allow(9.999)

    def test_zero_intensity_allows_nothing(self):
        assert not RestartWindow(intensity=0, period=5).allow(0)

    @pytest.mark.parametrize(("intensity", "period"), [(-1, 5), (1, 0), (1, float("nan"))])
    def test_invalid_settings(self, intensity, period):
        with pytest.raises(ValueError):
            RestartWindow(intensity=intensity, period=period)


class TestEscalation:
    async def test_restart_then_escalate_when_intensity_is_exceeded(self, autojump_clock, toys):
        """intensity=2, period=10, crash every second: restarts at 1 and 2, escalation at 3."""
        sup = Supervisor(
            "session",
            [toys.spec("stable"), toys.spec("conn", default=toys.crash(1.0))],
            intensity=2,
            period=10,
            backoff=NO_BACKOFF,
        )
        with pytest.raises(RestartIntensityExceeded) as info:
            await sup.run()
        assert trio.current_time() == 3.0
        assert toys.times("init", "conn") == [0, 1, 2]
        err = info.value
        assert (err.supervisor, err.child, err.incarnation) == ("session", "conn", 3)
        assert (err.intensity, err.period) == (2, 10)
        assert err.__cause__ is toys.errors[-1]
        assert "session" in str(err)
        assert "conn" in str(err)
        # All children were stopped before the error came out.
        assert toys.events("asked") == [(3.0, "stable", 1)]

    async def test_crashes_spaced_by_the_period_never_escalate(self, autojump_clock, toys):
        sup = Supervisor(
            "s",
            [toys.spec("c", default=toys.crash(5.0))],
            intensity=1,
            period=5,
            backoff=NO_BACKOFF,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(52)
            await sup.stop()
        assert toys.times("init") == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50]

    async def test_the_window_is_per_supervisor_not_per_child(self, autojump_clock, toys):
        """Two children crashing once each exceed intensity=1 together (triotp would not)."""
        sup = Supervisor(
            "s",
            [toys.spec("a", toys.crash(1.0)), toys.spec("b", toys.crash(2.0))],
            intensity=1,
            period=5,
            backoff=NO_BACKOFF,
        )
        with pytest.raises(RestartIntensityExceeded) as info:
            await sup.run()
        assert trio.current_time() == 2.0
        assert info.value.child == "b"

    async def test_zero_intensity_escalates_on_the_first_exit(self, autojump_clock, toys):
        sup = Supervisor("s", [toys.spec("a", toys.crash(4.0))], intensity=0)
        with pytest.raises(RestartIntensityExceeded):
            await sup.run()
        assert trio.current_time() == 4.0
        assert toys.times("init") == [0]

    async def test_permanent_child_that_keeps_returning_escalates_without_a_cause(
        self, autojump_clock, toys
    ):
        """OTP: a permanent child's normal exit is restarted, and counts."""
        sup = Supervisor(
            "s", [toys.spec("a", default=toys.returns(1.0))], intensity=1, backoff=NO_BACKOFF
        )
        with pytest.raises(RestartIntensityExceeded) as info:
            await sup.run()
        assert trio.current_time() == 2.0
        assert info.value.reason == "normal"
        assert info.value.__cause__ is None

    async def test_failed_restarts_count_and_are_retried(self, autojump_clock, toys):
        """A restart whose init fails is an exit like any other."""
        sup = Supervisor(
            "s",
            [toys.spec("a", toys.crash(1.0), default=toys.fail_start(init=0.5))],
            intensity=3,
            period=100,
            backoff=NO_BACKOFF,
        )
        with pytest.raises(RestartIntensityExceeded) as info:
            await sup.run()
        assert toys.times("fail_start") == [1.5, 2.0, 2.5]
        assert info.value.incarnation == 4
        assert info.value.__cause__ is toys.errors[-1]

    async def test_escalation_through_two_levels_chains_every_cause(self, autojump_clock, toys):
        """leaf crashes each second; inner (1/100 s) escalates at 2 and 4; outer at 4."""
        inner = Supervisor(
            "inner",
            [toys.spec("leaf", default=toys.crash(1.0))],
            intensity=1,
            period=100,
            backoff=NO_BACKOFF,
        )
        outer = Supervisor(
            "outer",
            [toys.spec("sibling"), inner.child_spec()],
            intensity=1,
            period=100,
            backoff=NO_BACKOFF,
        )
        with pytest.raises(RestartIntensityExceeded) as info:
            await outer.run()
        assert trio.current_time() == 4.0
        assert toys.times("init", "leaf") == [0, 1, 2, 3]
        top = info.value
        assert (top.supervisor, top.child) == ("outer", "inner")
        middle = top.__cause__
        assert isinstance(middle, RestartIntensityExceeded)
        assert (middle.supervisor, middle.child) == ("inner", "leaf")
        assert middle.__cause__ is toys.errors[-1]
        assert toys.events("asked", "sibling") == [(4.0, "sibling", 1)]

    async def test_escalation_arrives_in_the_callers_nursery_as_a_group(self, autojump_clock, toys):
        sup = Supervisor("s", [toys.spec("a", toys.crash(1.0))], intensity=0)
        with pytest.RaisesGroup(pytest.RaisesExc(RestartIntensityExceeded, match="'a'")):
            async with trio.open_nursery() as nursery:
                await nursery.start(sup.run)
                await trio.sleep_forever()
