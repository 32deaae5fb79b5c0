"""Request targets: the path routed on, and the query parameters."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["collapse_slashes", "split_target"]

_SLASHES = re.compile(r"/{2,}")


def collapse_slashes(path: str) -> str:
    """Collapse runs of ``/`` into one, as Google's front end does.

    The SDK builds ``{base_url}/ws/...``; with the default base URL (which ends in
    ``/``) the server sees ``//ws/...``.

    >>> collapse_slashes("//ws//google.ai")
    '/ws/google.ai'
    """
    collapsed = _SLASHES.sub("/", path)
    return collapsed if collapsed.startswith("/") else "/" + collapsed


def split_target(target: str) -> tuple[str, dict[str, str]]:
    """Split a request target into a routable path and its query parameters.

    The path is percent-decoded and slash-collapsed; the first value of each query
    parameter wins.

    >>> split_target("//v1beta/models?pageSize=2&key=k")
    ('/v1beta/models', {'pageSize': '2', 'key': 'k'})
    """
    if target.lower().startswith(("http://", "https://")):
        # absolute-form (proxies); the origin-form below would read "//x" as a host
        parts = urlsplit(target)
        raw_path, raw_query = parts.path, parts.query
    else:
        raw_path, _, raw_query = target.partition("?")
        raw_path = raw_path.partition("#")[0]
    path = collapse_slashes(unquote(raw_path or "/"))
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query.setdefault(name, value)
    return path, query
