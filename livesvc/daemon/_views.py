"""Session records and live sessions as the admin API shows them."""

from __future__ import annotations

import time

from livesvc.admin import SessionView
from livesvc.gateway._session import GatewaySession
from livesvc.gateway._tokens import format_time
from livesvc.store import SessionRecord

__all__ = ["live_view", "stored_view"]


def live_view(session: GatewaySession, *, now: float | None = None) -> SessionView:
    """A running session: its record plus what only the live actor knows."""
    record = session.record
    now = time.time() if now is None else now
    return SessionView(
        session_id=session.id,
        principal=record.principal,
        profile=record.profile,
        model=record.model,
        status=session.status,
        created_at=format_time(record.created_at),
        updated_at=format_time(record.updated_at),
        duration_seconds=round(max(0.0, now - record.created_at), 3),
        client_connected=session.link is not None,
        resumable=record.upstream_handle is not None,
        turns=record.turns,
        upstream_resumes=record.upstream_resumes,
        upstream_reconnects=session.upstream_reconnects,
        context_losses=session.context_losses,
        last_context_loss=session.last_context_loss,
        budget_exceeded=session.metering.budget_exceeded if session.metering else None,
        client_resumes=record.client_resumes,
        restarts=session.restarts(),
        last_close_code=session.last_close_code,
        last_close_reason=session.last_close_reason,
    )


def stored_view(record: SessionRecord, *, now: float | None = None) -> SessionView:
    """A session known only from the store (closed, or detached before a restart)."""
    now = time.time() if now is None else now
    end = record.closed_at if record.closed_at is not None else now
    resumable = (
        record.status != "closed"
        and record.upstream_handle is not None
        and (record.handle_expires_at is None or record.handle_expires_at > now)
    )
    return SessionView(
        session_id=record.session_id,
        principal=record.principal,
        profile=record.profile,
        model=record.model,
        status=record.status,
        created_at=format_time(record.created_at),
        updated_at=format_time(record.updated_at),
        duration_seconds=round(max(0.0, end - record.created_at), 3),
        client_connected=False,
        resumable=resumable,
        turns=record.turns,
        upstream_resumes=record.upstream_resumes,
        client_resumes=record.client_resumes,
        last_close_code=record.last_close_code,
        last_close_reason=record.last_close_reason,
    )
