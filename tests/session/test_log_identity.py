"""The session's log lines: one id on every line, one summary line at the end (or none)."""

from __future__ import annotations

from typing import Any

import structlog
import trio
from structlog.testing import capture_logs

from livesvc.emulator import Emulator
from livesvc.session import open_session

from .conftest import options


def session_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lines the session wrote (the emulator in the same process logs too)."""
    return [line for line in logs if str(line.get("module", "")).startswith("livesvc.session")]


async def test_default_lines_share_a_random_id_and_end_with_session_closed(
    emulator: Emulator,
) -> None:
    """Without an id, the session makes one up, binds it and writes one session.closed line."""
    with (
        trio.fail_after(10),
        capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs,
    ):
        async with open_session(**options(emulator)) as session:
            await session.send_text("hello")
            await session.wait_turn_complete()
    lines = session_lines(logs)
    assert {line.get("session_id") for line in lines} == {session.local_id}
    (closed,) = [line for line in lines if line["event"] == "session.closed"]
    assert (closed["status"], closed["connections"], closed["undelivered"]) == ("closed", 1, 0)
    assert set(closed["restarts"]) == {"connection", "pinger", "reconnector", "tool_executor"}


async def test_an_owner_id_is_bound_on_every_line_and_the_summary_left_to_the_owner(
    emulator: Emulator,
) -> None:
    """session_id= names every line; summary_log=False writes no session.closed; summary() has it."""
    with (
        trio.fail_after(10),
        capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs,
    ):
        async with open_session(
            **options(emulator), session_id="owner-42", summary_log=False
        ) as session:
            await session.send_text("hello")
            await session.wait_turn_complete()
    lines = session_lines(logs)
    assert {"session.opening", "session.connected", "session.status"} <= {
        line["event"] for line in lines
    }
    assert {line.get("session_id") for line in lines} == {"owner-42"}
    assert session.local_id == "owner-42"
    assert not [line for line in logs if line["event"] == "session.closed"]
    summary = session.summary()
    assert (summary["status"], summary["connections"], summary["undelivered"]) == ("closed", 1, 0)
    assert summary["duration"] > 0
