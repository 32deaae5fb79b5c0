"""proto3 JSON ``Duration`` strings (``"10s"``, ``"1.500s"``, ``"-0.25s"``)."""

import re

__all__ = ["duration_seconds", "format_duration"]

_DURATION = re.compile(r"\s*(-?(?:\d+(?:\.\d*)?|\.\d+))s\s*")


def duration_seconds(text: str | None) -> float | None:
    """Seconds in a Duration string, or None when absent or malformed.

    Example:
        >>> duration_seconds("10s"), duration_seconds("1.5s"), duration_seconds("soon")
        (10.0, 1.5, None)
    """
    if text is None:
        return None
    match = _DURATION.fullmatch(text)
    return float(match.group(1)) if match else None


def format_duration(seconds: float) -> str:
    """The Duration string of a number of seconds (whole seconds print without a fraction).

    Example:
        >>> format_duration(10), format_duration(1.5)
        ('10s', '1.5s')
    """
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{seconds:.9f}".rstrip("0") + "s"
