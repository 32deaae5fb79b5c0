"""The handle-offer protocol: a client holds a daemon handle only once it is durable.

The upstream's resumable ``sessionResumptionUpdate`` is taken out of the frame
the client gets. Its upstream handle is persisted (with a daemon handle, the
first time a link asks), and the client's own update, carrying the daemon
handle, goes out only after the store committed that batch: a handle a client
holds resumes even after a ``kill -9``, and frames without a handle never wait
for the store. A non-resumable update passes on as ``resumable: false``.

The session actor owns an instance; the store writer's "committed" callback is
posted to the actor's mailbox (``post``), so only the actor changes state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from livesvc.gateway._commands import HandleCommitted
from livesvc.gateway._link import ClientLink
from livesvc.wire import ServerMessage, SessionResumptionUpdate, encode_server

__all__ = ["HandleOffer"]


class HandleOffer:
    """See the module docstring.

    Args:
        link: the attached client's link now (or ``None``).
        persist: writes record changes (``issue_handle`` asks for a daemon handle);
            returns the store writer's ticket.
        post: posts a command to the session actor's mailbox (never waits).
        deliver: hands a frame to the attached client.
        handle_ttl: seconds an upstream handle stays usable.
        wall_clock: Unix time.
    """

    def __init__(
        self,
        *,
        link: Callable[[], ClientLink | None],
        persist: Callable[..., Any],
        post: Callable[[Any], None],
        deliver: Callable[[bytes], None],
        handle_ttl: float,
        wall_clock: Callable[[], float],
    ) -> None:
        self._link = link
        self._persist = persist
        self._post = post
        self._deliver = deliver
        self._ttl = handle_ttl
        self._wall = wall_clock

    def upstream_update(
        self, update: SessionResumptionUpdate
    ) -> tuple[SessionResumptionUpdate | None, bool]:
        """The update the client may see now, and whether a new upstream handle was stored."""
        now = self._wall()
        if update.resumable and update.new_handle:
            self.offer(
                upstream_handle=update.new_handle,
                handle_expires_at=now + self._ttl,
                updated_at=now,
            )
            return None, True
        link = self._link()
        if link is None or not link.wants_resumption:
            return None, False
        return SessionResumptionUpdate(new_handle=None, resumable=False), False

    def offer(self, **changes: Any) -> None:
        """Persist ``changes``; the attached client gets its daemon handle once they are durable."""
        link = self._link()
        wants = link is not None and link.wants_resumption
        issue = link is not None and wants and link.handle is None and not link.handle_requested
        ticket = self._persist(issue_handle=issue, **changes)
        if link is not None and wants:
            link.handle_requested = link.handle_requested or issue
            # Called in the store writer's task: the actor takes it from there.
            ticket.on_done(lambda t: self._post(HandleCommitted(link=link, ticket=t)))

    def committed(self, link: ClientLink, ticket: Any) -> bool:
        """The batch is durable: the client's update goes out; ``True`` when one was sent."""
        if link.handle is None and ticket.handle is not None:
            link.handle = ticket.handle
        if link.handle is None:
            link.handle_requested = False  # the write failed: the next update asks again
        if not ticket.ok or link.handle is None or link is not self._link():
            return False
        if link.closing.is_set():
            return False
        self._deliver(
            encode_server(
                ServerMessage(
                    session_resumption_update=SessionResumptionUpdate(
                        new_handle=link.handle, resumable=True
                    )
                )
            )
        )
        return True
