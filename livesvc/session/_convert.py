"""What the session's send methods accept, as wire structs (the owner's shapes in, the wire's out)."""

from __future__ import annotations

from typing import Any

import msgspec

from livesvc.session._errors import LiveSessionError
from livesvc.wire import (
    ClientContent,
    ClientMessage,
    Content,
    ContextUpdate,
    FunctionResponse,
    Part,
    RealtimeInput,
    ToolResponse,
)

__all__ = ["as_client_message", "as_function_response", "as_turns"]


def as_client_message(message: Any) -> ClientMessage:
    """``message`` (a ClientMessage or one of its fields) as a ClientMessage.

    >>> as_client_message(ToolResponse(function_responses=[])).tool_response is not None
    True
    """
    if isinstance(message, ClientMessage):
        return message
    if isinstance(message, ClientContent):
        return ClientMessage(client_content=message)
    if isinstance(message, RealtimeInput):
        return ClientMessage(realtime_input=message)
    if isinstance(message, ToolResponse):
        return ClientMessage(tool_response=message)
    if isinstance(message, ContextUpdate):
        return ClientMessage(context_update=message)
    raise LiveSessionError(f"not a client message: {type(message).__name__}")


def as_turns(turns: Any) -> list[Content] | None:
    """Turns given as text, Content or dicts (one or a list), as Content.

    >>> [(c.role, c.parts[0].text) for c in as_turns("hi")]
    [('user', 'hi')]
    """
    if turns is None:
        return None
    if isinstance(turns, (str, Content, dict)):
        turns = [turns]
    out: list[Content] = []
    for turn in turns:
        if isinstance(turn, str):
            out.append(Content(role="user", parts=[Part(text=turn)]))
        elif isinstance(turn, Content):
            out.append(turn)
        elif isinstance(turn, dict):
            try:
                out.append(msgspec.convert(turn, Content, strict=False))
            except msgspec.ValidationError as exc:
                raise LiveSessionError(f"invalid turn: {exc}") from None
        else:
            raise LiveSessionError(
                f"a turn must be a str, Content or dict, not {type(turn).__name__}"
            )
    return out


def as_function_response(item: Any) -> FunctionResponse:
    """A tool response given as a FunctionResponse or a dict (either key casing)."""
    if isinstance(item, FunctionResponse):
        return item
    if isinstance(item, dict):
        try:
            return msgspec.convert(item, FunctionResponse, strict=False)
        except msgspec.ValidationError as exc:
            raise LiveSessionError(f"invalid tool response: {exc}") from None
    raise LiveSessionError(
        f"a tool response must be a FunctionResponse or dict, not {type(item).__name__}"
    )
