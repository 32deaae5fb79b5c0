"""Where a client's credential travels on the Live handshake.

The same places Google reads (wire reference §1.2): the ``x-goog-api-key``
header (SDKs with a key), ``Authorization: Token auth_tokens/...`` (SDKs with an
ephemeral token), ``Authorization: Bearer``, and the ``?key=`` /
``?access_token=`` query parameters (raw WebSocket and browser clients).
"""

from __future__ import annotations

from collections.abc import Mapping

from livesvc._server import Headers

__all__ = ["TOKEN_PREFIXES", "extract_credential", "is_token"]

# The SDK's token names start with "auth_tokens/"; one forum report shows "authTokens/".
TOKEN_PREFIXES = ("auth_tokens/", "authTokens/")


def extract_credential(headers: Headers, query: Mapping[str, str]) -> str | None:
    """The credential a client presented, or ``None``.

    An ``Authorization`` token wins over ``x-goog-api-key``, because the SDK sends
    the token in both when it holds an ephemeral token.

    >>> extract_credential(Headers([(b"x-goog-api-key", b"k1")]), {})
    'k1'
    >>> extract_credential(Headers([]), {"access_token": "auth_tokens/t"})
    'auth_tokens/t'
    """
    authorization = (headers.get("authorization") or "").strip()
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    for candidate in (headers.get("x-goog-api-key"), query.get("key"), query.get("access_token")):
        if candidate and candidate.strip():
            return candidate.strip()
    return None


def is_token(credential: str) -> bool:
    """Whether a credential is a daemon-minted ephemeral token (rather than a key)."""
    return credential.startswith(TOKEN_PREFIXES)
