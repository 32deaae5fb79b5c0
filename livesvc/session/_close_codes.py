"""Close codes decide what the reconnector does.

A Live session ends in one of four ways, and each asks for a different reaction
(see ``architecture.md``, "Close codes decide what the reconnector does"):

- :attr:`CloseClass.TRANSIENT`: resume with the latest handle, after a short backoff;
- :attr:`CloseClass.RATE_LIMITED`: resume too, after a longer backoff;
- :attr:`CloseClass.FATAL_CONFIG`: stop; the same setup would fail again;
- :attr:`CloseClass.AUTH`: refresh the credential once (Vertex), else stop.

The code alone is not enough: Google uses 1008 both for "API key not valid" and
for "model not found", and 1011 both for "Internal error" and for quota
exhaustion, so the reason text is read too.

Example::

    >>> classify_close(1011, "Deadline expired before operation could complete.")
    <CloseClass.TRANSIENT: 'transient'>
    >>> classify_close(1008, "API key not valid. Please pass a valid API key.")
    <CloseClass.AUTH: 'auth'>
    >>> classify_http_status(429)
    <CloseClass.RATE_LIMITED: 'rate_limited'>
"""

from __future__ import annotations

import enum
import re

__all__ = ["CloseClass", "classify_close", "classify_http_status"]


class CloseClass(enum.Enum):
    """What a close means for the session."""

    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    FATAL_CONFIG = "fatal_config"
    AUTH = "auth"

    @property
    def retryable(self) -> bool:
        """Whether dialling again with the same setup can succeed."""
        return self in (CloseClass.TRANSIENT, CloseClass.RATE_LIMITED)


# Reason fragments seen in the field (live-wire-protocol.md §5, peers.md).
_RATE_LIMIT = re.compile(
    r"resource[ _]?exhausted|resource has been exhausted|quota|rate[ _-]?limit|too many requests",
    re.IGNORECASE,
)
_AUTH = re.compile(
    r"api[ _]?key|unauthenticated|unauthori[sz]ed|permission[ _]?denied|unregistered callers"
    r"|credential|access[ _]?token|auth[ _]?token|token (?:has )?expired|expired token"
    r"|invalid token|authentication",
    re.IGNORECASE,
)

_TRANSIENT_CODES = frozenset({1000, 1001, 1005, 1006, 1011, 1012, 1014})
_FATAL_CODES = frozenset({1002, 1003, 1007, 1009, 1010, 1015})


def classify_close(code: int | None, reason: str | None = None) -> CloseClass:
    """Classify a WebSocket close that the session did not ask for.

    Args:
        code: the close code, or ``None`` when the socket died without a close
            frame (network error, reset, keepalive timeout).
        reason: the close reason text, if any.

    A server-initiated 1000 counts as transient: Google closes with
    ``1000 "The operation was cancelled"`` at its connection cap.
    """
    text = reason or ""
    if code is None:
        return CloseClass.TRANSIENT
    if _RATE_LIMIT.search(text) and code in (1008, 1011, 1013, 1000, 1001):
        return CloseClass.RATE_LIMITED
    if code == 1008:
        # 1008 is a policy violation: a credential problem, or a model that is
        # missing, unsupported, or not billed. Only the first is worth a refresh.
        return CloseClass.AUTH if _AUTH.search(text) else CloseClass.FATAL_CONFIG
    if code == 1013:  # "try again later"
        return CloseClass.RATE_LIMITED
    if code in _FATAL_CODES:
        return CloseClass.FATAL_CONFIG
    if code in _TRANSIENT_CODES:
        return CloseClass.TRANSIENT
    if 4000 <= code <= 4999 and _AUTH.search(text):
        return CloseClass.AUTH
    # Unknown codes: retrying is safe because the reconnector bounds its attempts.
    return CloseClass.TRANSIENT


def classify_http_status(status: int) -> CloseClass:
    """Classify a rejected WebSocket handshake (or a REST call) by HTTP status.

    >>> classify_http_status(401).name, classify_http_status(404).name, classify_http_status(503).name
    ('AUTH', 'FATAL_CONFIG', 'TRANSIENT')
    """
    if status in (401, 403):
        return CloseClass.AUTH
    if status == 429:
        return CloseClass.RATE_LIMITED
    if status >= 500 or status in (408, 425):
        return CloseClass.TRANSIENT
    return CloseClass.FATAL_CONFIG
