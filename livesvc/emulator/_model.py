"""The deterministic model: what it says, how it calls tools, how it sounds.

Pure functions, so the rules documented in ``docs/emulator.md`` are easy to check:

* the reply to user turn number N with text T is ``echo #N: T``;
* a turn whose whole text is ``name`` or ``name(key=value, ...)`` for a declared
  function calls that function; the reply after its response is
  ``echo #N: name -> <compact JSON of the response>``;
* an audio turn's text is ``<audio N ms>``;
* spoken replies last ``ms_per_char`` per character of the reply text.
"""

from __future__ import annotations

import array
import math
import re
import sys
from typing import Any

import msgspec

from livesvc.wire import Content, FunctionDeclaration, Tool

__all__ = [
    "OUTPUT_AUDIO_MIME",
    "OUTPUT_AUDIO_RATE",
    "ToolInvocation",
    "audio_turn_text",
    "content_text",
    "declared_functions",
    "echo",
    "parse_tool_invocation",
    "speech_pcm",
    "split_text",
    "tool_result_text",
    "text_tokens",
    "audio_tokens",
]

OUTPUT_AUDIO_RATE = 24000
OUTPUT_AUDIO_MIME = f"audio/pcm;rate={OUTPUT_AUDIO_RATE}"

_json = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder()


def echo(turn_number: int, text: str) -> str:
    """The reply to user turn ``turn_number``.

    >>> echo(2, "hello")
    'echo #2: hello'
    """
    return f"echo #{turn_number}: {text}"


def tool_result_text(turn_number: int, name: str, response: Any) -> str:
    """The reply once a function's response is in.

    >>> tool_result_text(1, "get_weather", {"temp": 21})
    'echo #1: get_weather -> {"temp":21}'
    """
    return f"echo #{turn_number}: {name} -> {_json.encode(response).decode()}"


def audio_turn_text(duration_ms: int) -> str:
    """The text of an audio turn.

    >>> audio_turn_text(1200)
    '<audio 1200 ms>'
    """
    return f"<audio {duration_ms} ms>"


def content_text(content: Content) -> str:
    """The text of a turn: its text parts joined; other parts as ``<mime N bytes>``.

    >>> from livesvc.wire import Part
    >>> content_text(Content(role="user", parts=[Part(text="a"), Part(text="b")]))
    'ab'
    """
    pieces: list[str] = []
    for part in content.parts or []:
        if part.text is not None and not part.thought:
            pieces.append(part.text)
        elif part.inline_data is not None:
            size = len(part.inline_data.data or b"")
            pieces.append(
                f"<{part.inline_data.mime_type or 'application/octet-stream'} {size} bytes>"
            )
        elif part.file_data is not None:
            pieces.append(f"<file {part.file_data.file_uri or ''}>")
    return "".join(pieces)


class ToolInvocation(msgspec.Struct, frozen=True, kw_only=True):
    """A function call found in a turn's text."""

    name: str
    args: dict[str, Any]
    declaration: FunctionDeclaration


def declared_functions(tools: list[Tool] | None) -> dict[str, FunctionDeclaration]:
    """Declared functions by name (the first declaration of a name wins)."""
    found: dict[str, FunctionDeclaration] = {}
    for tool in tools or []:
        for declaration in tool.function_declarations or []:
            if declaration.name and declaration.name not in found:
                found[declaration.name] = declaration
    return found


_CALL = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)\s*(?:\((?P<args>.*)\))?", re.DOTALL)
_ARG = re.compile(
    r"\s*(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|'[^']*'|\[[^\]]*\]|\{[^}]*\}|[^,]*?)\s*(?:,|$)",
    re.DOTALL,
)


def parse_tool_invocation(
    text: str, functions: dict[str, FunctionDeclaration]
) -> ToolInvocation | None:
    """The call a turn's text makes, if its whole text is ``name`` or ``name(k=v, ...)``.

    Values are JSON when they parse as JSON (numbers, ``true``, ``"quoted"``),
    ``'single-quoted'`` strings, or else plain strings.

    >>> fns = {"get_weather": FunctionDeclaration(name="get_weather")}
    >>> parse_tool_invocation('get_weather(city=Paris, days=2)', fns).args
    {'city': 'Paris', 'days': 2}
    >>> parse_tool_invocation("hello", fns) is None
    True
    """
    match = _CALL.fullmatch(text.strip())
    if match is None or match["name"] not in functions:
        return None
    args: dict[str, Any] = {}
    raw = (match["args"] or "").strip()
    position = 0
    while position < len(raw):
        arg = _ARG.match(raw, position)
        if arg is None or arg.end() == position:
            return None  # not a well-formed argument list: just words
        args[arg["key"]] = _value(arg["value"].strip())
        position = arg.end()
    name = match["name"]
    return ToolInvocation(name=name, args=args, declaration=functions[name])


def _value(raw: str) -> Any:
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    try:
        return _json_decoder.decode(raw)
    except msgspec.DecodeError:
        return raw


def split_text(text: str, chunk_chars: int) -> list[str]:
    """Cut a reply into chunks of ``chunk_chars`` characters (at least one chunk).

    >>> split_text("echo #1: hello", 8)
    ['echo #1:', ' hello']
    """
    size = max(1, chunk_chars)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def text_tokens(text: str) -> int:
    """Tokens of a text: one per started group of four characters (at least one).

    >>> text_tokens("echo #1: hi"), text_tokens("")
    (3, 1)
    """
    return max(1, math.ceil(len(text) / 4))


def audio_tokens(duration_ms: int) -> int:
    """Tokens of audio: 25 per second, rounded up (at least one).

    >>> audio_tokens(1000), audio_tokens(10)
    (25, 1)
    """
    return max(1, math.ceil(duration_ms * 25 / 1000))


_TONE_HZ = 440
_TONE_AMPLITUDE = 3000


def speech_pcm(start_ms: int, duration_ms: int) -> bytes:
    """``duration_ms`` of the emulator's voice (a 440 Hz tone, 24 kHz 16-bit PCM).

    ``start_ms`` keeps the phase continuous across chunks.

    >>> len(speech_pcm(0, 100))
    4800
    """
    first = start_ms * OUTPUT_AUDIO_RATE // 1000
    count = duration_ms * OUTPUT_AUDIO_RATE // 1000
    step = 2 * math.pi * _TONE_HZ / OUTPUT_AUDIO_RATE
    samples = array.array(
        "h", (int(_TONE_AMPLITUDE * math.sin(step * n)) for n in range(first, first + count))
    )
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()
