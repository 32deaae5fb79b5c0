"""Emulated sessions and their resumption handles.

A session outlives its connections: its context (the number of user turns) is
captured in a handle at every turn boundary, and a handle restores that context on
a new connection for ``handle_lifetime`` seconds after it was issued.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable

import msgspec
import trio

from livesvc.emulator._catalogue import ModelSpec
from livesvc.emulator._faults import ConnectionControl
from livesvc.emulator._persist import HANDLES_PER_SESSION, HandleRow, digest

__all__ = ["EmulatedSession", "HandleRecord", "SessionInfo", "SessionRegistry", "SessionState"]


class SessionState:
    """What an emulated session is doing."""

    IDLE = "idle"
    GENERATING = "generating"
    AWAITING_TOOL = "awaiting_tool"
    DISCONNECTED = "disconnected"


class SessionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the session listing (``Emulator.sessions()``, ``GET /_emulator/sessions``).

    Attributes:
        session_id: the id sent in ``setupComplete.sessionId``.
        model: the bare model id.
        backend: ``"gemini"`` or ``"vertex"``.
        turns: user turns in the session's context (the N of ``echo #N``).
        state: ``idle``, ``generating``, ``awaiting_tool`` or ``disconnected``.
        connected: whether a connection serves it now.
        connections: connections it has had (1 + resumptions).
        resumable: whether it has an unexpired resumption handle.
    """

    session_id: str
    model: str
    backend: str
    turns: int
    state: str
    connected: bool
    connections: int
    resumable: bool


class HandleRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What a resumption handle restores."""

    session_id: str
    model: str
    turns: int
    expires_at: float


class EmulatedSession:
    """The state of one emulated session, shared by its successive connections."""

    def __init__(self, session_id: str, model: ModelSpec, backend: str) -> None:
        self.id = session_id
        self.model = model
        self.backend = backend
        self.turns = 0
        self.state = SessionState.IDLE
        self.connection: ConnectionControl | None = None
        self.detached = trio.Event()
        self.connections = 0
        self.handles: deque[str] = deque()
        self.last_handle_expiry = -1.0


class SessionRegistry:
    """Sessions by id, handles by digest; times come from ``clock`` (trio's by default).

    A handle is kept as its SHA-256 digest (as the state file keeps it), so
    sessions restored from the file resolve like live ones.
    """

    def __init__(
        self, handle_lifetime: float, clock: Callable[[], float] = trio.current_time
    ) -> None:
        self._handle_lifetime = handle_lifetime
        self._clock = clock
        self._sessions: dict[str, EmulatedSession] = {}
        self._handles: dict[str, HandleRecord] = {}

    def create(self, model: ModelSpec, backend: str) -> EmulatedSession:
        """A new session with an empty context."""
        self._purge()
        session = EmulatedSession("emu-" + secrets.token_hex(8), model, backend)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> EmulatedSession | None:
        """The session with this id, if it is still known."""
        return self._sessions.get(session_id)

    def attach(self, session: EmulatedSession, connection: ConnectionControl) -> None:
        """``connection`` now serves ``session``."""
        session.connection = connection
        session.detached = trio.Event()
        session.connections += 1
        session.state = SessionState.IDLE
        self._sessions[session.id] = session

    def detach(self, session: EmulatedSession, connection: ConnectionControl) -> None:
        """``connection`` is over; the session lives on while a handle can resume it."""
        if session.connection is not connection:
            return
        session.connection = None
        session.state = SessionState.DISCONNECTED
        session.detached.set()
        if session.last_handle_expiry <= self._clock():
            self._forget(session)

    def issue_handle(self, session: EmulatedSession) -> str:
        """A new handle capturing the session's context now."""
        handle = secrets.token_urlsafe(24)
        expires = self._clock() + self._handle_lifetime
        self._handles[digest(handle)] = HandleRecord(
            session_id=session.id, model=session.model.name, turns=session.turns, expires_at=expires
        )
        session.handles.append(digest(handle))
        session.last_handle_expiry = expires
        while len(session.handles) > HANDLES_PER_SESSION:
            self._handles.pop(session.handles.popleft(), None)
        return handle

    def resolve(self, handle: str) -> tuple[HandleRecord, EmulatedSession] | None:
        """The record and session a handle restores, or None if unknown or expired."""
        key = digest(handle)
        record = self._handles.get(key)
        if record is None:
            return None
        session = self._sessions.get(record.session_id)
        if record.expires_at <= self._clock() or session is None:
            self._handles.pop(key, None)
            return None
        return record, session

    def row(self, handle: str, *, wall_now: float) -> HandleRow:
        """``handle`` as the state file keeps it (its expiry in wall-clock time)."""
        key = digest(handle)
        record = self._handles[key]
        session = self._sessions[record.session_id]
        return HandleRow(
            digest=key,
            session_id=record.session_id,
            model=record.model,
            backend=session.backend,
            turns=record.turns,
            expires_at=wall_now + (record.expires_at - self._clock()),
        )

    def restore(
        self,
        rows: list[HandleRow],
        models: Callable[[str, str], ModelSpec | None],
        *,
        wall_now: float,
    ) -> int:
        """Bring back sessions from the state file after a restart; returns how many.

        A session comes back with the context of its newest handle; handles of
        models no longer served are skipped.
        """
        now = self._clock()
        for row in sorted(rows, key=lambda r: r.expires_at):
            model = models(row.model, row.backend)
            if model is None:
                continue
            session = self._sessions.get(row.session_id)
            if session is None:
                session = EmulatedSession(row.session_id, model, row.backend)
                session.state = SessionState.DISCONNECTED
                self._sessions[row.session_id] = session
            expires = now + (row.expires_at - wall_now)
            self._handles[row.digest] = HandleRecord(
                session_id=row.session_id, model=row.model, turns=row.turns, expires_at=expires
            )
            session.handles.append(row.digest)
            while len(session.handles) > HANDLES_PER_SESSION:  # a file of an older version
                self._handles.pop(session.handles.popleft(), None)
            session.turns = max(session.turns, row.turns)
            session.last_handle_expiry = max(session.last_handle_expiry, expires)
        return len(self._sessions)

    def connections(self, session_id: str | None = None) -> list[ConnectionControl]:
        """Live connections: of one session, or all."""
        if session_id is not None:
            session = self._sessions.get(session_id)
            live = session.connection if session is not None else None
            return [live] if live is not None else []
        return [s.connection for s in self._sessions.values() if s.connection is not None]

    def sessions(self) -> list[SessionInfo]:
        """Connected sessions, and disconnected ones that can still be resumed."""
        self._purge()
        now = self._clock()
        return [
            SessionInfo(
                session_id=s.id,
                model=s.model.name,
                backend=s.backend,
                turns=s.turns,
                state=s.state,
                connected=s.connection is not None,
                connections=s.connections,
                resumable=s.last_handle_expiry > now,
            )
            for s in self._sessions.values()
        ]

    def _purge(self) -> None:
        now = self._clock()
        for session in list(self._sessions.values()):
            if session.connection is None and session.last_handle_expiry <= now:
                self._forget(session)

    def _forget(self, session: EmulatedSession) -> None:
        self._sessions.pop(session.id, None)
        for handle in session.handles:
            self._handles.pop(handle, None)
        session.handles.clear()
