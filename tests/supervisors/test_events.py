"""Every start, exit, restart, escalation and shutdown is a structlog event."""

from __future__ import annotations

import pytest
import structlog
import trio

from supervisors import Backoff, DynamicSupervisor, RestartIntensityExceeded, Supervisor

KEYS = ("event", "supervisor", "child", "incarnation", "reason", "outcome", "delay", "grace")


def project(events, *, keys=KEYS):
    """The events of the supervisors package, reduced to the keys under test."""
    return [
        {k: e[k] for k in keys if k in e}
        for e in events
        if e["event"].startswith(("child.", "supervisor."))
    ]


class TestLifecycleEvents:
    async def test_start_exit_restart_escalation_and_shutdown(self, autojump_clock, toys, logs):
        sup = Supervisor(
            "sess",
            [
                toys.spec("conn", default=toys.crash(1.0)),
                toys.spec("ping", shutdown=None),
            ],
            intensity=1,
            period=100,
            backoff=Backoff(first=2, jitter=0),
        )
        with pytest.raises(RestartIntensityExceeded):
            await sup.run()
        boom = "Boom('crash')"
        assert project(logs) == [
            {
                "event": "child.started",
                "supervisor": "sess",
                "child": "conn",
                "incarnation": 1,
                "reason": "start",
            },
            {
                "event": "child.started",
                "supervisor": "sess",
                "child": "ping",
                "incarnation": 1,
                "reason": "start",
            },
            {"event": "supervisor.started", "supervisor": "sess"},
            {
                "event": "child.exited",
                "supervisor": "sess",
                "child": "conn",
                "incarnation": 1,
                "reason": boom,
                "outcome": "error",
            },
            {
                "event": "child.restarting",
                "supervisor": "sess",
                "child": "conn",
                "incarnation": 2,
                "reason": boom,
                "delay": 2.0,
            },
            {
                "event": "child.started",
                "supervisor": "sess",
                "child": "conn",
                "incarnation": 2,
                "reason": "restart",
            },
            {
                "event": "child.exited",
                "supervisor": "sess",
                "child": "conn",
                "incarnation": 2,
                "reason": boom,
                "outcome": "error",
            },
            {
                "event": "supervisor.escalating",
                "supervisor": "sess",
                "child": "conn",
                "incarnation": 2,
                "reason": boom,
            },
            {"event": "supervisor.stopping", "supervisor": "sess", "reason": "escalated"},
            {
                "event": "child.stopping",
                "supervisor": "sess",
                "child": "ping",
                "incarnation": 1,
                "reason": "escalated",
                "grace": None,
            },
            {
                "event": "child.killed",
                "supervisor": "sess",
                "child": "ping",
                "incarnation": 1,
                "reason": "escalated",
                "grace": None,
            },
            {
                "event": "child.exited",
                "supervisor": "sess",
                "child": "ping",
                "incarnation": 1,
                "reason": "killed",
                "outcome": "killed",
            },
            {"event": "supervisor.stopped", "supervisor": "sess", "reason": "escalated"},
        ]
        crash = next(e for e in logs if e["event"] == "child.exited")
        assert crash["exc_info"] is toys.errors[0]
        assert crash["uptime"] == 1.0
        assert crash["log_level"] == "warning"
        escalation = next(e for e in logs if e["event"] == "supervisor.escalating")
        assert (escalation["intensity"], escalation["period"], escalation["log_level"]) == (
            1,
            100,
            "error",
        )

    async def test_start_failure_is_logged_with_its_reason(self, autojump_clock, toys, logs):
        sup = DynamicSupervisor("sessions", max_children=2)
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            with pytest.raises(Exception, match="failed to start"):
                await sup.start_child(toys.spec("s1", toys.fail_start()))
            await sup.stop()
        (failed,) = [e for e in logs if e["event"] == "child.start_failed"]
        assert (failed["supervisor"], failed["child"], failed["incarnation"]) == (
            "sessions",
            "s1",
            1,
        )
        assert failed["reason"] == "Boom('fail_start')"
        assert failed["exc_info"] is toys.errors[0]

    async def test_grace_expiry_is_logged_as_a_kill(self, autojump_clock, toys, logs):
        sup = Supervisor("s", [toys.spec("deaf", toys.forever(graceful=False), shutdown=3.0)])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.stop()
        stop_events = [
            (e["event"], e.get("grace"), e.get("outcome"))
            for e in logs
            if e["event"] in ("child.stopping", "child.killed", "child.exited")
        ]
        assert stop_events == [
            ("child.stopping", 3.0, None),
            ("child.killed", 3.0, None),
            ("child.exited", None, "killed"),
        ]


class TestContext:
    async def test_children_log_with_actor_incarnation_and_the_callers_context(
        self, autojump_clock, toys, logs
    ):
        """Context bound around the start reaches every incarnation, restarts included."""
        sup = Supervisor(
            "sess", [toys.spec("conn", toys.crash(1.0))], backoff=Backoff(first=0, jitter=0)
        )
        async with trio.open_nursery() as nursery:
            with structlog.contextvars.bound_contextvars(session_id="S-1"):
                await nursery.start(sup.run)
            await trio.sleep(2)
            await sup.stop()
        own = [
            (e["session_id"], e["actor"], e["incarnation"])
            for e in logs
            if e["event"] == "toy.ready"
        ]
        assert own == [("S-1", "conn", 1), ("S-1", "conn", 2)]
        restarting = next(e for e in logs if e["event"] == "child.restarting")
        assert restarting["session_id"] == "S-1"
