"""Backoff delays, alone and as a supervisor applies them on trio's virtual clock."""

from __future__ import annotations

import random

import pytest
import trio

from supervisors import NO_BACKOFF, Backoff, RestartIntensityExceeded, Supervisor

# random.Random(42).random() yields these first (CPython's Mersenne Twister).
SEED_42 = (0.6394267984578837, 0.025010755222666936, 0.27502931836911926)


class TestDelay:
    def test_first_then_exponential_up_to_the_cap(self):
        b = Backoff(first=0, base=1, factor=2, max=10, jitter=0)
        assert [b.delay(n) for n in range(7)] == [0, 1, 2, 4, 8, 10, 10]

    def test_a_non_zero_first_delay(self):
        b = Backoff(first=0.25, base=1, factor=3, max=100, jitter=0)
        assert [b.delay(n) for n in range(4)] == [0.25, 1, 3, 9]

    def test_no_backoff_is_always_immediate(self):
        assert [NO_BACKOFF.delay(n) for n in range(5)] == [0, 0, 0, 0, 0]

    def test_huge_attempts_stay_at_the_cap(self):
        assert Backoff(base=1, factor=10, max=30, jitter=0).delay(100_000) == 30

    def test_jitter_scales_by_the_injected_random_source(self):
        b = Backoff(first=1, base=2, factor=2, max=30, jitter=0.5)
        rng = random.Random(42)
        got = [b.delay(n, rng) for n in range(3)]
        assert got == [
            1 * (1 + 0.5 * (2 * SEED_42[0] - 1)),
            2 * (1 + 0.5 * (2 * SEED_42[1] - 1)),
            4 * (1 + 0.5 * (2 * SEED_42[2] - 1)),
        ]

    def test_jitter_never_exceeds_the_cap(self):
        b = Backoff(base=10, max=10, jitter=1.0)
        rng = random.Random(0)
        assert max(b.delay(5, rng) for _ in range(1000)) <= 10

    def test_zero_delay_consumes_no_randomness(self):
        rng = random.Random(42)
        assert Backoff(first=0, jitter=0.5).delay(0, rng) == 0
        assert rng.random() == SEED_42[0]

    @pytest.mark.parametrize(
        "kwargs",
        [{"first": -1}, {"base": -0.1}, {"max": float("nan")}, {"factor": 0.5}, {"jitter": 1.5}],
    )
    def test_invalid_settings_are_rejected(self, kwargs):
        with pytest.raises(ValueError, match="Backoff"):
            Backoff(**kwargs)


class TestSchedule:
    async def test_restarts_follow_the_schedule_exactly(self, autojump_clock, toys):
        """A child that crashes at once is restarted at 0, 0+0, +1, +2, +4, then capped at 5."""
        sup = Supervisor(
            "s",
            [toys.spec("c", default=toys.crash(0.0))],
            backoff=Backoff(first=0, base=1, factor=2, max=5, jitter=0),
            intensity=6,
            period=1000,
        )
        with pytest.raises(RestartIntensityExceeded):
            await sup.run()
        assert toys.times("init") == [0, 0, 1, 3, 7, 12, 17]
        assert trio.current_time() == 17

    async def test_jittered_schedule_is_deterministic_with_a_seeded_rng(self, autojump_clock, toys):
        sup = Supervisor(
            "s",
            [toys.spec("c", default=toys.crash(0.0))],
            backoff=Backoff(first=1, base=2, factor=2, max=30, jitter=0.5),
            intensity=3,
            period=1000,
            rng=random.Random(42),
        )
        with pytest.raises(RestartIntensityExceeded):
            await sup.run()
        d = [
            1 * (1 + 0.5 * (2 * SEED_42[0] - 1)),
            2 * (1 + 0.5 * (2 * SEED_42[1] - 1)),
            4 * (1 + 0.5 * (2 * SEED_42[2] - 1)),
        ]
        assert toys.times("init") == pytest.approx([0, d[0], d[0] + d[1], d[0] + d[1] + d[2]])

    async def test_a_child_backoff_overrides_the_supervisor_default(self, autojump_clock, toys):
        sup = Supervisor(
            "s",
            [
                toys.spec("own", toys.crash(1.0), backoff=Backoff(first=3, jitter=0)),
                toys.spec("dflt", toys.crash(1.0)),
            ],
            backoff=Backoff(first=0.5, jitter=0),
            intensity=5,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(10)
            await sup.stop()
        assert toys.events("ready") == [
            (0.0, "own", 1),
            (0.0, "dflt", 1),
            (1.5, "dflt", 2),
            (4.0, "own", 2),
        ]

    async def test_attempts_reset_after_a_stable_uptime(self, autojump_clock, toys):
        """Two quick crashes grow the delay; a crash after 10 s of uptime resets it."""
        sup = Supervisor(
            "s",
            [
                toys.spec(
                    "c",
                    toys.crash(0.0),
                    toys.crash(0.0),
                    toys.crash(10.0),
                    toys.crash(0.0),
                    default=toys.forever(),
                )
            ],
            backoff=Backoff(first=1, base=4, factor=2, max=60, jitter=0, reset_after=10),
            intensity=10,
            period=1000,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(100)
            await sup.stop()
        # delays: 1 (attempt 0), 4 (attempt 1), then uptime 10 resets: 1, then 4.
        assert toys.times("init") == [0, 1, 5, 16, 20]

    async def test_first_delay_zero_restarts_in_the_same_instant(self, autojump_clock, toys):
        sup = Supervisor("s", [toys.spec("c", toys.crash(2.0))], backoff=NO_BACKOFF, intensity=1)
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(5)
            await sup.stop()
        assert toys.times("ready") == [0, 2]
