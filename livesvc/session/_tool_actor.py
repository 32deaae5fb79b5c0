"""The tool executor actor: the one place tool calls are started and cancelled.

The calls themselves run in the session's :class:`~livesvc.tools.ToolRunner`,
whose nursery the session owns: restarting this actor (after a crash, or when
an earlier actor of the ``rest_for_one`` group restarts) neither cancels a
running call nor loses its answer.
"""

from __future__ import annotations

import trio

from livesvc.session._core import SessionCore
from livesvc.session._envelopes import CancelTools, EndInteraction, RunTools
from livesvc.tools import ToolRunner
from supervisors import ChildContext

__all__ = ["ToolExecutorActor"]


class ToolExecutorActor:
    """Feeds ``RunTools`` / ``CancelTools`` commands to the session's tool runner."""

    def __init__(self, core: SessionCore, runner: ToolRunner) -> None:
        self._core = core
        self._runner = runner

    async def run(
        self, ctx: ChildContext, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with self._core.tool_commands.receiver() as commands:
            task_status.started()
            with ctx.cancel_on_stop():
                async for command in commands:
                    if isinstance(command, RunTools):
                        self._runner.submit(command.call)
                    elif isinstance(command, CancelTools):
                        self._runner.cancel(command.ids)
                    elif isinstance(command, EndInteraction):
                        self._runner.end_interaction()
