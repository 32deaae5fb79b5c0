"""The reconnector: decides whether to resume now, back off, hand over, or give up.

It reacts to what the connection reports:

- ``LinkDown``: the close is classified (``_close_codes``). Transient and
  rate-limited closes are resumed with the latest handle after a backoff (the
  first retry fast, rate limits slower), at most ``max_attempts`` times in a row;
  a connection that lived ``stable_after`` seconds resets the count. A fatal
  config close stops the session with a clear error, except once when a
  *resume* was refused during setup: then a fresh session is tried (the context
  is lost, and the owner is told). An auth close refreshes the credential once.
- ``GoAwayNoticed``: the server will close the connection. The reconnector waits
  for a turn boundary (nothing generating, no tool call pending, the ledger
  covered by the handle) or for the deadline minus a margin, then asks the
  connection to close gracefully and dials again at once: Google rejects a
  resume while the old socket is still open, and waiting any longer only widens
  the gap.

Its counters live in the session core, so a restart of this actor neither resets
the backoff nor loses its place.
"""

from __future__ import annotations

import trio

from livesvc.auth import AuthError
from livesvc.logs import get_logger
from livesvc.session._close_codes import CloseClass
from livesvc.session._core import SessionCore
from livesvc.session._decide import Next, ReconnectState
from livesvc.session._envelopes import (
    CloseLink,
    Dial,
    GoAwayNoticed,
    LinkDown,
    LinkEnd,
    LinkEvent,
    LinkPhase,
    LinkUp,
)
from livesvc.session._errors import SessionFailed
from supervisors import ChildContext

__all__ = ["ReconnectorActor"]

log = get_logger(__name__)


class ReconnectorActor:
    """See the module docstring."""

    def __init__(self, core: SessionCore, state: ReconnectState) -> None:
        self._core = core
        self._state = state
        self._handovers: dict[int, trio.CancelScope] = {}

    async def run(
        self, ctx: ChildContext, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        core = self._core
        with core.link_events.receiver() as events:
            task_status.started()
            with ctx.cancel_on_stop():
                async with trio.open_nursery() as nursery:
                    if not self._dial_pending() and not self._stopping():
                        self._dial()
                    pending = core.go_away
                    if pending is not None and pending.generation == core.link_generation:
                        await self._handle(pending, nursery)  # re-arm a handover after a restart
                    async for event in events:
                        await self._handle(event, nursery)

    def _dial_pending(self) -> bool:
        # A connection is up or being dialled, or a Dial we sent waits in its
        # mailbox (we restarted right after sending it): dialling again would be twice.
        core = self._core
        return core.link_phase is not LinkPhase.DOWN or self._state.dials > core.generation

    def _stopping(self) -> bool:
        return self._core.closing or self._core.status.terminal

    async def _handle(self, event: LinkEvent, nursery: trio.Nursery) -> None:
        if isinstance(event, LinkUp):
            pass  # the core records when the connection came up
        elif isinstance(event, GoAwayNoticed):
            if (
                event.generation == self._core.link_generation
                and event.generation not in self._handovers
            ):
                scope = trio.CancelScope()
                self._handovers[event.generation] = scope
                nursery.start_soon(self._handover, event, scope)
        elif isinstance(event, LinkDown):
            pending = self._handovers.pop(event.generation, None)
            if pending is not None:
                pending.cancel()
            if event.generation == self._core.generation:  # older dials are history
                await self._on_down(event)

    async def _handover(self, notice: GoAwayNoticed, scope: trio.CancelScope) -> None:
        core = self._core
        policy = core.prepared.config.reconnect
        with scope:
            with trio.move_on_at(notice.deadline - policy.handover_margin):
                await core.wait_for(lambda: core.idle or core.link_generation != notice.generation)
            if core.link_generation != notice.generation or self._stopping():
                return
            log.info(
                "reconnector.handover",
                generation=notice.generation,
                at_turn_boundary=core.idle,
                time_left=round(notice.deadline - trio.current_time(), 3),
            )
            self._state.handovers += 1
            core.control.send_nowait(
                CloseLink(generation=notice.generation, reason="goAway handover", handover=True)
            )

    def _dial(self, *, fresh_reason: str = "") -> None:
        core = self._core
        handle = core.handle if core.prepared.resumption and not fresh_reason else None
        fresh = bool(fresh_reason) or (handle is None and core.connections > 0)
        if fresh and not fresh_reason:
            fresh_reason = (
                "resumption is off" if not core.prepared.resumption else "no resumable handle yet"
            )
        if fresh and core.conversation_started and core.prepared.config.context_loss == "fail":
            core.lose_conversation(fresh_reason)
            return
        self._state.dials += 1
        core.control.send_nowait(Dial(handle=handle, fresh=fresh, reason=fresh_reason))

    def _fail(self, message: str, end: LinkEnd) -> None:
        self._core.fail(
            SessionFailed(message, close_class=end.close_class, code=end.code, reason=end.reason)
        )

    async def _on_down(self, event: LinkDown) -> None:
        core, state = self._core, self._state
        end = event.end
        decision = core.decide(event.generation, end)
        if decision.next is Next.STOP:
            return
        state.reconnects += 1
        if core.link_was_stable(event.generation):
            state.attempt = 0
            state.auth_refreshed = False
        match decision.next:
            case Next.DIAL:
                log.info("reconnector.resuming", reason="handover", generation=event.generation)
                self._dial()
            case Next.FRESH:
                state.fresh_fallback_used = True
                log.warning("reconnector.resume_refused", code=end.code, reason=end.reason)
                self._dial(fresh_reason=decision.reason)
            case Next.FAIL:
                self._fail(decision.reason, end)
            case Next.REFRESH_AUTH:
                await self._refresh_and_dial(decision.reason, end)
            case Next.BACK_OFF:
                await self._back_off(end)

    async def _refresh_and_dial(self, close: str, end: LinkEnd) -> None:
        self._state.auth_refreshed = True
        try:
            refreshed = await self._core.prepared.auth.refresh()
        except AuthError as exc:
            self._fail(f"authentication failed: {close}; credential refresh failed: {exc}", end)
            return
        if self._stopping():
            return
        if not refreshed:
            self._fail(f"authentication failed (not retried): {close}", end)
            return
        log.info("reconnector.credentials_refreshed")
        self._dial()

    async def _back_off(self, end: LinkEnd) -> None:
        core, state = self._core, self._state
        policy = core.prepared.config.reconnect
        delay = policy.delay(
            state.attempt, rate_limited=end.close_class is CloseClass.RATE_LIMITED, rng=core.rng
        )
        state.attempt += 1
        log.info(
            "reconnector.backing_off",
            attempt=state.attempt,
            delay=round(delay, 3),
            close_class=end.close_class.value if end.close_class else None,
            code=end.code,
        )
        await trio.sleep(delay)
        if not self._stopping():
            self._dial()
