"""Configuration errors that name the file, the key path and what was expected."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

__all__ = ["ConfigError", "ConfigIssue"]


class ConfigIssue(msgspec.Struct, frozen=True, kw_only=True):
    """One problem in a config file: the dotted key path and what was expected there."""

    path: (
        str  # "gateway.tls.cert_file", "profiles.default.tools[0].timeout_seconds"; "" = whole file
    )
    message: str

    def render(self, source: str) -> str:
        return (
            f"{source}: {self.path}: {self.message}" if self.path else f"{source}: {self.message}"
        )


class ConfigError(ValueError):
    """A configuration file that cannot be used; ``str()`` lists every issue, one per line.

    Example::

        try:
            load_config("bad.toml")
        except ConfigError as err:
            print(err)   # bad.toml: gateway.port: expected int, got str
    """

    def __init__(self, source: str, issues: Iterable[ConfigIssue]) -> None:
        self.source = source
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        super().__init__("\n".join(issue.render(source) for issue in self.issues))
