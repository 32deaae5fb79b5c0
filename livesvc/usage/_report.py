"""``GET /v1/usage``: totals from the store, grouped as asked.

Example (the JSON the admin API returns)::

    {"since": "2026-12-01", "until": "2026-12-03", "group_by": ["key", "day"],
     "groups": [{"key": "k0", "day": "2026-12-03", "tokens": 42.0,
                 "tokens_by": {"input.TEXT": 12.0, "output.AUDIO": 30.0},
                 "audio_seconds_in": 3.2, "audio_seconds_out": 5.1,
                 "session_seconds": 61.0, "sessions": 2, "turns": 4, "tool_calls": 1}]}
"""

from __future__ import annotations

from typing import Any

from livesvc.usage._meter import (
    AUDIO_IN,
    AUDIO_OUT,
    SESSION_SECONDS,
    SESSIONS,
    TOOL_CALLS,
    TURNS,
)

__all__ = ["GROUPS", "UsageQueryError", "parse_group_by", "usage_report"]

GROUPS = ("key", "profile", "model", "day")
_NAMED = {
    AUDIO_IN: "audio_seconds_in",
    AUDIO_OUT: "audio_seconds_out",
    SESSION_SECONDS: "session_seconds",
    SESSIONS: "sessions",
    TURNS: "turns",
    TOOL_CALLS: "tool_calls",
}


class UsageQueryError(ValueError):
    """A bad ``/v1/usage`` query (the admin API answers 400 with the message)."""


def parse_group_by(text: str | None) -> list[str]:
    """``key,day`` as a list; every name must be one of :data:`GROUPS`."""
    if not text:
        return list(GROUPS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise UsageQueryError(
            f"group_by: unknown {', '.join(unknown)}; use any of {', '.join(GROUPS)}"
        )
    return names


async def usage_report(
    store: Any, *, key: str | None, since: str, until: str, group_by: list[str]
) -> dict[str, Any]:
    """Sum the store's rows from ``since`` to ``until`` into groups."""
    rows = await store.usage_rows(key=key, since=since, until=until)
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        ident = tuple(getattr(row, name) for name in group_by)
        group = groups.get(ident)
        if group is None:
            group = dict(zip(group_by, ident, strict=True))
            group.update({"tokens": 0.0, "tokens_by": {}, **dict.fromkeys(_NAMED.values(), 0.0)})
            groups[ident] = group
        if row.metric.startswith("tokens."):
            name = row.metric.removeprefix("tokens.")
            group["tokens"] += row.amount
            group["tokens_by"][name] = group["tokens_by"].get(name, 0.0) + row.amount
        elif row.metric in _NAMED:
            group[_NAMED[row.metric]] += row.amount
    return {
        "since": since,
        "until": until,
        "group_by": group_by,
        "groups": [groups[k] for k in sorted(groups)],
    }
