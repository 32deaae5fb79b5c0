"""The four codec functions and the one exception the decoders raise."""

import re

import msgspec

from livesvc.wire._base import enc_hook
from livesvc.wire._client import (
    ClientContent,
    ClientMessage,
    ContextUpdate,
    RealtimeInput,
    ToolResponse,
)
from livesvc.wire._server import ServerMessage
from livesvc.wire._setup import Setup

__all__ = ["WireDecodeError", "decode_client", "decode_server", "encode_client", "encode_server"]


class WireDecodeError(ValueError):
    """A frame is not JSON, or a value has the wrong type or shape.

    The only exception :func:`decode_client` and :func:`decode_server` raise.

    Attributes:
        path: JSON path of the offending value, e.g. ``$.realtimeInput.audio.data``
            (``$`` for a frame that is not JSON at all).
        reason: What is wrong, without the path.
    """

    def __init__(self, reason: str, path: str = "$") -> None:
        super().__init__(f"{reason} - at `{path}`")
        self.reason = reason
        self.path = path


# msgspec reports "<reason> - at `<path>`"; errors from a struct's __post_init__
# carry the path of the struct and name the field as "`<field>`: <reason>".
_AT_PATH = re.compile(r"(?P<reason>.*) - at `(?P<path>\$[^`]*)`", re.DOTALL)
_FIELD_REASON = re.compile(r"`(?P<field>[A-Za-z0-9_]+)`: (?P<reason>.*)", re.DOTALL)


def _wire_error(exc: Exception) -> WireDecodeError:
    if not isinstance(exc, msgspec.DecodeError):
        return WireDecodeError(f"undecodable frame ({type(exc).__name__}: {exc})")
    message = str(exc)
    reason, path = message, "$"
    match = _AT_PATH.fullmatch(message)
    if match:
        reason, path = match["reason"], match["path"]
    field = _FIELD_REASON.fullmatch(reason)
    if field:
        reason, path = field["reason"], f"{path}.{field['field']}"
    return WireDecodeError(reason, path)


_encoder = msgspec.json.Encoder(enc_hook=enc_hook)
# strict=False: int64 (and, leniently, bools) may arrive as JSON strings.
_client_decoder = msgspec.json.Decoder(ClientMessage, strict=False)
_server_decoder = msgspec.json.Decoder(ServerMessage, strict=False)


def encode_client(
    msg: ClientMessage | Setup | ClientContent | RealtimeInput | ToolResponse | ContextUpdate,
) -> bytes:
    """Encodes a client frame as camelCase JSON; a bare message is wrapped first.

    Example:
        >>> from livesvc.wire import Blob
        >>> encode_client(RealtimeInput(audio=Blob(data=b"\\x00\\x01", mime_type="audio/pcm;rate=16000")))
        b'{"realtimeInput":{"audio":{"data":"AAE=","mimeType":"audio/pcm;rate=16000"}}}'
    """
    if isinstance(msg, ClientMessage):
        return _encoder.encode(msg)
    if isinstance(msg, Setup):
        return _encoder.encode(ClientMessage(setup=msg))
    if isinstance(msg, ClientContent):
        return _encoder.encode(ClientMessage(client_content=msg))
    if isinstance(msg, RealtimeInput):
        return _encoder.encode(ClientMessage(realtime_input=msg))
    if isinstance(msg, ToolResponse):
        return _encoder.encode(ClientMessage(tool_response=msg))
    if isinstance(msg, ContextUpdate):
        return _encoder.encode(ClientMessage(context_update=msg))
    raise TypeError(f"not a client message: {type(msg).__name__}")


def decode_client(data: bytes | str) -> ClientMessage:
    """Decodes a client frame, in any key casing and either base64 alphabet.

    Raises:
        WireDecodeError: the frame is not JSON or has a wrong type somewhere.

    Example:
        >>> decode_client(b'{"realtime_input": {"audio": {"data": "-__-AAE=", "mime_type": "audio/pcm"}}}')
        ClientMessage(realtime_input=RealtimeInput(audio=Blob(data=b'\\xfb\\xff\\xfe\\x00\\x01', mime_type='audio/pcm')))
    """
    try:
        message = _client_decoder.decode(data)
    except Exception as exc:  # anything msgspec or a post-init raises is a bad frame
        raise _wire_error(exc) from exc
    if message.realtime_input is None or _count_set(message) > 1:
        # Free-form JSON (tool arguments and results, schemas) can nest without
        # bound; past MAX_NESTING every later step (re-encoding it upstream, a
        # log line) would hit Python's recursion limit, so the frame is refused
        # here. Realtime media (the hot path) carries no free-form JSON.
        _check_nesting(message)
    return message


MAX_NESTING = 128  # containers (objects and arrays) from the frame's root


def _count_set(message: ClientMessage) -> int:
    return sum(getattr(message, f) is not None for f in ClientMessage.__struct_fields__)


def _check_nesting(root: object) -> None:
    """Raise :class:`WireDecodeError` if ``root`` nests deeper than :data:`MAX_NESTING` (no recursion)."""
    stack: list[tuple[object, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise WireDecodeError(f"the frame is nested more than {MAX_NESTING} levels deep")
        if isinstance(value, dict):
            stack.extend(
                (v, depth + 1)
                for v in value.values()
                if isinstance(v, (dict, list)) or hasattr(v, "__struct_fields__")
            )
        elif isinstance(value, list):
            stack.extend(
                (v, depth + 1)
                for v in value
                if isinstance(v, (dict, list)) or hasattr(v, "__struct_fields__")
            )
        elif hasattr(value, "__struct_fields__"):
            for name in value.__struct_fields__:
                field = getattr(value, name)
                if isinstance(field, (dict, list)) or hasattr(field, "__struct_fields__"):
                    stack.append((field, depth + 1))


def encode_server(msg: ServerMessage) -> bytes:
    """Encodes a server frame as camelCase JSON (int64 values as strings).

    Example:
        >>> from livesvc.wire import SessionResumptionUpdate
        >>> encode_server(ServerMessage(session_resumption_update=SessionResumptionUpdate(
        ...     new_handle="h", resumable=True, last_consumed_client_message_index=7)))
        b'{"sessionResumptionUpdate":{"newHandle":"h","resumable":true,"lastConsumedClientMessageIndex":"7"}}'
    """
    if type(msg) is not ServerMessage:
        raise TypeError(f"not a server message: {type(msg).__name__}")
    return _encoder.encode(msg)


def decode_server(data: bytes | str) -> ServerMessage:
    """Decodes a server frame, in any key casing and either base64 alphabet.

    Raises:
        WireDecodeError: the frame is not JSON or has a wrong type somewhere.

    Example:
        >>> decode_server(b'{"goAway": {"timeLeft": "10s"}}').go_away.time_left_seconds
        10.0
    """
    try:
        return _server_decoder.decode(data)
    except Exception as exc:  # anything msgspec or a post-init raises is a bad frame
        raise _wire_error(exc) from exc
