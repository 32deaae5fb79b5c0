"""Snapshots of the whole tree, as the daemon's admin API and metrics read them."""

from __future__ import annotations

import msgspec
import trio

from supervisors import (
    Backoff,
    ChildState,
    DynamicSupervisor,
    Restart,
    Strategy,
    Supervisor,
    SupervisorSnapshot,
    SupervisorState,
)


class TestSnapshot:
    async def test_a_three_level_tree_serialises_to_json(self, autojump_clock, toys):
        session = Supervisor(
            "session-S1",
            [toys.spec("connection", toys.crash(1.0)), toys.spec("pinger", shutdown=None)],
            strategy=Strategy.REST_FOR_ONE,
            intensity=3,
            period=30,
            backoff=Backoff(first=4, jitter=0),
        )
        sessions = DynamicSupervisor("sessions", max_children=10)
        service = Supervisor("service", [toys.spec("store"), sessions.child_spec()])
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            await sessions.start_child(session.child_spec(id="S1", restart=Restart.TEMPORARY))
            await trio.sleep(2)
            tree = msgspec.json.decode(msgspec.json.encode(service.snapshot()))
            await service.stop()

        assert tree["name"] == "service"
        assert tree["state"] == "running"
        assert [c["id"] for c in tree["children"]] == ["store", "sessions"]
        dyn = tree["children"][1]["subtree"]
        assert (dyn["kind"], dyn["max_children"], dyn["strategy"]) == ("dynamic", 10, "one_for_one")
        (s1,) = dyn["children"]
        assert (s1["id"], s1["state"], s1["restart"]) == ("S1", "running", "temporary")
        inner = s1["subtree"]
        assert (inner["name"], inner["strategy"], inner["intensity"], inner["period"]) == (
            "session-S1",
            "rest_for_one",
            3,
            30.0,
        )
        assert inner["recent_restarts"] == 1
        conn, ping = inner["children"]
        assert conn == {
            "id": "connection",
            "state": "restarting",
            "restart": "permanent",
            "incarnation": 1,
            "restarts": 1,
            "started_at": None,
            "next_start_at": 5.0,
            "last_exit": "Boom('crash')",
            "subtree": None,
        }
        assert (ping["state"], ping["incarnation"]) == ("restarting", 1)

    async def test_snapshot_follows_the_life_cycle(self, autojump_clock, toys):
        sup = Supervisor("s", [toys.spec("a", toys.forever(init=1.0))])
        assert sup.snapshot().state is SupervisorState.IDLE
        assert [c.state for c in sup.snapshot().children] == [ChildState.STOPPED]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sup.run)
            await trio.sleep(0.5)
            snap = sup.snapshot()
            assert snap.state is SupervisorState.STARTING
            assert snap.children[0].state is ChildState.STARTING
            await trio.sleep(1)
            snap = sup.snapshot()
            assert snap.state is SupervisorState.RUNNING
            assert (snap.children[0].state, snap.children[0].started_at) == (
                ChildState.RUNNING,
                1.0,
            )
            await sup.stop()
        final = sup.snapshot()
        assert final.state is SupervisorState.STOPPED
        assert final.children[0].state is ChildState.STOPPED
        assert final.children[0].last_exit == "normal"

    def test_snapshots_are_structs_outside_trio_too(self, toys):
        snap = Supervisor("s", [toys.spec("a")]).snapshot()
        assert isinstance(snap, SupervisorSnapshot)
        assert msgspec.json.decode(msgspec.json.encode(snap), type=SupervisorSnapshot) == snap
