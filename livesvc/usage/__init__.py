"""Usage metering and budgets per key (docs/usage.md).

The gateway meters every session from the frames it relays
(:class:`UsageMeter`), records what each spent through one write-behind task
(:class:`UsageRecorder`) into the store, and enforces per-key budgets
(:class:`Budget`, :func:`exhausted`).
"""

from livesvc.usage._budget import Budget as Budget
from livesvc.usage._budget import exhausted as exhausted
from livesvc.usage._budget import refusal_reason as refusal_reason
from livesvc.usage._meter import UsageDelta as UsageDelta
from livesvc.usage._meter import UsageMeter as UsageMeter
from livesvc.usage._recorder import Spent as Spent
from livesvc.usage._recorder import UsageRecorder as UsageRecorder
from livesvc.usage._recorder import utc_day as utc_day
from livesvc.usage._report import usage_report as usage_report

__all__ = [
    "Budget",
    "Spent",
    "UsageDelta",
    "UsageMeter",
    "UsageRecorder",
    "exhausted",
    "refusal_reason",
    "usage_report",
    "utc_day",
]
