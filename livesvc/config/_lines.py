"""Where a key path is written in a TOML text: tomllib gives values, not positions.

The text has already been parsed by tomllib, so this scanner only follows the
structure (tables, arrays of tables, dotted keys, inline tables and arrays,
strings) to note the line each key path starts on. Paths use the spelling of
:class:`~livesvc.config.ConfigIssue`: ``gateway.keys[0].hash``.
"""

from __future__ import annotations

import re
import tomllib

__all__ = ["key_lines", "line_of"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_LINE_IN_TOML_ERROR = re.compile(r"\(at line (\d+), column \d+\)")


def _join(prefix: str, part: str) -> str:
    if not prefix:
        return part
    return f"{prefix}{part}" if part.startswith("[") else f"{prefix}.{part}"


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[str, int] = {}
        self.array_tables: dict[str, int] = {}  # path of an array of tables -> elements seen

    # -- characters -------------------------------------------------------------------
    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def advance(self, n: int = 1) -> None:
        chunk = self.text[self.pos : self.pos + n]
        self.line += chunk.count("\n")
        self.pos += n

    def skip_blank(self, *, newlines: bool) -> None:
        """Skip spaces, tabs and comments (and newlines when ``newlines``)."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def ensure_progress(self, start: int) -> None:
        # The text is valid TOML (tomllib read it), but a scanner loop must end on any text.
        if self.pos == start:
            self.advance()

    def note(self, path: str, line: int) -> None:
        self.lines.setdefault(path, line)

    # -- structure --------------------------------------------------------------------
    def document(self) -> dict[str, int]:
        table = ""
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return self.lines
            start = self.pos
            if self.peek(2) == "[[":
                table = self.header(array=True)
            elif self.peek() == "[":
                table = self.header(array=False)
            else:
                self.key_value(table)
            self.ensure_progress(start)

    def header(self, *, array: bool) -> str:
        line = self.line
        self.advance(2 if array else 1)
        parts = self.key_parts()
        self.skip_blank(newlines=False)
        self.advance(2 if array else 1)
        path = ""
        for i, part in enumerate(parts):
            path = _join(path, part)
            last = i == len(parts) - 1
            if last and array:
                count = self.array_tables.get(path, 0)
                self.array_tables[path] = count + 1
                self.note(path, line)
                path = f"{path}[{count}]"
            elif not last and path in self.array_tables:
                # [a.b] inside [[a]] belongs to a's latest element.
                path = f"{path}[{self.array_tables[path] - 1}]"
            self.note(path, line)
        return path

    def key_parts(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            char = self.peek()
            if char in ('"', "'"):
                start = self.pos
                self.string()
                quoted = self.text[start : self.pos]
                try:
                    parts.append(tomllib.loads(f"k = {quoted}")["k"])
                except tomllib.TOMLDecodeError:  # not TOML after all: keep it as written
                    parts.append(quoted.strip("\"'"))
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:  # not TOML after all: stop here
                    return parts
                parts.append(match.group())
                self.advance(match.end() - self.pos)
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()

    def key_value(self, table: str) -> None:
        line = self.line
        parts = self.key_parts()
        if not parts:  # not TOML after all: skip the line
            end = self.text.find("\n", self.pos)
            self.advance((len(self.text) if end < 0 else end + 1) - self.pos)
            return
        path = table
        for part in parts:
            path = _join(path, part)
            self.note(path, line)
        self.skip_blank(newlines=False)
        self.advance()  # "="
        self.skip_blank(newlines=False)
        self.value(path)

    def value(self, path: str) -> None:
        char = self.peek()
        if char in ('"', "'"):
            self.string()
        elif char == "[":
            self.array(path)
        elif char == "{":
            self.inline_table(path)
        else:  # number, bool, date: up to a separator
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}\n#":
                self.advance()

    def string(self) -> None:
        quote = self.peek()
        if self.peek(3) == quote * 3:
            self.advance(3)
            end = self.text.find(quote * 3, self.pos)
            while quote == '"' and end > 0 and _escaped(self.text, end):
                end = self.text.find(quote * 3, end + 1)
            end = len(self.text) if end < 0 else end
            # Up to five quotes may close a multi-line string ("""a"""" is `a"`).
            while self.text[end + 3 : end + 4] == quote:
                end += 1
            self.advance(end + 3 - self.pos)
            return
        self.advance()
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            self.advance(2 if quote == '"' and self.text[self.pos] == "\\" else 1)
        self.advance()

    def array(self, path: str) -> None:
        self.advance()  # "["
        index = 0
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text) or self.peek() == "]":
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            element = f"{path}[{index}]"
            self.note(element, self.line)
            start = self.pos
            self.value(element)
            self.ensure_progress(start)
            index += 1

    def inline_table(self, path: str) -> None:
        self.advance()  # "{"
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text) or self.peek() == "}":
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            start = self.pos
            self.key_value(path)
            self.ensure_progress(start)


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def key_lines(text: str) -> dict[str, int]:
    """Map every key path written in the TOML ``text`` to its 1-based line.

    Example::

        key_lines('[gateway]\\nport = 1\\n')["gateway.port"]   # 2
    """
    return _Scanner(text).document()


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path``, or of its closest written parent (a missing key: its table)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def toml_error_line(message: str) -> int | None:
    """The line tomllib names in a syntax error, if any."""
    match = _LINE_IN_TOML_ERROR.search(message)
    return int(match.group(1)) if match else None
