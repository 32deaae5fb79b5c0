"""Blocking SQLite operations. Each runs in the store's worker thread, in one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from livesvc._private import private_file
from livesvc.store._records import RecordStatus, SessionRecord, TokenRecord
from livesvc.store._usage import USAGE_SCHEMA

__all__ = [
    "SCHEMA_VERSION",
    "add_handle",
    "claim_session",
    "connect",
    "detach_owned_by",
    "find_by_handle",
    "get_session",
    "get_token",
    "insert_token",
    "list_sessions",
    "list_tokens",
    "mark_orphans_detached",
    "purge",
    "update_session",
    "upsert_session",
    "use_token",
    "write_sessions",
]

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session_id        TEXT PRIMARY KEY,
    principal         TEXT NOT NULL,
    profile           TEXT NOT NULL,
    model             TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_at        REAL NOT NULL,
    updated_at        REAL NOT NULL,
    setup             BLOB NOT NULL,
    closed_at         REAL,
    upstream_handle   TEXT,
    handle_expires_at REAL,
    turns             INTEGER NOT NULL DEFAULT 0,
    upstream_resumes  INTEGER NOT NULL DEFAULT 0,
    client_resumes    INTEGER NOT NULL DEFAULT 0,
    last_close_code   INTEGER,
    last_close_reason TEXT,
    owner             TEXT
);
CREATE INDEX IF NOT EXISTS sessions_by_status ON sessions (status, updated_at);
CREATE TABLE IF NOT EXISTS handles (
    digest      TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
    created_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS handles_by_session ON handles (session_id);
CREATE TABLE IF NOT EXISTS tokens (
    digest                  TEXT PRIMARY KEY,
    token_id                TEXT NOT NULL UNIQUE,
    profile                 TEXT NOT NULL,
    principal               TEXT NOT NULL,
    created_at              REAL NOT NULL,
    expire_time             REAL NOT NULL,
    new_session_expire_time REAL NOT NULL,
    uses                    INTEGER NOT NULL,
    uses_left               INTEGER,
    setup                   BLOB NOT NULL,
    field_mask              TEXT
);
"""

_SESSION_COLUMNS = tuple(SessionRecord.__struct_fields__)
_TOKEN_COLUMNS = tuple(TokenRecord.__struct_fields__)
_UPDATABLE = frozenset(_SESSION_COLUMNS) - {"session_id", "created_at", "owner"}
# A record write applies only while its writer still owns the row (see claim_session):
# a worker that handed a session over cannot overwrite the new owner's state.
_UPSERT = (
    "INSERT INTO sessions ({columns}) VALUES ({marks}) "
    "ON CONFLICT(session_id) DO UPDATE SET {updates} WHERE sessions.owner IS excluded.owner"
).format(
    columns=", ".join(_SESSION_COLUMNS),
    marks=", ".join(f":{c}" for c in _SESSION_COLUMNS),
    updates=", ".join(f"{c} = excluded.{c}" for c in _SESSION_COLUMNS if c in _UPDATABLE),
)


def connect(path: str, *, synchronous: str, busy_timeout: float) -> sqlite3.Connection:
    """Open (creating if needed) the database in WAL mode and bring its schema up to date."""
    if path != ":memory:":
        # Created 0600 in a 0700 folder before SQLite opens it: SQLite gives its
        # -wal and -shm files the database file's permissions.
        private_file(path)
    conn = sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL survives a killed process; FULL also survives power loss.
    conn.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
    conn.execute("PRAGMA foreign_keys=ON")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        conn.close()
        raise sqlite3.DatabaseError(
            f"{path} has schema version {version}; this livesvc knows up to {SCHEMA_VERSION}"
        )
    with conn:
        conn.executescript(_SCHEMA)
        conn.executescript(USAGE_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        if "owner" not in columns:  # a version 1 database
            conn.execute("ALTER TABLE sessions ADD COLUMN owner TEXT")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return conn


def _session(row: sqlite3.Row | None) -> SessionRecord | None:
    if row is None:
        return None
    return SessionRecord(**{name: row[name] for name in _SESSION_COLUMNS})


def _token(row: sqlite3.Row | None) -> TokenRecord | None:
    if row is None:
        return None
    return TokenRecord(**{name: row[name] for name in _TOKEN_COLUMNS})


def upsert_session(conn: sqlite3.Connection, record: SessionRecord) -> None:
    with conn:
        conn.execute(_UPSERT, msgspec.structs.asdict(record))


def write_sessions(
    conn: sqlite3.Connection,
    records: Sequence[SessionRecord],
    handles: Sequence[tuple[str, str, float]],
) -> None:
    """Upsert many session records and add daemon handles (session, digest, time): one transaction."""
    if not records and not handles:
        return
    with conn:
        conn.executemany(_UPSERT, [msgspec.structs.asdict(r) for r in records])
        conn.executemany(
            "INSERT INTO handles (session_id, digest, created_at) VALUES (?, ?, ?)", handles
        )


def update_session(
    conn: sqlite3.Connection, session_id: str, changes: Mapping[str, Any]
) -> SessionRecord | None:
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    if not changes:
        return get_session(conn, session_id)
    assignments = ", ".join(f"{c} = :{c}" for c in changes)
    with conn:
        row = conn.execute(
            f"UPDATE sessions SET {assignments} WHERE session_id = :session_id RETURNING *",
            {**changes, "session_id": session_id},
        ).fetchone()
    return _session(row)


def add_handle(conn: sqlite3.Connection, session_id: str, handle_digest: str, now: float) -> None:
    """Register one more daemon handle for a session; earlier ones stay valid (as Google's do)."""
    with conn:
        conn.execute(
            "INSERT INTO handles (digest, session_id, created_at) VALUES (?, ?, ?)",
            (handle_digest, session_id, now),
        )


def get_session(conn: sqlite3.Connection, session_id: str) -> SessionRecord | None:
    return _session(
        conn.execute("SELECT * FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
    )


def find_by_handle(
    conn: sqlite3.Connection, handle_digest: str, now: float
) -> SessionRecord | None:
    """The session a daemon handle names, unless it is closed or its handle has expired."""
    row = conn.execute(
        "SELECT sessions.* FROM handles JOIN sessions USING (session_id) "
        "WHERE handles.digest = ? AND sessions.status != 'closed' "
        "AND (sessions.handle_expires_at IS NULL OR sessions.handle_expires_at > ?)",
        (handle_digest, now),
    ).fetchone()
    return _session(row)


def list_sessions(
    conn: sqlite3.Connection, statuses: Iterable[RecordStatus] | None, limit: int
) -> list[SessionRecord]:
    if statuses is None:
        rows = conn.execute(
            "SELECT * FROM sessions ORDER BY created_at DESC LIMIT ?", (limit,)
        ).fetchall()
    else:
        wanted = list(statuses)
        marks = ", ".join("?" for _ in wanted)
        rows = conn.execute(
            f"SELECT * FROM sessions WHERE status IN ({marks}) ORDER BY created_at DESC LIMIT ?",
            (*wanted, limit),
        ).fetchall()
    return [r for r in map(_session, rows) if r is not None]


def claim_session(
    conn: sqlite3.Connection, session_id: str, owner: str | None, expected: str | None
) -> bool:
    """Make ``owner`` the owner of a session still owned by ``expected``; False if it is not.

    One transaction: of several processes claiming from the same previous
    owner, exactly one succeeds. A closed session cannot be claimed.
    """
    with conn:
        cursor = conn.execute(
            "UPDATE sessions SET owner = ? WHERE session_id = ? AND owner IS ? "
            "AND status != 'closed'",
            (owner, session_id, expected),
        )
    return cursor.rowcount == 1


def detach_owned_by(conn: sqlite3.Connection, owner: str, now: float) -> int:
    """A worker process is gone: its ``active`` sessions have no client any more."""
    with conn:
        cursor = conn.execute(
            "UPDATE sessions SET status = 'detached', updated_at = ? "
            "WHERE owner = ? AND status = 'active'",
            (now, owner),
        )
    return cursor.rowcount


def mark_orphans_detached(conn: sqlite3.Connection, now: float) -> int:
    """After a restart no session has a client: ``active`` becomes ``detached``."""
    with conn:
        cursor = conn.execute(
            "UPDATE sessions SET status = 'detached', updated_at = ? WHERE status = 'active'",
            (now,),
        )
    return cursor.rowcount


def insert_token(conn: sqlite3.Connection, digest: str, record: TokenRecord) -> None:
    values = {**msgspec.structs.asdict(record), "digest": digest}
    columns = ", ".join(("digest", *_TOKEN_COLUMNS))
    marks = ", ".join(f":{c}" for c in ("digest", *_TOKEN_COLUMNS))
    with conn:
        conn.execute(f"INSERT INTO tokens ({columns}) VALUES ({marks})", values)


def get_token(conn: sqlite3.Connection, digest: str) -> TokenRecord | None:
    return _token(conn.execute("SELECT * FROM tokens WHERE digest = ?", (digest,)).fetchone())


def list_tokens(conn: sqlite3.Connection, now: float) -> list[TokenRecord]:
    rows = conn.execute(
        "SELECT * FROM tokens WHERE expire_time > ? ORDER BY created_at DESC", (now,)
    ).fetchall()
    return [t for t in map(_token, rows) if t is not None]


def use_token(conn: sqlite3.Connection, digest: str, now: float) -> TokenRecord | None:
    """Spend one use of a token to open a new session, atomically; ``None`` if it cannot be used."""
    with conn:
        row = conn.execute(
            "UPDATE tokens SET uses_left = CASE WHEN uses_left IS NULL THEN NULL ELSE uses_left - 1 END "
            "WHERE digest = ? AND expire_time > ? AND new_session_expire_time > ? "
            "AND (uses_left IS NULL OR uses_left > 0) RETURNING *",
            (digest, now, now),
        ).fetchone()
    return _token(row)


def purge(conn: sqlite3.Connection, now: float, keep_closed_seconds: float) -> tuple[int, int]:
    """Delete expired tokens, and closed or expired sessions older than the retention period."""
    with conn:
        tokens = conn.execute("DELETE FROM tokens WHERE expire_time <= ?", (now,)).rowcount
        sessions = conn.execute(
            "DELETE FROM sessions WHERE updated_at <= ? AND "
            "(status = 'closed' OR (handle_expires_at IS NOT NULL AND handle_expires_at <= ?))",
            (now - keep_closed_seconds, now),
        ).rowcount
    return tokens, sessions
