"""Case-insensitive request headers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["Headers"]


class Headers:
    """Request headers, looked up case-insensitively; the first value wins.

    >>> h = Headers([(b"X-Goog-Api-Key", b"k"), (b"accept", b"*/*")])
    >>> h.get("x-goog-api-key")
    'k'
    """

    __slots__ = ("_items",)

    def __init__(self, raw: Iterable[tuple[bytes | str, bytes | str]]) -> None:
        self._items: list[tuple[str, str]] = [
            (_text(name).lower(), _text(value)) for name, value in raw
        ]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of ``name``, or ``default``."""
        wanted = name.lower()
        for key, value in self._items:
            if key == wanted:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order."""
        wanted = name.lower()
        return [value for key, value in self._items if key == wanted]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __repr__(self) -> str:
        # Names only: values may carry credentials.
        return f"Headers({[name for name, _ in self._items]!r})"


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
