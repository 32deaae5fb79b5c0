"""supervisors: an OTP-style supervision library on trio.

Session-agnostic building blocks for actor trees: child specs with restart types
and shutdown grace, supervisors with OTP's strategies and intensity window,
backoff with jitter, ordered start and reverse-order stop, dynamic children,
bounded mailboxes with overflow policies, structlog events and JSON-ready
snapshots of the whole tree.

Example::

    import trio

    from supervisors import ChildSpec, Restart, Strategy, Supervisor

    async def actor(ctx, *, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()                  # ready: the supervisor starts the next child
        with ctx.cancel_on_stop():             # the supervisor's "please stop"
            await trio.sleep_forever()

    async def main():
        sup = Supervisor(
            "session",
            [ChildSpec(id="connection", start=actor),
             ChildSpec(id="pinger", start=actor, shutdown=None),
             ChildSpec(id="tools", start=actor, restart=Restart.TRANSIENT)],
            strategy=Strategy.REST_FOR_ONE, intensity=3, period=30,
        )
        async with sup.running():
            assert [c.state for c in sup.which_children()] == ["running"] * 3

    trio.run(main)
"""

from ._backoff import NO_BACKOFF as NO_BACKOFF
from ._backoff import Backoff as Backoff
from ._context import ChildContext as ChildContext
from ._core import SupervisorBase as SupervisorBase
from ._dynamic import DynamicSupervisor as DynamicSupervisor
from ._errors import ChildKilled as ChildKilled
from ._errors import ChildNotFound as ChildNotFound
from ._errors import DuplicateChild as DuplicateChild
from ._errors import RestartIntensityExceeded as RestartIntensityExceeded
from ._errors import StartFailed as StartFailed
from ._errors import SupervisorError as SupervisorError
from ._errors import SupervisorFull as SupervisorFull
from ._errors import SupervisorNotRunning as SupervisorNotRunning
from ._mailbox import Mailbox as Mailbox
from ._mailbox import MailboxFull as MailboxFull
from ._mailbox import MailboxSender as MailboxSender
from ._mailbox import MailboxStats as MailboxStats
from ._mailbox import Overflow as Overflow
from ._restart import Outcome as Outcome
from ._restart import Restart as Restart
from ._restart import Shutdown as Shutdown
from ._restart import classify_exit as classify_exit
from ._restart import should_restart as should_restart
from ._snapshot import ChildSnapshot as ChildSnapshot
from ._snapshot import ChildState as ChildState
from ._snapshot import SupervisorSnapshot as SupervisorSnapshot
from ._snapshot import SupervisorState as SupervisorState
from ._spec import ChildSpec as ChildSpec
from ._spec import ChildStart as ChildStart
from ._supervisor import AutoShutdown as AutoShutdown
from ._supervisor import Strategy as Strategy
from ._supervisor import Supervisor as Supervisor

__all__ = [
    "NO_BACKOFF",
    "AutoShutdown",
    "Backoff",
    "ChildContext",
    "ChildKilled",
    "ChildNotFound",
    "ChildSnapshot",
    "ChildSpec",
    "ChildStart",
    "ChildState",
    "DuplicateChild",
    "DynamicSupervisor",
    "Mailbox",
    "MailboxFull",
    "MailboxSender",
    "MailboxStats",
    "Outcome",
    "Overflow",
    "Restart",
    "RestartIntensityExceeded",
    "Shutdown",
    "StartFailed",
    "Strategy",
    "Supervisor",
    "SupervisorBase",
    "SupervisorError",
    "SupervisorFull",
    "SupervisorNotRunning",
    "SupervisorSnapshot",
    "SupervisorState",
    "classify_exit",
    "should_restart",
]
