"""Close-code classification: what the reconnector does for each way a session ends."""

from __future__ import annotations

import pytest

from livesvc.session._close_codes import CloseClass, classify_close, classify_http_status


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        # Field reports (live-wire-protocol.md §5, peers.md).
        (1011, "Internal error encountered.", CloseClass.TRANSIENT),
        (1011, "Deadline expired before operation could complete.", CloseClass.TRANSIENT),
        (1011, "The service is currently unavailable.", CloseClass.TRANSIENT),
        (1011, "keepalive ping timeout", CloseClass.TRANSIENT),
        (1000, "The operation was cancelled.", CloseClass.TRANSIENT),
        (1000, "", CloseClass.TRANSIENT),
        (1001, "going away", CloseClass.TRANSIENT),
        (1006, "abnormal closure [internal]", CloseClass.TRANSIENT),
        (None, None, CloseClass.TRANSIENT),
        (1011, "RESOURCE_EXHAUSTED: quota exceeded", CloseClass.RATE_LIMITED),
        (1011, "Resource has been exhausted (e.g. check quota).", CloseClass.RATE_LIMITED),
        (1013, "try again later", CloseClass.RATE_LIMITED),
        (1007, "Request contains an invalid argument.", CloseClass.FATAL_CONFIG),
        (
            1008,
            "models/foo is not found for API version v1beta, or is not supported for bidiGenerateContent.",
            CloseClass.FATAL_CONFIG,
        ),
        (
            1008,
            "Publisher Model `projects/p/locations/global/publishers/google/models/x` was not found",
            CloseClass.FATAL_CONFIG,
        ),
        (1008, "Requested entity was not found", CloseClass.FATAL_CONFIG),
        (1008, "Billing is not enabled for this project", CloseClass.FATAL_CONFIG),
        (1008, "API key not valid. Please pass a valid API key.", CloseClass.AUTH),
        (1008, "Method doesn't allow unregistered callers", CloseClass.AUTH),
        (1008, "Request had invalid authentication credentials.", CloseClass.AUTH),
        (1008, "PERMISSION_DENIED", CloseClass.AUTH),
        (1009, "message too big", CloseClass.FATAL_CONFIG),
        (1002, "protocol error", CloseClass.FATAL_CONFIG),
        (4001, "token expired", CloseClass.AUTH),
        (4500, "whatever", CloseClass.TRANSIENT),
    ],
)
def test_classify_close(code: int | None, reason: str | None, expected: CloseClass) -> None:
    """Each close seen in the field maps to the reaction the architecture asks for."""
    assert classify_close(code, reason) is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, CloseClass.AUTH),
        (403, CloseClass.AUTH),
        (404, CloseClass.FATAL_CONFIG),
        (400, CloseClass.FATAL_CONFIG),
        (429, CloseClass.RATE_LIMITED),
        (500, CloseClass.TRANSIENT),
        (503, CloseClass.TRANSIENT),
        (408, CloseClass.TRANSIENT),
    ],
)
def test_classify_http_status(status: int, expected: CloseClass) -> None:
    """A rejected handshake is classified by its HTTP status."""
    assert classify_http_status(status) is expected


def test_retryable_only_for_transient_and_rate_limited() -> None:
    """Only transient and rate-limited closes are worth dialling again with the same setup."""
    assert [c for c in CloseClass if c.retryable] == [CloseClass.TRANSIENT, CloseClass.RATE_LIMITED]
