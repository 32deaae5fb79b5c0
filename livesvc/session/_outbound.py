"""Sorting client messages: what goes through the ledger, what is realtime media.

Messages that change the conversation (``clientContent``, ``toolResponse``,
``realtimeInput.text``, ``contextUpdate``) go through the outbound ledger and
survive reconnects exactly once. Audio, video and activity signals are realtime:
written at once when connected, buffered (bounded, drop-oldest) otherwise.
"""

from __future__ import annotations

from livesvc.session._envelopes import WriteRealtime
from livesvc.session._media_buffer import MediaKind, pcm_seconds
from livesvc.wire import ClientMessage

__all__ = ["is_ledgered", "realtime_envelope"]


def is_ledgered(message: ClientMessage) -> bool:
    """Whether ``message`` changes the conversation (and must not be lost)."""
    if message.client_content is not None or message.tool_response is not None:
        return True
    if message.context_update is not None:
        return True
    ri = message.realtime_input
    return ri is not None and ri.text is not None


def realtime_envelope(message: ClientMessage) -> WriteRealtime:
    """Wrap a realtime message with how the disconnected buffer bounds it."""
    ri = message.realtime_input
    if ri is not None and ri.audio is not None:
        data = ri.audio.data or b""
        return WriteRealtime(
            message=message, kind=MediaKind.AUDIO, seconds=pcm_seconds(data, ri.audio.mime_type)
        )
    if ri is not None and ri.media_chunks:
        seconds = 0.0
        video = False
        for blob in ri.media_chunks:
            if (blob.mime_type or "").startswith("audio/"):
                seconds += pcm_seconds(blob.data or b"", blob.mime_type)
            else:
                video = True
        if seconds > 0 and not video:
            return WriteRealtime(message=message, kind=MediaKind.AUDIO, seconds=seconds)
        return WriteRealtime(message=message, kind=MediaKind.VIDEO)
    if ri is not None and ri.video is not None:
        return WriteRealtime(message=message, kind=MediaKind.VIDEO)
    return WriteRealtime(message=message, kind=MediaKind.CONTROL)
