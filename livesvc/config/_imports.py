"""Resolve ``package.module:attribute`` import paths named in a config (profile tools)."""

from __future__ import annotations

import importlib
from typing import Any

from livesvc.config._errors import ConfigIssue
from livesvc.config._schema import Config

__all__ = ["check_tool_imports", "resolve_import"]


def resolve_import(path: str) -> Any:
    """Import ``package.module:attribute`` (the attribute may be dotted) and return it.

    Blocking (imports run module code): call it from a thread under trio.

    >>> resolve_import("os.path:join").__name__
    'join'
    """
    module_name, _, attribute = path.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def check_tool_imports(config: Config) -> list[ConfigIssue]:
    """Import every profile tool; one issue per tool that is missing or not callable."""
    issues: list[ConfigIssue] = []
    for name, profile in config.profiles.items():
        for i, tool in enumerate(profile.tools):
            where = f"profiles.{name}.tools[{i}].function"
            try:
                target = resolve_import(tool.function)
            except ImportError as err:
                issues.append(
                    ConfigIssue(path=where, message=f"cannot import {tool.function!r}: {err}")
                )
                continue
            except AttributeError:
                issues.append(
                    ConfigIssue(path=where, message=f"{tool.function!r}: no such attribute")
                )
                continue
            except Exception as err:  # module code that fails at import time: report, do not crash
                issues.append(
                    ConfigIssue(
                        path=where,
                        message=f"importing {tool.function!r} raised {type(err).__name__}: {err}",
                    )
                )
                continue
            if not callable(target):
                issues.append(
                    ConfigIssue(
                        path=where,
                        message=f"expected a callable, {tool.function!r} is {type(target).__name__}",
                    )
                )
    return issues
