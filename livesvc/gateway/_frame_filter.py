"""What of a server message a gateway client may see (no I/O, no clock, no metrics).

The daemon hides what belongs to the upstream link: ``setupComplete`` of a new
upstream connection and ``goAway`` (handovers are invisible), tool calls that
the daemon runs itself (and their cancellations), and upstream resumption
handles (the client's update, carrying a daemon handle, is decided by the
session and passed in).

Example::

    view = FrameFilter(daemon_tools=frozenset({"current_time"}))
    forwarded, calls = view.rewrite(message, update=None)
"""

from __future__ import annotations

from typing import Any

import msgspec

from livesvc.wire import ServerMessage, SessionResumptionUpdate, ToolCall, ToolCallCancellation

__all__ = ["FrameFilter", "only_model_audio"]

_SERVER_FIELDS = tuple(f for f in ServerMessage.__struct_fields__ if not f.endswith("_"))


class FrameFilter:
    """Rewrites server messages for the client; tracks the tool calls it forwarded.

    ``client_calls``: ids of forwarded calls the client has not answered yet.
    """

    def __init__(self, daemon_tools: frozenset[str]) -> None:
        self.daemon_tools = daemon_tools
        self.client_calls: set[str] = set()

    @staticmethod
    def passes_whole(message: ServerMessage) -> bool:
        """Most frames (model output, audio) pass as they are."""
        return (
            message.go_away is None
            and message.setup_complete is None
            and message.session_resumption_update is None
            and message.tool_call is None
            and message.tool_call_cancellation is None
        )

    def rewrite(
        self, message: ServerMessage, *, update: SessionResumptionUpdate | None
    ) -> tuple[ServerMessage | None, int]:
        """The message as the client may see it (``None``: nothing of it is), and how many
        tool calls it forwards. ``update`` replaces the upstream's resumption update."""
        if self.passes_whole(message):
            return message, 0
        changes: dict[str, Any] = {
            "go_away": None,
            "setup_complete": None,
            "session_resumption_update": update,
        }
        forwarded = 0
        if message.tool_call is not None:
            calls = [
                c for c in message.tool_call.function_calls or () if c.name not in self.daemon_tools
            ]
            for call in calls:
                if call.id is not None:
                    self.client_calls.add(call.id)
            forwarded = len(calls)
            changes["tool_call"] = ToolCall(function_calls=calls) if calls else None
        if message.tool_call_cancellation is not None:
            ids = [i for i in message.tool_call_cancellation.ids or () if i in self.client_calls]
            self.client_calls.difference_update(ids)
            changes["tool_call_cancellation"] = ToolCallCancellation(ids=ids) if ids else None
        rewritten = msgspec.structs.replace(message, **changes)
        if all(getattr(rewritten, f) is None for f in _SERVER_FIELDS):
            return None, forwarded
        return rewritten, forwarded

    def answered(self, call_id: str) -> None:
        """The client answered a forwarded call."""
        self.client_calls.discard(call_id)


def only_model_audio(message: ServerMessage) -> bool:
    """A frame that is only model audio: the one kind a slow client may lose (counted)."""
    content = message.server_content
    if content is None or content.model_turn is None or content.turn_complete:
        return False
    parts = content.model_turn.parts or ()
    return bool(parts) and all(p.inline_data is not None and p.text is None for p in parts)
