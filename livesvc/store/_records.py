"""What the store keeps: session records and daemon-minted tokens."""

from __future__ import annotations

import hashlib
from typing import Literal

import msgspec

__all__ = ["SessionRecord", "RecordStatus", "TokenRecord", "digest"]

RecordStatus = Literal["active", "detached", "closed"]


def digest(secret: str) -> str:
    """The form in which handles and tokens are stored (the plain value never is)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One gateway session as persisted: enough to resume it after a daemon restart.

    Times are Unix wall-clock seconds (they must mean something after a restart).
    ``setup`` is the merged Live setup sent upstream (JSON), without any handle.
    ``upstream_handle`` is the latest resumable handle from Google; it is never
    shown to clients or through the admin API. ``owner`` names the worker
    process that holds the session (``None`` with one process): it is written
    when the record is first inserted and then only by
    :meth:`Store.claim_session`, and a record write from a process that no
    longer owns the session is ignored.
    """

    session_id: str
    principal: str  # "key:<name>" or "token:<id>"
    profile: str
    model: str
    status: RecordStatus
    created_at: float
    updated_at: float
    setup: bytes = b"{}"
    closed_at: float | None = None
    upstream_handle: str | None = None
    handle_expires_at: float | None = None
    turns: int = 0
    upstream_resumes: int = 0
    client_resumes: int = 0
    last_close_code: int | None = None
    last_close_reason: str | None = None
    owner: str | None = None


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A daemon-minted ephemeral token (shaped like Google's ``auth_tokens``).

    ``token_id`` is a public identifier for listings; the token itself is stored
    only as a digest. ``uses_left`` is ``None`` for unlimited (``uses = 0``).
    ``setup`` holds the locked Live setup fields (JSON) and ``field_mask`` the
    paths they lock (``None``: everything in ``setup`` is locked).
    """

    token_id: str
    profile: str
    principal: str
    created_at: float
    expire_time: float
    new_session_expire_time: float
    uses: int
    uses_left: int | None
    setup: bytes = b"{}"
    field_mask: str | None = None
