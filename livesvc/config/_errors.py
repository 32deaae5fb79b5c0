"""Configuration errors that name the file, the line, the key path and what was expected."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

__all__ = ["ConfigError", "ConfigIssue"]


class ConfigIssue(msgspec.Struct, frozen=True, kw_only=True):
    """One problem in a config file: where it is, what was expected, and what may fix it.

    Example::

        ConfigIssue(path="gateway.prot", message="unknown key", line=12,
                    hint="did you mean `port`?").render("live.toml")
        # 'live.toml:12: gateway.prot: unknown key (did you mean `port`?)'
    """

    path: (
        str  # "gateway.tls.cert_file", "profiles.default.tools[0].timeout_seconds"; "" = whole file
    )
    message: str  # what is wrong, usually "expected X, got Y"
    line: int | None = None  # 1-based line in the file (the key, or its table when missing)
    hint: str | None = None  # a likely fix, e.g. "did you mean `port`?"

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(ValueError):
    """A configuration file that cannot be used; ``str()`` lists every issue, one per line.

    Example::

        try:
            load_config("bad.toml")
        except ConfigError as err:
            print(err)   # bad.toml:7: gateway.port: expected int, got str
            len(err.issues)   # every problem found in the file, not just the first
    """

    def __init__(self, source: str, issues: Iterable[ConfigIssue]) -> None:
        self.source = source
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        super().__init__("\n".join(issue.render(source) for issue in self.issues))
