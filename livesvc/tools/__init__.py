"""Tools for Live sessions: Python callables the model can call, and their executor.

Example::

    from livesvc.tools import tool

    @tool(timeout=5)
    async def get_weather(city: str) -> dict:
        \"\"\"Current weather for a city.\"\"\"
        return {"city": city, "temp_c": 21}

    async with livesvc.open_session(model=..., tools=[get_weather]) as session:
        ...   # calls to get_weather are answered automatically
"""

from __future__ import annotations

from livesvc.tools._runner import OnToolFinished as OnToolFinished
from livesvc.tools._runner import ToolOutcome as ToolOutcome
from livesvc.tools._runner import ToolRunner as ToolRunner
from livesvc.tools._runner import ends_interaction as ends_interaction
from livesvc.tools._runner import error_response as error_response
from livesvc.tools._runner import informative_response as informative_response
from livesvc.tools._spec import ToolArgumentError as ToolArgumentError
from livesvc.tools._spec import ToolResult as ToolResult
from livesvc.tools._spec import ToolSpec as ToolSpec
from livesvc.tools._spec import tool as tool

__all__ = [
    "OnToolFinished",
    "ToolArgumentError",
    "ToolOutcome",
    "ToolResult",
    "ToolRunner",
    "ToolSpec",
    "ends_interaction",
    "error_response",
    "informative_response",
    "tool",
]
