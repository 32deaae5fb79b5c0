"""Budgets per key: a pure decision, so the gateway and the tests agree on it.

Example:
    >>> b = Budget(tokens_per_day=1000, audio_minutes_per_day=2.0)
    >>> exhausted(b, tokens=999, audio_seconds=0) is None
    True
    >>> exhausted(b, tokens=10, audio_seconds=120)
    'audio_minutes_per_day (2)'
"""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["Budget", "exhausted", "refusal_reason"]


class Budget(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[[gateway.keys]] budget = {...}``: what one key may spend (UTC days)."""

    tokens_per_day: Annotated[int, msgspec.Meta(gt=0)] | None = None
    audio_minutes_per_day: Annotated[float, msgspec.Meta(gt=0)] | None = None
    sessions_concurrent: Annotated[int, msgspec.Meta(gt=0)] | None = None


def exhausted(budget: Budget, *, tokens: float, audio_seconds: float) -> str | None:
    """The budget spent today (its name and limit), or ``None`` while there is room."""
    if budget.tokens_per_day is not None and tokens >= budget.tokens_per_day:
        return f"tokens_per_day ({budget.tokens_per_day})"
    if (
        budget.audio_minutes_per_day is not None
        and audio_seconds >= budget.audio_minutes_per_day * 60
    ):
        return f"audio_minutes_per_day ({budget.audio_minutes_per_day:g})"
    return None


def refusal_reason(spent: str, key: str) -> str:
    """The close reason a client gets (4002): which budget, for which key.

    >>> refusal_reason("tokens_per_day (1000)", "k0")
    'Budget tokens_per_day (1000) of key k0 is spent for today.'
    """
    return f"Budget {spent} of key {key} is spent for today."
