"""Node-to-node requests, signed with the cluster secret (HMAC-SHA256).

The secret never travels: a request carries ``X-Livesvc-Time`` (Unix seconds)
and ``X-Livesvc-Signature``, the hex HMAC of ``"<time>\\n<method> <path>\\n<body>"``.
The receiver recomputes it, compares in constant time and refuses a time more
than :data:`MAX_SKEW_SECONDS` away from its own clock (a replay window).

Example::

    headers = sign(secret, "POST", "/cluster/v1/release", body, now=time.time())
    assert verify(secret, "POST", "/cluster/v1/release", body, headers, now=time.time())
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = ["MAX_SKEW_SECONDS", "TIME_HEADER", "SIGNATURE_HEADER", "sign", "verify"]

MAX_SKEW_SECONDS = 30.0
TIME_HEADER = "x-livesvc-time"
SIGNATURE_HEADER = "x-livesvc-signature"


def _mac(secret: str, method: str, path: str, body: bytes, stamp: str) -> str:
    message = f"{stamp}\n{method.upper()} {path}\n".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, method: str, path: str, body: bytes, *, now: float) -> dict[str, str]:
    """The headers that authenticate one request to another node."""
    stamp = str(int(now))
    return {TIME_HEADER: stamp, SIGNATURE_HEADER: _mac(secret, method, path, body, stamp)}


def verify(
    secret: str, method: str, path: str, body: bytes, headers: Mapping[str, str], *, now: float
) -> bool:
    """Whether a request was signed with ``secret`` within the replay window."""
    stamp = headers.get(TIME_HEADER, "")
    presented = headers.get(SIGNATURE_HEADER, "")
    if not stamp.isdigit() or abs(int(stamp) - now) > MAX_SKEW_SECONDS:
        return False
    expected = _mac(secret, method, path, body, stamp)
    return hmac.compare_digest(presented.encode(), expected.encode())
