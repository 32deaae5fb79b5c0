"""Credentials as Google accepts them on the Live endpoints and the REST calls.

Keys and tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping

import msgspec

from livesvc._server import Headers

__all__ = [
    "API_KEY",
    "BAD_KEY_REASON",
    "MISSING_KEY_REASON",
    "TOKEN",
    "ApiKeys",
    "Credential",
    "extract_credential",
    "is_token_name",
]

API_KEY = "api_key"
TOKEN = "token"

MISSING_KEY_REASON = (
    "Method doesn't allow unregistered callers (callers without established identity)."
    " Please use API Key or other form of API consumer identity to call this API."
)
BAD_KEY_REASON = "API key not valid. Please pass a valid API key."

_TOKEN_PREFIXES = ("auth_tokens/", "authTokens/")


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """A presented credential: an API key (or bearer token) or an ephemeral token."""

    kind: str
    value: str = msgspec.field(default="")

    def __repr__(self) -> str:
        return f"Credential(kind={self.kind!r})"  # never the value


def is_token_name(value: str) -> bool:
    """Whether ``value`` names an ephemeral token (``auth_tokens/...``).

    >>> is_token_name("auth_tokens/abc"), is_token_name("AIza...")
    (True, False)
    """
    return value.startswith(_TOKEN_PREFIXES)


def extract_credential(headers: Headers, query: Mapping[str, str]) -> Credential | None:
    """The credential of a request, in Google's order of precedence.

    Accepted: ``Authorization: Token T``, ``?access_token=T``, ``Authorization: Bearer K``,
    ``x-goog-api-key: K`` and ``?key=K``. A value shaped like ``auth_tokens/...`` is an
    ephemeral token wherever it appears (the SDK sends it in ``x-goog-api-key`` too).

    >>> extract_credential(Headers([(b"authorization", b"Token auth_tokens/t")]), {}).kind
    'token'
    >>> extract_credential(Headers([]), {"key": "k"}).kind
    'api_key'
    """
    authorization = (headers.get("authorization") or "").strip()
    scheme, _, value = authorization.partition(" ")
    candidates: list[str] = []
    if scheme.lower() == "token":
        candidates.append(value.strip())
    candidates.append(query.get("access_token", ""))
    if scheme.lower() == "bearer":
        candidates.append(value.strip())
    candidates.append(headers.get("x-goog-api-key") or "")
    candidates.append(query.get("key", ""))
    tokens = [c for c in candidates if c and is_token_name(c)]
    if tokens:
        return Credential(kind=TOKEN, value=tokens[0])
    for candidate in candidates:
        if candidate:
            return Credential(kind=API_KEY, value=candidate)
    return None


class ApiKeys:
    """The accepted API keys; with none configured, any non-empty key passes.

    >>> ApiKeys(["k1"]).accepts("k1"), ApiKeys(["k1"]).accepts("k2"), ApiKeys([]).accepts("x")
    (True, False, True)
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = [key.encode() for key in keys if key]

    @property
    def open(self) -> bool:
        """Whether any non-empty key is accepted."""
        return not self._keys

    def accepts(self, value: str) -> bool:
        """Whether ``value`` is an accepted key (constant time over every key)."""
        if not value:
            return False
        if not self._keys:
            return True
        presented = value.encode()
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(presented, key)
        return matched

    def __repr__(self) -> str:
        return f"ApiKeys(count={len(self._keys)})"
