"""The handle-offer protocol: a client gets its daemon handle only once it is durable.

A client that asked for ``sessionResumption`` gets a ``sessionResumptionUpdate``
carrying a daemon handle (never the upstream's) after the store batch holding
the newest upstream handle (and, the first time, the daemon handle itself) is
committed: a handle a client holds resumes even after a ``kill -9``. Frames not
carrying a handle never wait for the store. The state lives on the
:class:`ClientLink` (one offer per attachment); the session persists and
delivers.

Example::

    issue = needs_issue(link)
    ticket = persist(issue_handle=issue, ...)
    offered(link, issue)
    # later, in the session's task, for the committed ticket:
    update = committed(link, ticket, attached=session.link)
"""

from __future__ import annotations

from livesvc.gateway._link import ClientLink
from livesvc.store import Ticket
from livesvc.wire import SessionResumptionUpdate

__all__ = ["committed", "needs_issue", "offered"]


def needs_issue(link: ClientLink | None) -> bool:
    """This write must issue the link's daemon handle (none yet, none on its way)."""
    return (
        link is not None
        and link.wants_resumption
        and link.handle is None
        and not link.handle_requested
    )


def offered(link: ClientLink, issue: bool) -> None:
    """A write for ``link`` was submitted (issuing its handle when ``issue``)."""
    link.handle_requested = link.handle_requested or issue


def committed(
    link: ClientLink, ticket: Ticket, *, attached: ClientLink | None
) -> SessionResumptionUpdate | None:
    """The update to send ``link`` now that ``ticket``'s batch is done, if any.

    A failed write clears the request, so the next upstream update asks again;
    a link that is no longer attached gets nothing.
    """
    if link.handle is None and ticket.handle is not None:
        link.handle = ticket.handle
    if link.handle is None:
        link.handle_requested = False
    if not ticket.ok or link.handle is None or link is not attached:
        return None
    return SessionResumptionUpdate(new_handle=link.handle, resumable=True)
