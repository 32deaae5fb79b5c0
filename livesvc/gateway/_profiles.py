"""A profile made ready for sessions: its Live setup, its daemon tools, what clients may change.

Built once per loaded config (tool modules are imported here, so build it in a
thread), then shared by every session started under that config.
"""

from __future__ import annotations

import msgspec

from livesvc.config import Config, Profile, resolve_import
from livesvc.config import ToolSpec as ToolConfig
from livesvc.gateway._merge import build_profile_setup, overridable_paths
from livesvc.tools import ToolSpec
from livesvc.wire import Setup

__all__ = ["ProfileRuntime", "build_profiles", "tool_from_config"]


class ProfileRuntime(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a session needs from its profile."""

    name: str
    profile: Profile
    setup: Setup
    tools: tuple[ToolSpec, ...]
    tool_names: frozenset[str]
    overridable: frozenset[str]


def tool_from_config(spec: ToolConfig) -> ToolSpec:
    """The :class:`ToolSpec` a ``[[profiles.NAME.tools]]`` entry names. Blocking (imports).

    A callable already decorated with ``@tool`` keeps its settings unless the
    config gives its own.
    """
    target = resolve_import(spec.function)
    base = target if isinstance(target, ToolSpec) else None
    fn = base.fn if base is not None else target
    return ToolSpec(
        fn,
        name=spec.name or (base.name if base is not None else None),
        description=spec.description
        or (base.declaration.description if base is not None else None),
        parameters=base.declaration.parameters_json_schema if base is not None else None,
        behavior=spec.behavior,
        scheduling=spec.scheduling or (base.scheduling if base is not None else None),
        timeout=spec.timeout_seconds,
    )


def build_profiles(config: Config) -> dict[str, ProfileRuntime]:
    """Every profile of ``config``, ready for sessions. Blocking (imports tool modules)."""
    runtimes: dict[str, ProfileRuntime] = {}
    for name, profile in config.profiles.items():
        tools = tuple(tool_from_config(t) for t in profile.tools)
        runtimes[name] = ProfileRuntime(
            name=name,
            profile=profile,
            setup=build_profile_setup(profile, [t.declaration for t in tools]),
            tools=tools,
            tool_names=frozenset(t.name for t in tools),
            overridable=overridable_paths(profile),
        )
    return runtimes
