"""The setup a session really gets: the profile, what the client may change, what a token locks.

Precedence, strongest first: fields the profile does not list in
``client_overridable`` (always the profile's); fields a token locks (the
token's value, or the profile's if the token leaves it unset); the client's
own value; the profile's value. ``tools`` is additive: the client's declarations join the
profile's, but never replace a tool the daemon implements. Session resumption
is the daemon's business and never comes from the client.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from livesvc.config import Profile
from livesvc.wire import (
    Content,
    ContextWindowCompressionConfig,
    FunctionDeclaration,
    GenerationConfig,
    Part,
    Setup,
    SlidingWindow,
    Tool,
    decode_client,
)

__all__ = ["build_profile_setup", "merge_setup", "overridable_paths"]

_encoder = msgspec.json.Encoder()
_SETUP_FIELDS = tuple(f for f in Setup.__struct_fields__ if not f.endswith("_"))
_GENERATION_FIELDS = tuple(f for f in GenerationConfig.__struct_fields__ if not f.endswith("_"))
_NEVER_FROM_CLIENT = frozenset({"session_resumption"})


def build_profile_setup(
    profile: Profile, daemon_tools: Sequence[FunctionDeclaration] = ()
) -> Setup:
    """The Live setup a profile describes, with the daemon's tool declarations.

    Example::

        setup = build_profile_setup(config.profiles["default"], [current_time_declaration])
    """
    raw: dict[str, Any] = {"model": profile.model, **profile.setup}
    if profile.generation_config:
        raw["generation_config"] = profile.generation_config
    decoded = decode_client(_encoder.encode({"setup": raw})).setup
    setup = decoded if decoded is not None else Setup()
    tools: list[Tool] = []
    if daemon_tools:
        tools.append(Tool(function_declarations=list(daemon_tools)))
    for builtin in profile.builtin_tools:
        enable: dict[str, Any] = {builtin: {}}
        tools.append(Tool(**enable))
    compression = None
    if profile.compression is not None:
        target = profile.compression.target_tokens or profile.compression.trigger_tokens // 2
        compression = ContextWindowCompressionConfig(
            trigger_tokens=profile.compression.trigger_tokens,
            sliding_window=SlidingWindow(target_tokens=target),
        )
    system_instruction = None
    if profile.system_instruction is not None:
        system_instruction = Content(role="user", parts=[Part(text=profile.system_instruction)])
    return msgspec.structs.replace(
        setup,
        tools=tools or None,
        context_window_compression=compression,
        system_instruction=system_instruction,
    )


def overridable_paths(profile: Profile) -> frozenset[str]:
    """Every path a client of ``profile`` may set (``generation_config`` expanded per field)."""
    paths = set(profile.client_overridable)
    if "generation_config" in paths:
        paths |= {f"generation_config.{g}" for g in _GENERATION_FIELDS}
    paths.discard("generation_config")
    return frozenset(paths)


def _get(setup: Setup, path: str) -> Any:
    head, _, tail = path.partition(".")
    value = getattr(setup, head)
    if tail:
        return None if value is None else getattr(value, tail)
    return value


def _set(setup: Setup, path: str, value: Any) -> Setup:
    head, _, tail = path.partition(".")
    if not tail:
        return msgspec.structs.replace(setup, **{head: value})
    inner = getattr(setup, head) or GenerationConfig()
    return msgspec.structs.replace(setup, **{head: msgspec.structs.replace(inner, **{tail: value})})


def _all_paths() -> Iterable[str]:
    for field in _SETUP_FIELDS:
        if field == "generation_config":
            yield from (f"generation_config.{g}" for g in _GENERATION_FIELDS)
        else:
            yield field


def _function_names(tools: Iterable[Tool] | None) -> set[str]:
    return {d.name for t in tools or () for d in t.function_declarations or () if d.name}


def _client_tools(client_tools: list[Tool] | None, reserved: set[str]) -> list[Tool]:
    kept: list[Tool] = []
    for tool in client_tools or ():
        declarations = [d for d in tool.function_declarations or () if d.name not in reserved]
        if tool.function_declarations is not None:
            tool = msgspec.structs.replace(tool, function_declarations=declarations or None)
        if any(getattr(tool, f) is not None for f in tool.__struct_fields__ if not f.endswith("_")):
            kept.append(tool)
    return kept


def covers(locked: frozenset[str], path: str) -> bool:
    """Whether a token's mask locks ``path``: a masked message locks everything under it.

    >>> covers(frozenset({"generation_config"}), "generation_config.response_modalities")
    True
    >>> covers(frozenset({"generation_config.temperature"}), "generation_config.top_p")
    False
    """
    return path in locked or any(path.startswith(prefix + ".") for prefix in locked)


def merge_setup(
    profile_setup: Setup,
    client: Setup,
    *,
    overridable: frozenset[str],
    token: Setup | None = None,
    token_locked: frozenset[str] | None = None,
) -> Setup:
    """Combine a profile's setup with a client's, under a token's locks if any.

    ``token_locked=None`` with a ``token`` locks every path to the token's value.

    Example::

        setup = merge_setup(profile_setup, client_setup, overridable=overridable_paths(profile))
    """
    result = profile_setup
    layers: list[tuple[Setup, frozenset[str] | None]] = [(client, None)]
    if token is not None:
        layers.append((token, token_locked))
    for layer, locked in layers:
        is_token = layer is token
        for path in _all_paths():
            if path not in overridable or path in _NEVER_FROM_CLIENT:
                continue
            if is_token and locked is not None and not covers(locked, path):
                continue
            value = _get(layer, path)
            if path == "tools":
                reserved = _function_names(profile_setup.tools)
                extra = _client_tools(value, reserved)
                if is_token:  # the token's tools replace the client's
                    result = _set(result, path, (profile_setup.tools or []) + extra or None)
                elif extra:
                    result = _set(result, path, (result.tools or []) + extra)
                continue
            if value is None:
                if not is_token:
                    continue
                value = _get(profile_setup, path)  # locked to "unset": the client cannot change it
            result = _set(result, path, value)
    return result
