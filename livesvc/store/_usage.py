"""Usage as the store keeps it: an amount per day, key, profile, model and metric.

Rows are added to (never overwritten), so every worker and every fleet node can
write its own deltas; reading sums them. Days are UTC dates (``2026-12-03``).

Example::

    rows = [UsageRow(day="2026-12-03", key="k0", profile="default",
                     model="gemini-3.8-live", metric="tokens.input.TEXT", amount=12)]
    await store.add_usage(rows)
    await store.usage_rows(key="k0", since="2026-12-01", until="2026-12-03")
"""

from __future__ import annotations

import sqlite3

import msgspec

__all__ = ["USAGE_SCHEMA", "UsageRow", "add_usage", "usage_rows"]

USAGE_SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    day      TEXT NOT NULL,
    key      TEXT NOT NULL,
    profile  TEXT NOT NULL,
    model    TEXT NOT NULL,
    metric   TEXT NOT NULL,
    amount   REAL NOT NULL,
    PRIMARY KEY (day, key, profile, model, metric)
);
"""


class UsageRow(msgspec.Struct, frozen=True, kw_only=True):
    """One amount (tokens, seconds, a count) on one UTC day."""

    day: str
    key: str
    profile: str
    model: str
    metric: str
    amount: float


def add_usage(conn: sqlite3.Connection, rows: list[UsageRow]) -> None:
    """Add ``rows`` to what is stored, in one transaction."""
    with conn:
        conn.executemany(
            "INSERT INTO usage VALUES (:day, :key, :profile, :model, :metric, :amount) "
            "ON CONFLICT(day, key, profile, model, metric) "
            "DO UPDATE SET amount = amount + excluded.amount",
            [msgspec.structs.asdict(r) for r in rows],
        )


def usage_rows(conn: sqlite3.Connection, key: str | None, since: str, until: str) -> list[UsageRow]:
    """Rows from ``since`` to ``until`` (days, inclusive), of one key or all."""
    query = "SELECT day, key, profile, model, metric, amount FROM usage WHERE day >= ? AND day <= ?"
    params: list[str] = [since, until]
    if key is not None:
        query += " AND key = ?"
        params.append(key)
    return [
        UsageRow(day=r[0], key=r[1], profile=r[2], model=r[3], metric=r[4], amount=r[5])
        for r in conn.execute(query + " ORDER BY day, key, profile, model, metric", params)
    ]
