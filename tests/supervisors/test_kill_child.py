"""kill_child: OTP's exit(Pid, kill). The incarnation dies now, as a crash, and is restarted per its spec."""

from __future__ import annotations

import pytest
import trio

from supervisors import (
    NO_BACKOFF,
    ChildKilled,
    ChildNotFound,
    Restart,
    RestartIntensityExceeded,
    Supervisor,
)


async def test_a_killed_child_is_restarted_at_once_without_a_stop_request(autojump_clock, toys):
    sup = Supervisor("s", [toys.spec("a"), toys.spec("b")], backoff=NO_BACKOFF)
    async with sup.running():
        await trio.sleep(2.0)
        assert sup.kill_child("b")
        await trio.sleep(1.0)
        children = {c.id: c for c in sup.which_children()}
        assert children["b"].incarnation == 2
        assert children["b"].restarts == 1
        assert children["b"].last_exit is not None
        assert "killed" in children["b"].last_exit
        assert children["a"].incarnation == 1  # one_for_one: the sibling is untouched
    # Killed, not asked: no stop request reached incarnation 1 of b.
    assert (2.0, "b", 1) not in toys.events("asked")
    assert toys.times("init", "b") == [0.0, 2.0]


async def test_a_temporary_child_killed_stays_dead(autojump_clock, toys):
    """The restart type decides, as for any crash: a temporary child is never restarted."""
    sup = Supervisor("s", [toys.spec("t", restart=Restart.TEMPORARY)], backoff=NO_BACKOFF)
    async with sup.running():
        await trio.sleep(1.0)
        assert sup.kill_child("t")
        await trio.sleep(1.0)
        (child,) = sup.which_children()
        assert child.state == "stopped"
        assert not sup.kill_child("t")  # nothing running to kill
    assert toys.times("init", "t") == [0.0]


async def test_kills_count_against_the_restart_intensity(autojump_clock, toys):
    sup = Supervisor("s", [toys.spec("c")], intensity=1, period=10, backoff=NO_BACKOFF)

    async def killer() -> None:
        for _ in range(2):
            await trio.sleep(1.0)
            sup.kill_child("c")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(killer)
        with pytest.raises(RestartIntensityExceeded) as info:
            await sup.run()
    assert trio.current_time() == 2.0
    assert isinstance(info.value.__cause__, ChildKilled)


async def test_killing_an_unknown_child_says_so(autojump_clock, toys):
    sup = Supervisor("s", [toys.spec("a")])
    async with sup.running():
        with pytest.raises(ChildNotFound):
            sup.kill_child("nope")
