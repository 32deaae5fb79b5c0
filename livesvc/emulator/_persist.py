"""The emulator's sessions on disk: a restart (even kill -9) keeps every resumable session.

With a state directory, each resumption handle is committed to SQLite before
the client sees it, so a handle a client holds always resumes after a restart:
the next turn is ``echo #N+1``, not ``echo #1``. What is kept per handle: the
session id, model, backend, the context (user turns) it captures, and its
expiry as wall-clock time. A restart loses only what no handle covered yet (the
turn in flight). Handles are stored as SHA-256 digests, the file is 0600 in a
0700 directory, and an unreadable file (or one with a damaged page) is moved
aside with an error log, never a crash.

All SQLite calls run in a worker thread (``trio.to_thread``), one at a time.

Example::

    store = await SessionFile.open(Path("state"))
    rows = await store.load(now=time.time())
    await store.save(HandleRow(digest=..., session_id=..., model=..., backend=...,
                               turns=2, expires_at=time.time() + 7200), now=time.time())
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import msgspec
import trio

from livesvc._private import private_file
from livesvc.logs import get_logger

__all__ = ["FILE_NAME", "HANDLES_PER_SESSION", "HandleRow", "SessionFile", "digest"]

log = get_logger(__name__)

FILE_NAME = "emulator-sessions.db"

# Handles kept per session, in memory and on disk; older ones are forgotten
# (still plenty to resume from).
HANDLES_PER_SESSION = 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handles (
    digest      TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL,
    model       TEXT NOT NULL,
    backend     TEXT NOT NULL,
    turns       INTEGER NOT NULL,
    expires_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS handles_by_expiry ON handles (expires_at);
"""


def digest(handle: str) -> str:
    """How a handle is stored and looked up (the plain value never is)."""
    return hashlib.sha256(handle.encode("utf-8")).hexdigest()


class HandleRow(msgspec.Struct, frozen=True, kw_only=True):
    """One resumption handle as persisted; ``expires_at`` is Unix wall-clock time."""

    digest: str
    session_id: str
    model: str
    backend: str
    turns: int
    expires_at: float


class SessionFile:
    """The SQLite file of one emulator's sessions; use :meth:`open`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        self._lock = trio.Lock()  # one SQLite call at a time

    @classmethod
    async def open(cls, state_dir: Path) -> SessionFile:
        """Open (or create) the file in ``state_dir``; an unreadable one is moved aside."""
        path = state_dir / FILE_NAME
        conn = await trio.to_thread.run_sync(_connect, path)
        return cls(path, conn)

    async def load(self, *, now: float) -> list[HandleRow]:
        """Every unexpired handle (expired ones are deleted)."""
        async with self._lock:
            return await trio.to_thread.run_sync(_load, self._conn, now)

    async def save(self, row: HandleRow, *, now: float) -> None:
        """Commit one handle (durable when this returns); handles expired at ``now`` go."""
        async with self._lock:
            await trio.to_thread.run_sync(_save, self._conn, row, now)

    async def close(self) -> None:
        with trio.move_on_after(5, shield=True):
            async with self._lock:
                await trio.to_thread.run_sync(self._conn.close)


def _open_checked(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL without an fsync per commit: a commit survives kill -9 (it is in the
        # OS's cache at once), not a power cut; a handle goes out without a disk wait.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        # Every page, not just the header: a damaged page found later, by load(),
        # would stop the emulator instead of starting it afresh.
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {check}")
    except sqlite3.DatabaseError:
        conn.close()
        raise
    return conn


def _connect(path: Path) -> sqlite3.Connection:
    private_file(path)
    try:
        return _open_checked(path)
    except sqlite3.DatabaseError as exc:
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        path.replace(aside)
        log.error("emulator.state_unreadable", path=str(path), moved_to=str(aside), error=str(exc))
        private_file(path)
        return _open_checked(path)


def _load(conn: sqlite3.Connection, now: float) -> list[HandleRow]:
    conn.execute("DELETE FROM handles WHERE expires_at <= ?", (now,))
    rows = conn.execute(
        "SELECT digest, session_id, model, backend, turns, expires_at FROM handles"
    ).fetchall()
    return [
        HandleRow(
            digest=r[0], session_id=r[1], model=r[2], backend=r[3], turns=r[4], expires_at=r[5]
        )
        for r in rows
    ]


def _save(conn: sqlite3.Connection, row: HandleRow, now: float) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT OR REPLACE INTO handles VALUES (?, ?, ?, ?, ?, ?)",
            (row.digest, row.session_id, row.model, row.backend, row.turns, row.expires_at),
        )
        # Expired handles go as new ones come: the file stays the size of what is resumable.
        conn.execute("DELETE FROM handles WHERE expires_at <= ?", (now,))
        # And a session keeps its newest handles only, as in memory: a handle the
        # registry forgot does not come back after a restart.
        conn.execute(
            "DELETE FROM handles WHERE session_id = ? AND digest NOT IN"
            " (SELECT digest FROM handles WHERE session_id = ?"
            " ORDER BY expires_at DESC LIMIT ?)",
            (row.session_id, row.session_id, HANDLES_PER_SESSION),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
